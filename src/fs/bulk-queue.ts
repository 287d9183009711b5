// Owns the order of bulk work on the request path: big dataset writes are decoded a piece per event-loop turn,
// after the FUSE requests already waiting, and answered once those are taken, so a transaction is never queued
// behind a flood of dataset writes (each 64 KiB text write costs the JavaScript thread 0.2-0.3 ms of decoding).
// When no one has asked for anything else lately, a big write is decoded at once: there is no one to protect, and
// without the turn a lone writer ran 10-25 % faster in interleaved A/B runs (docs/ceilings-passes.md).

/**
 * Dataset writes smaller than this are decoded at once: at the measured 250-300 ns per text sample that is tens of
 * microseconds, no more than a request's own round trip, so waiting a turn would only slow the writer
 * (one sample per write is the kernel module's pattern).
 */
export const BULK_WRITE_MIN_BYTES = 8192;

/**
 * How long after an interactive request bulk writes still queue. A client that polls a file or runs a transaction
 * every few milliseconds keeps every bulk write queued; the first request after a quiet spell waits at most for
 * the writes the binding handed over in the same turn.
 */
export const INTERACTIVE_QUIET_MS = 50;

/**
 * While others are being served, a big write is applied in pieces of about this many bytes, and when a request
 * waits for the JavaScript thread after a piece, the rest waits for the next turn: a transaction arriving during a
 * write waits for a piece, not the whole write. Under a flood the kernel lets one transaction write at a time into
 * the server (the file's lock), so each waits for its own piece and the others behind it wait for theirs: a 64 KiB
 * text write is 130-250 µs of decoding, a piece a quarter of it (8 KiB pieces gained little more and cost the
 * writers under a flood another third of their bandwidth: docs/ceilings-passes.md, eighteenth pass).
 */
export const BULK_PIECE_BYTES = 16384;

/**
 * How many turns at most a decoded bulk write's answer waits while requests wait for the JavaScript thread. Answering
 * it wakes the writer's FUSE thread, which runs above this one and takes the core at once, and lets the writer send
 * its next write, which the kernel copies in on the server's core: answered while a transaction waits, both go in
 * front of the transaction. Held back, the strict flood's transactions' p99 fell by 5-10 % and its writers lost 11-16 %
 * of their bandwidth (docs/ceilings-passes.md, twenty-second pass). Bounded, so a steady stream of transactions slows a
 * writer but never stops it.
 */
export const BULK_ANSWER_MAX_TURNS = 8;

/** Where the piece of `data` starting at `from` ends: after the last newline in its window, so text lines stay whole, or at the window's end. */
function pieceEnd(data: Buffer, from: number): number {
  const limit = from + BULK_PIECE_BYTES;
  if (limit >= data.length) return data.length;
  const newline = data.subarray(from, limit).lastIndexOf(0x0a);
  return newline >= 0 ? from + newline + 1 : limit;
}

/** A queued job runs once per turn until it says it is done. */
type Job = () => boolean;

/** A decoded write's answer, held while requests wait, for at most `turnsLeft` more turns. */
interface HeldAnswer {
  resolve: () => void;
  turnsLeft: number;
}

/**
 * Jobs run one per turn of the event loop (setImmediate: after the poll phase, where the binding's waiting requests,
 * transactions among them, are answered), a write piece by piece, the rest left for the next turn as soon as a
 * request waits. A write's own caller answers its request, once its promise settles.
 */
export class BulkQueue {
  private readonly jobs: Job[] = [];
  private readonly held: HeldAnswer[] = [];
  private scheduled = false;
  private lastInteractive = -Infinity;
  private readonly requestsWaiting: () => number;
  /** Whether requestsWaiting is the binding's count; a guess (always 1) must not hold answers back. */
  private readonly counted: boolean;

  /**
   * `requestsWaiting`: how many requests (not bulk writes) wait for this thread now (fuse-binding.ts); without it, a
   * turn ends after every piece and answers are not held.
   */
  constructor(
    private readonly now: () => number = () => performance.now(),
    requestsWaiting?: () => number,
  ) {
    this.requestsWaiting = requestsWaiting ?? (() => 1);
    this.counted = requestsWaiting !== undefined;
  }

  /**
   * A request someone may be waiting on (a transaction, a read, a listing) arrived at `at`
   * (performance.now()). Bulk writes keep to the queue for INTERACTIVE_QUIET_MS after it.
   */
  sawInteractive(at: number): void {
    this.lastInteractive = at;
  }

  /**
   * Apply `data` after the requests already waiting, piece by piece (BULK_PIECE_BYTES; `apply` takes a stream, so
   * pieces fed in order mean what the whole means), settling the promise when the last piece is in or with the first
   * piece's error (the rest is not applied). At once and whole, returning or throwing, when nothing is queued and no
   * interactive request came lately. `apply` answers at once (no promise).
   */
  write(data: Buffer, apply: (piece: Buffer) => void): void | Promise<void> {
    if (this.jobs.length === 0 && this.now() - this.lastInteractive > INTERACTIVE_QUIET_MS) return apply(data);
    return new Promise<void>((resolve, reject) => {
      let from = 0;
      this.jobs.push(() => {
        try {
          do {
            const end = pieceEnd(data, from);
            apply(data.subarray(from, end));
            from = end;
          } while (from < data.length && this.requestsWaiting() === 0);
        } catch (err) {
          reject(err);
          return true;
        }
        if (from < data.length) return false;
        this.answer(resolve);
        return true;
      });
      this.schedule();
    });
  }

  get waiting(): number {
    return this.jobs.length;
  }

  /** Settle a decoded write now, or, while requests wait, once they are taken (BULK_ANSWER_MAX_TURNS at most). */
  private answer(resolve: () => void): void {
    if (!this.counted || this.requestsWaiting() === 0) return resolve();
    this.held.push({ resolve, turnsLeft: BULK_ANSWER_MAX_TURNS });
    this.schedule();
  }

  /** Settle the held answers whose turn has come, oldest first. */
  private release(): void {
    const free = this.requestsWaiting() === 0;
    let kept = 0;
    for (const h of this.held) {
      if (free || --h.turnsLeft === 0) h.resolve();
      else this.held[kept++] = h;
    }
    this.held.length = kept;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.held.length) this.release();
      // A write not yet done stays first: writes finish in the order they came.
      if (this.jobs[0]?.()) this.jobs.shift();
      if (this.jobs.length || this.held.length) this.schedule();
    });
  }
}

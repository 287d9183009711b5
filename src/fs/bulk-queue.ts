// Owns the order of bulk work on the request path: big dataset writes are decoded one per event-loop turn,
// after the FUSE requests already waiting, so a transaction is never queued behind a flood of dataset
// writes (each 64 KiB text write costs the JavaScript thread 0.2-0.3 ms of decoding). When no one has asked
// for anything else lately, a big write is decoded at once: there is no one to protect, and without the turn
// a lone writer ran 10-25 % faster in interleaved A/B runs (docs/performance.md).
type Job = () => void;

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
 * Jobs run one per turn of the event loop (setImmediate: after the poll phase, where the binding's
 * waiting requests, transactions among them, are answered). A job's own caller answers its request.
 */
export class BulkQueue {
  private readonly jobs: Job[] = [];
  private scheduled = false;
  private lastInteractive = -Infinity;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * A request someone may be waiting on (a transaction, a read, a listing) arrived at `at`
   * (performance.now()). Bulk writes keep to the queue for INTERACTIVE_QUIET_MS after it.
   */
  sawInteractive(at: number): void {
    this.lastInteractive = at;
  }

  /**
   * Run `work` after the requests already waiting (its result or error settles the promise), or at once,
   * returning its result or throwing, when nothing is queued and no interactive request came lately.
   */
  run<T>(work: () => T): T | Promise<T> {
    if (this.jobs.length === 0 && this.now() - this.lastInteractive > INTERACTIVE_QUIET_MS) return work();
    return new Promise<T>((resolve, reject) => {
      this.jobs.push(() => {
        try {
          resolve(work());
        } catch (err) {
          reject(err);
        }
      });
      this.schedule();
    });
  }

  get waiting(): number {
    return this.jobs.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.jobs.shift()?.();
      if (this.jobs.length) this.schedule();
    });
  }
}

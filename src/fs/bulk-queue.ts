// Owns the order of bulk work on the request path: big dataset writes are decoded one per event-loop turn,
// after the FUSE requests already waiting, so a transaction is never queued behind a flood of dataset
// writes (each 64 KiB text write costs the JavaScript thread 0.2-0.3 ms of decoding).

type Job = () => void;

/**
 * Dataset writes smaller than this are decoded at once: at the measured 250-300 ns per text sample that is tens of
 * microseconds, no more than a request's own round trip, so waiting a turn would only slow the writer
 * (one sample per write is the kernel module's pattern).
 */
export const BULK_WRITE_MIN_BYTES = 8192;

/**
 * Jobs run one per turn of the event loop (setImmediate: after the poll phase, where the binding's
 * waiting requests, transactions among them, are answered). A job's own caller answers its request.
 */
export class BulkQueue {
  private readonly jobs: Job[] = [];
  private scheduled = false;

  /** Run `work` after the requests already waiting; its result or error settles the promise. */
  run<T>(work: () => T): Promise<T> {
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

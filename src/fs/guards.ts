// Owns the per-request limits the fs layer enforces (src/limits.ts holds the numbers): bytes per write
// and files open per model and in total. The per-batch limits are the engine's (engine/session/batch.ts).
import { MlError, fail } from '../errors.js';
import { LIMITS } from '../limits.js';
import type { Session } from '../engine/session/session.js';

/** A write to anything but a streamed file (dataset) is parsed whole, so it is bounded. */
export function checkWriteSize(session: Session, file: string, bytes: number): void {
  const { value, errno } = LIMITS.writeBytes;
  if (bytes > value) session.refuse(file, new MlError(errno, `${file}: a write of ${bytes} bytes is over the ${value} byte limit`));
}

/** Counts open files per model and in total; open() refuses past either limit. */
export class OpenFiles {
  private total = 0;
  private readonly perModel = new Map<string, number>();

  acquire(model: string | undefined): void {
    if (this.total >= LIMITS.openTotal.value)
      fail(LIMITS.openTotal.errno, `open: ${this.total} files are open on the mount, the limit is ${LIMITS.openTotal.value}`);
    if (model !== undefined) {
      const n = this.perModel.get(model) ?? 0;
      if (n >= LIMITS.openPerModel.value)
        fail(LIMITS.openPerModel.errno, `open: ${n} files are open on model ${model}, the limit is ${LIMITS.openPerModel.value}`);
      this.perModel.set(model, n + 1);
    }
    this.total++;
  }

  release(model: string | undefined): void {
    this.total--;
    if (model === undefined) return;
    const n = (this.perModel.get(model) ?? 1) - 1;
    if (n <= 0) this.perModel.delete(model);
    else this.perModel.set(model, n);
  }
}

// Owns the per-request limits the fs layer enforces (src/limits.ts holds the numbers): bytes per write,
// samples per dataset batch, and files open per model and in total.
import { MlError, fail } from '../errors.js';
import { LIMITS } from '../limits.js';
import type { DatasetDecoder } from '../engine/data/codec.js';
import type { Session } from '../engine/session/session.js';

/** A write to anything but a streamed file (dataset) is parsed whole, so it is bounded. */
export function checkWriteSize(session: Session, file: string, bytes: number): void {
  const { value, errno } = LIMITS.writeBytes;
  if (bytes > value) session.reject(file, new MlError(errno, `${file}: a write of ${bytes} bytes is over the ${value} byte limit`));
}

/** One open dataset file carries at most LIMITS.batchSamples samples: past that the batch is refused whole. */
export function checkBatchSamples(decoder: DatasetDecoder): void {
  const { value, errno } = LIMITS.batchSamples;
  if (decoder.samples > value) fail(errno, `dataset: a batch of more than ${value} samples; close the file and write the rest as another batch`);
}

/** The sample width each open batch was decoded for: a commit that changes it while the file is open voids the batch. */
const batchWidths = new WeakMap<DatasetDecoder, number>();

export function newBatch(session: Session): DatasetDecoder {
  const decoder = session.newDatasetDecoder();
  batchWidths.set(decoder, session.config.inputs + session.config.outputs);
  return decoder;
}

/** At close: refuse (and count) a batch decoded for another width rather than reading its values as other samples. */
export function checkBatchWidth(session: Session, decoder: DatasetDecoder): void {
  const width = batchWidths.get(decoder);
  const now = session.config.inputs + session.config.outputs;
  if (width !== undefined && width !== now && decoder.samples > 0) {
    session.rejectDataset(
      new MlError('EINVAL', `dataset: inputs+outputs changed from ${width} to ${now} while this batch was open; write it again`),
      decoder.samples - 1,
    );
  }
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

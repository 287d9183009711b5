// Owns a model's training buffer and what flows into it: dataset batches, feedback corrections and restored
// samples, the rule that a buffer row is as wide as the config's inputs plus outputs, the sample counters,
// and keeping the dataset log (with --state-dir) in step with the buffer.
import { MlError, fail } from '../../errors.js';
import type { Bus } from '../../events.js';
import { DatasetDecoder } from '../data/codec.js';
import { SampleRing } from '../data/ring.js';
import { valueCount, type RowBlocks } from '../data/row-blocks.js';
import type { ModelStore } from '../store/store.js';
import { DatasetBatch } from './batch.js';
import type { ModelConfig } from './config.js';
import type { Reporter } from './reporter.js';

/** The one rule tying the buffer to the config: a row is the inputs followed by the outputs. */
function bufferFor(config: ModelConfig): SampleRing {
  return new SampleRing(config.buffer_capacity, config.inputs + config.outputs);
}

/** What the intake needs from its session. */
export interface IntakeContext {
  name: string;
  bus: Bus;
  store: ModelStore | undefined;
  config(): ModelConfig;
  report: Reporter;
  /** New samples arrived: the learner's budget restarts and a round may begin. */
  newData(): void;
}

export class Intake {
  private ring: SampleRing;
  readonly counts = { samples_total: 0, samples_dropped: 0, samples_rejected: 0, writes_rejected: 0, samples_restored: 0 };

  constructor(private readonly ctx: IntakeContext) {
    this.ring = bufferFor(ctx.config());
  }

  get buffer(): SampleRing {
    return this.ring;
  }

  /** A new batch for one open `dataset` file: it decodes writes as they come and stores them at close. */
  openBatch(): DatasetBatch {
    return new DatasetBatch({
      newDecoder: () => {
        const { inputs, outputs, scale, overflow } = this.ctx.config();
        const reject = overflow === 'reject';
        const limit = { rows: reject ? this.ring.capacity - this.ring.size : this.ring.capacity, excess: reject ? ('reject' as const) : ('drop' as const) };
        return new DatasetDecoder(inputs, outputs, scale, limit);
      },
      refuse: (err, decoded) => this.refuse(err, decoded),
      store: (decoded, bytes, dropped, width) => {
        // The dataset log records floats from the blocks, so with one the rows are scaled and copied now.
        if (this.ctx.store) {
          const rows = decoded.rows();
          this.checkWidth(width, valueCount(rows));
          return this.ingest(rows, bytes, dropped);
        }
        // Without a log, the batch's blocks go to the buffer as they are (MLDS rows as written, divided by scale
        // there): it copies them when a row is first read (a training round, a reader), off the write path.
        const fixed = decoded.fixedPoint();
        if (fixed) {
          this.checkWidth(width, valueCount(fixed.ints));
          this.admit(valueCount(fixed.ints), bytes, dropped, () => this.ring.pushFixedPoint(fixed.ints, fixed.scale, decoded.handOver()));
          return;
        }
        const rows = decoded.rows();
        this.checkWidth(width, valueCount(rows));
        this.admit(valueCount(rows), bytes, dropped, () => this.ring.pushRowsHandedOver(rows, decoded.handOver()));
      },
    });
  }

  /** A commit that changed the row width while a batch was open: its values would be read as other samples. */
  private checkWidth(width: number, values: number): void {
    if (width !== this.ring.width && values > 0) {
      this.refuse(
        new MlError('EINVAL', `dataset: inputs+outputs changed from ${width} to ${this.ring.width} while this batch was open; write it again`),
        values / width - 1,
      );
    }
  }

  /** Count a refused dataset batch and say why. */
  private refuse(err: unknown, samplesDecoded: number): never {
    this.counts.samples_rejected += samplesDecoded + 1;
    this.counts.writes_rejected++;
    this.ctx.report.reject('dataset', err);
  }

  /**
   * Store decoded samples (a whole batch, or feedback corrections) in the buffer, and in the dataset
   * log with --state-dir. With durability=strict the promise settles once they are on disk.
   */
  ingest(rows: RowBlocks, bytes: number, droppedInBatch = 0): void | Promise<void> {
    if (!this.admit(valueCount(rows), bytes, droppedInBatch, () => this.ring.pushRows(rows))) return;
    const store = this.ctx.store;
    if (!store) return;
    const durable = store.appendSamples(rows, this.ring.width, { rows: this.ring.size, bytes: this.ring.bytes });
    return durable.catch((err: Error) => {
      this.ctx.report.record('store_error', `dataset log: samples kept in memory but not written to disk: ${err.message}`);
      return fail('EIO', `dataset: samples kept in memory but not written to disk: ${err.message}`);
    });
  }

  /**
   * What every batch goes through: the row-width and overflow checks, `push` (into the buffer; returns the rows
   * it dropped), the counters and the event. False when there was nothing to store.
   */
  private admit(values: number, bytes: number, droppedInBatch: number, push: () => number): boolean {
    const width = this.ring.width;
    if (values % width !== 0) fail('EINVAL', 'dataset: batch decoded for another config; write again');
    const accepted = values / width;
    if (accepted === 0) return false;
    if (this.ctx.config().overflow === 'reject' && this.ring.size + accepted > this.ring.capacity) {
      const free = this.ring.capacity - this.ring.size;
      this.refuse(new MlError('ENOSPC', `dataset: buffer full (overflow=reject): ${free} free, batch of ${accepted}; reset or discard_dataset`), accepted - 1);
    }
    const dropped = push() + droppedInBatch;
    this.counts.samples_total += accepted + droppedInBatch;
    this.counts.samples_dropped += dropped;
    this.ctx.bus.emit('samples_ingested', { model: this.ctx.name, accepted: accepted + droppedInBatch, dropped, bytes, buffered: this.ring.size });
    this.ctx.newData();
    return true;
  }

  /**
   * reset and discard_dataset: empty the buffer, and the log. With durability=strict the promise settles once the
   * log is empty on disk (as a batch's close waits for its record), and fails with EIO if it could not be emptied.
   */
  clear(why: string): void | Promise<void> {
    const n = this.ring.size;
    this.ring.clear();
    const emptied = this.resetLog();
    this.ctx.report.record('buffer_cleared', `by=${why} samples=${n}`);
    if (!emptied || this.ctx.config().durability !== 'strict') return;
    return emptied.catch((err: Error) => fail('EIO', `${why}: the buffer is empty, but the dataset log could not be emptied on disk: ${err.message}`));
  }

  /** A committed config: a new row width starts an empty buffer; a new capacity keeps the newest rows. Returns whether the width changed. */
  reshape(next: ModelConfig, before: ModelConfig): boolean {
    if (next.inputs !== before.inputs || next.outputs !== before.outputs) {
      this.counts.samples_dropped += this.ring.size;
      this.replaceRing(bufferFor(next));
      // A commit is acknowledged before the disk has it, as its meta.json is; a failure is recorded by resetLog.
      void this.resetLog();
      return true;
    }
    if (next.buffer_capacity !== before.buffer_capacity) this.counts.samples_dropped += this.ring.resize(next.buffer_capacity);
    return false;
  }

  /** At server start: an empty buffer for the restored config, refilled with the log's rows if they fit it. */
  restore(config: ModelConfig, rows: Float32Array, width: number): void {
    this.replaceRing(bufferFor(config));
    if (rows.length && width === this.ring.width) {
      this.ring.pushRows(rows);
      this.counts.samples_restored = rows.length / width;
    }
  }

  /** The model is going: what still waits in the buffer gives its blocks back. */
  close(): void {
    this.ring.clear();
  }

  /**
   * A buffer is dropped only through here: blocks still waiting in it go back first, because some live in
   * WebAssembly memory (wasm-range.ts), which no garbage collector gives back.
   */
  private replaceRing(next: SampleRing): void {
    this.ring.clear();
    this.ring = next;
  }

  /** The buffer is empty: so is the dataset log from now on. Settles once it is on disk; a failure is recorded here. */
  private resetLog(): Promise<void> | undefined {
    const emptied = this.ctx.store?.resetLog();
    emptied?.catch((err: Error) => this.ctx.report.record('store_error', `dataset log reset: ${err.message}`));
    return emptied;
  }
}

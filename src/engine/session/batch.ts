// Owns one dataset batch: everything written on one open `dataset` file, decoded while it streams in and
// stored when the file is closed or fsync'd, all or nothing. A bad write spoils the batch: later writes
// and the close repeat its errno, so a writer that ignores one failed write still learns at close.
import { MlError, fail } from '../../errors.js';
import { LIMITS } from '../../limits.js';
import type { DatasetDecoder } from '../data/codec.js';

/** A finished batch's rows, as the sink may take them (views, valid until the batch is released). */
export type DecodedRows = Pick<DatasetDecoder, 'rows' | 'fixedPoint' | 'handOver'>;

/** What a batch needs from its session: a decoder for the config in force, and where to store or refuse. */
export interface BatchSink {
  /** A decoder for the config in force now; made at the batch's first write, so a commit before it counts. */
  newDecoder(): DatasetDecoder;
  /** Count a refused batch, report why (event line, bus event) and throw its MlError. */
  refuse(err: unknown, samplesDecoded: number): never;
  /**
   * Store the decoded rows (`width` values each, as decoded: as floats, or MLDS rows as the int32s written);
   * with durability=strict the promise settles once they are on disk.
   */
  store(rows: DecodedRows, bytes: number, droppedInBatch: number, width: number): void | Promise<void>;
}

function errnoOf(err: Error) {
  return err instanceof MlError ? err.code : 'EINVAL';
}

export class DatasetBatch {
  private decoder: DatasetDecoder | undefined;
  /** The row width the decoder was made for. */
  private width = 0;
  private bytes = 0;
  private spoiled: Error | undefined;

  constructor(private readonly sink: BatchSink) {}

  /** Decode one write; a bad one spoils the batch and throws its errno. */
  feed(data: Buffer): void {
    const spoiled = this.spoiled;
    if (spoiled) fail(errnoOf(spoiled), `dataset: this open file already had a bad write (${spoiled.message}); close it and write again`);
    const decoder = (this.decoder ??= this.sink.newDecoder());
    this.width ||= decoder.width;
    this.bytes += data.length;
    try {
      decoder.feed(data);
      const { value, errno } = LIMITS.batchSamples;
      if (decoder.samples > value) fail(errno, `dataset: a batch of more than ${value} samples; close the file and write the rest as another batch`);
    } catch (err) {
      this.spoiled = err as Error;
      this.sink.refuse(err, decoder.samples);
    }
  }

  /** The writer closed (or fsync'd) the file: store what was decoded, or repeat the spoiling errno. Later writes start a new batch. */
  commit(): void | Promise<void> {
    const { decoder, bytes, spoiled, width } = this;
    this.reset();
    if (spoiled) {
      decoder?.release();
      fail(errnoOf(spoiled), `dataset: batch discarded: ${spoiled.message}`);
    }
    if (!decoder) return;
    try {
      try {
        decoder.finish();
      } catch (err) {
        this.sink.refuse(err, decoder.samples);
      }
      return this.sink.store(decoder, bytes, decoder.dropped, width);
    } finally {
      decoder.release(); // store copied the rows (buffer and log) before returning, or took their memory (handOver)
    }
  }

  /** Forget everything written so far (the handle went away without a close that stores it). */
  abort(): void {
    this.decoder?.release();
    this.reset();
  }

  private reset(): void {
    this.decoder = undefined;
    this.width = 0;
    this.bytes = 0;
    this.spoiled = undefined;
  }
}

// Owns the `log` input format of `mlproxy replay`: a server's dataset log (checksummed binary records
// of float rows, src/engine/store/datalog.ts) read as a stream and turned into dataset text lines in the
// model's units; a torn last record is skipped with a warning, as the server does on recovery.
import { decodeRecords } from '../engine/store/datalog.js';
import { MAX_ABS_VALUE } from '../protocol.js';
import { InputError, describeWidth, where, type SampleChunk, type SampleFormat } from './sample-format.js';

/** The dataset log's record header (src/engine/store/datalog.ts): u32 magic, u32 payload bytes, u32 crc32. */
const LOG_HEADER_BYTES = 12;
/** A record holds at most one whole buffer (256 MiB of samples) plus its width word. */
const LOG_MAX_PAYLOAD = 256 * 1024 * 1024 + 4;

/** Bytes arriving in chunks, taken off the front in pieces of any size. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
  /** The first `n` bytes (n ≤ length), removed when `take` is set. */
  front(n: number, take: boolean): Buffer {
    let out: Buffer;
    if (this.chunks[0].length >= n) out = this.chunks[0].subarray(0, n);
    else {
      const parts: Buffer[] = [];
      let got = 0;
      for (const c of this.chunks) {
        if (got >= n) break;
        parts.push(c.subarray(0, n - got));
        got += Math.min(c.length, n - got);
      }
      out = Buffer.concat(parts, n);
    }
    if (take) {
      let left = n;
      while (left > 0) {
        const c = this.chunks[0];
        if (c.length <= left) {
          this.chunks.shift();
          left -= c.length;
        } else {
          this.chunks[0] = c.subarray(left);
          left = 0;
        }
      }
      this.length -= n;
    }
    return out;
  }
}

/**
 * A real-unit float32 from the log as the shortest dataset text that the server turns back into the
 * very same float32 (it divides by scale and rounds to float32): the integer when the model is fixed
 * point and the value was written as one, else 7 to 9 significant digits.
 */
function floatToModelUnits(value: number, scale: number, at: string): string {
  const scaled = value * scale;
  let text = String(Number(scaled.toPrecision(9)));
  for (const candidate of [Math.round(scaled), Number(scaled.toPrecision(7)), Number(scaled.toPrecision(8))]) {
    if (Math.fround(candidate / scale) === value) {
      text = String(candidate);
      break;
    }
  }
  if (!Number.isFinite(scaled) || Math.abs(Number(text)) > MAX_ABS_VALUE) throw new InputError(`${at}: ${value} × scale ${scale} is beyond ±${MAX_ABS_VALUE}`);
  return text;
}

/**
 * The server's dataset log (the `dataset.*.log` segments in a model's --state-dir directory, each a log and
 * together, in name order, one; or the `dataset.log` of a server before segments): length-prefixed,
 * checksummed records of real-unit float32 rows. A torn or corrupt last record, what a crash leaves,
 * is skipped with a warning, as the server does when it recovers; a bad record with more after it stops.
 */
export const logFormat: SampleFormat = {
  name: 'log',
  unit: 'record',
  async *read(input, { source, shape, warn }) {
    const width = shape.inputs + shape.outputs;
    const queue = new ByteQueue();
    let offset = 0;
    let record = 0;
    let suspect: string | undefined;
    for await (const raw of input) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      queue.push(chunk);
      const out: SampleChunk = { lines: [], positions: [], bytes: chunk.length };
      let failed: unknown;
      try {
        for (;;) {
          if (suspect && queue.length) throw new InputError(`${suspect}, and more follows: the log is corrupt`);
          if (queue.length < LOG_HEADER_BYTES) break;
          const payload = queue.front(LOG_HEADER_BYTES, false).readUInt32LE(4);
          const at = where(source, 'record', record + 1);
          if (payload > LOG_MAX_PAYLOAD) throw new InputError(`${at} (byte ${offset}): not a record (length ${payload}): the log is corrupt`);
          if (queue.length < LOG_HEADER_BYTES + payload) break;
          const bytes = queue.front(LOG_HEADER_BYTES + payload, true);
          const { batches, validBytes } = decodeRecords(bytes);
          if (validBytes !== bytes.length || batches.length !== 1) {
            // Damaged: the end of the log (a torn write) if nothing follows, corruption if something does.
            suspect = `${at} (byte ${offset}): bad magic, checksum or width`;
            offset += bytes.length;
            continue;
          }
          const batch = batches[0];
          if (batch.width !== width) throw new InputError(`${at}: rows of ${batch.width} values, the model takes ${describeWidth(shape)}`);
          record++;
          offset += bytes.length;
          for (let r = 0; r < batch.rows.length; r += width) {
            const row: string[] = new Array(width);
            for (let c = 0; c < width; c++) row[c] = floatToModelUnits(batch.rows[r + c], shape.scale, at);
            out.lines.push(row.join(' '));
            out.positions.push(record);
          }
        }
      } catch (err) {
        failed = err;
      }
      yield out;
      if (failed) throw failed;
    }
    if (suspect) warn(`${suspect}: the last record is damaged (a torn write?); skipped, as the server does on recovery`);
    else if (queue.length) {
      warn(
        `${where(source, 'record', record + 1)} (byte ${offset}): the file ends inside a record (${queue.length} bytes; a torn write?); skipped, as the server does on recovery`,
      );
    }
  },
};

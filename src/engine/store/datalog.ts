// Owns a model's on-disk dataset log: length-prefixed, checksummed records of sample rows, appended
// with group commit (strict) or on a 100 ms timer (batch), read back with a torn tail detected and cut.
import { open, type FileHandle } from 'node:fs/promises';
import { writeAtomic } from './atomic-file.js';
import { crc32 } from 'node:zlib';
import { valueCount, type RowBlocks } from '../data/row-blocks.js';
import { giveRecordMemory, takeRecordMemory } from './record-pool.js';

/** Record: u32 magic, u32 payload bytes, u32 crc32(payload); payload: u32 width, f32 values. */
const RECORD_MAGIC = 0x474c4c4d; // the bytes "MLLG"
const HEADER_BYTES = 12;
/** Batch durability's loss window: samples acknowledged but not yet on disk are at most this old. */
export const BATCH_FLUSH_MS = 100;

export type Durability = 'strict' | 'batch';

export interface Recovered {
  /** Rows of the newest width found, oldest first (rows of an older width cannot train this model). */
  rows: Float32Array;
  width: number;
  records: number;
  /** Bytes cut from the end because the last record was torn or corrupt. */
  cutBytes: number;
}

/** Bytes of the record holding `rows`. */
function recordBytes(rows: RowBlocks): number {
  return HEADER_BYTES + 4 + 4 * valueCount(rows);
}

/** One record holding `rows`, copied once, straight into the buffer that is written. */
export function encodeRecord(rows: RowBlocks, width: number): Buffer {
  const record = encodeInto(rows, width, Buffer.allocUnsafe(recordBytes(rows)));
  record.writeUInt32LE(crc32(record.subarray(HEADER_BYTES)), 8);
  return record;
}

/**
 * Bytes of a record checksummed per turn of the event loop. A compaction's record is the whole buffer (8 MB for
 * 100,000 samples of 20 values), whose checksum at once held the JavaScript thread 2.3 ms, and every transaction
 * waiting with it (docs/performance.md, eighteenth pass); 128 KiB is about 40 µs.
 */
const CHECKSUM_SLICE_BYTES = 128 << 10;

/** Write the checksum into a record encodeInto made, a slice per turn. Nothing else may touch the record meanwhile. */
async function seal(record: Buffer): Promise<void> {
  const payload = record.subarray(HEADER_BYTES);
  let crc = 0;
  for (let at = 0; at < payload.length; at += CHECKSUM_SLICE_BYTES) {
    if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    crc = crc32(payload.subarray(at, at + CHECKSUM_SLICE_BYTES), crc);
  }
  record.writeUInt32LE(crc, 8);
}

/** A record encoded into memory of the pool (record-pool.ts), to be given back once written. */
interface Pooled {
  record: Buffer;
  memory: Buffer;
}

function encodePooled(rows: RowBlocks, width: number): Pooled {
  const bytes = recordBytes(rows);
  const memory = takeRecordMemory(bytes);
  return { record: encodeInto(rows, width, memory.subarray(0, bytes)), memory };
}

/** Encode into `record`, exactly recordBytes(rows) long, all but the checksum (see seal); returns it. */
function encodeInto(rows: RowBlocks, width: number, record: Buffer): Buffer {
  const payload = record.subarray(HEADER_BYTES);
  payload.writeUInt32LE(width, 0);
  let at = 4;
  for (const block of rows) {
    payload.set(new Uint8Array(block.buffer, block.byteOffset, block.byteLength), at);
    at += block.byteLength;
  }
  record.writeUInt32LE(RECORD_MAGIC, 0);
  record.writeUInt32LE(payload.length, 4);
  return record;
}

/** Decode every whole, intact record; stop at the first that is not (a torn tail). */
export function decodeRecords(data: Buffer): { batches: { width: number; rows: Float32Array }[]; validBytes: number } {
  const batches: { width: number; rows: Float32Array }[] = [];
  let at = 0;
  while (at + HEADER_BYTES <= data.length) {
    if (data.readUInt32LE(at) !== RECORD_MAGIC) break;
    const length = data.readUInt32LE(at + 4);
    if (length < 4 || (length - 4) % 4 !== 0 || at + HEADER_BYTES + length > data.length) break;
    const payload = data.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
    if (crc32(payload) !== data.readUInt32LE(at + 8)) break;
    const width = payload.readUInt32LE(0);
    const values = (length - 4) / 4;
    if (width === 0 || values % width !== 0) break;
    const rows = new Float32Array(values);
    Buffer.from(rows.buffer).set(payload.subarray(4));
    batches.push({ width, rows });
    at += HEADER_BYTES + length;
  }
  return { batches, validBytes: at };
}

export class DataLog {
  private pending: Pooled[] = [];
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  /** Every disk operation runs on this one chain, in order: a rewrite never races a write. */
  private chain: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private timer: NodeJS.Timeout | undefined;
  bytes = 0;

  private constructor(
    private readonly path: string,
    private fh: FileHandle,
    public durability: Durability,
  ) {}

  /** Open (creating) the log, recover what it holds and cut a torn tail off the file. */
  static async open(path: string, durability: Durability): Promise<{ log: DataLog; recovered: Recovered }> {
    const fh = await open(path, 'a+');
    const data = await fh.readFile();
    const { batches, validBytes } = decodeRecords(data);
    if (validBytes < data.length) {
      await fh.truncate(validBytes);
      await fh.datasync();
    }
    const width = batches.length ? batches[batches.length - 1].width : 0;
    const same = batches.filter((b) => b.width === width);
    const rows = new Float32Array(same.reduce((n, b) => n + b.rows.length, 0));
    let at = 0;
    for (const b of same) {
      rows.set(b.rows, at);
      at += b.rows.length;
    }
    const log = new DataLog(path, fh, durability);
    log.bytes = validBytes;
    return { log, recovered: { rows, width, records: batches.length, cutBytes: data.length - validBytes } };
  }

  /**
   * Queue a batch. Strict: resolves once it is on disk; every batch queued while one fdatasync runs
   * shares the next one (group commit). Batch: resolves at once; a timer writes within BATCH_FLUSH_MS.
   */
  append(rows: RowBlocks, width: number): Promise<void> {
    const encoded = encodePooled(rows, width);
    this.pending.push(encoded);
    this.bytes += encoded.record.length;
    if (this.durability === 'batch') {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.flush().catch(() => {});
      }, BATCH_FLUSH_MS);
      return Promise.resolve();
    }
    const durable = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    void this.flush().catch(() => {});
    return durable;
  }

  /** Take what is queued, to be written (or superseded by a rewrite) by the caller. */
  private take() {
    const taken = { data: this.pending, waiters: this.waiters };
    this.pending = [];
    this.waiters = [];
    return taken;
  }

  /** Write and fdatasync everything queued by the time the chain reaches it. */
  flush(): Promise<void> {
    if (!this.flushQueued) {
      this.flushQueued = true;
      // A failed step must not stop the ones after it: each waiter was told of its own failure.
      this.chain = this.chain
        .catch(() => {})
        .then(async () => {
          this.flushQueued = false;
          if (!this.pending.length) return;
          const { data, waiters } = this.take();
          try {
            // One batch (the bulk case) is written as encoded; several go in one writev, not joined into a new buffer.
            try {
              for (const d of data) await seal(d.record);
              if (data.length === 1) await this.fh.write(data[0].record);
              else await this.fh.writev(data.map((d) => d.record));
            } finally {
              data.forEach((d) => giveRecordMemory(d.memory));
            }
            await this.fh.datasync();
          } catch (err) {
            waiters.forEach((w) => w.reject(err as Error));
            return;
          }
          waiters.forEach((w) => w.resolve());
        });
    }
    return this.chain;
  }

  /**
   * Replace the whole log with `rows`, the buffer's contents now (compaction, a reset, a width
   * change). Batches queued but not yet written are part of `rows`, so the rewrite takes them over.
   * Replaced atomically: a crash leaves the old log or the new one.
   */
  rewrite(rows: RowBlocks, width: number): Promise<void> {
    const { data, waiters } = this.take();
    data.forEach((d) => giveRecordMemory(d.memory)); // superseded: the rewrite holds their rows
    const encoded = valueCount(rows) ? encodePooled(rows, width) : undefined;
    this.bytes = encoded?.record.length ?? 0;
    this.chain = this.chain
      .catch(() => {})
      .then(async () => {
        try {
          try {
            if (encoded) await seal(encoded.record);
            await writeAtomic(this.path, encoded?.record ?? Buffer.alloc(0));
          } finally {
            if (encoded) giveRecordMemory(encoded.memory);
          }
          await this.fh.close();
          this.fh = await open(this.path, 'a+');
        } catch (err) {
          waiters.forEach((w) => w.reject(err as Error));
          throw err;
        }
        waiters.forEach((w) => w.resolve());
      });
    return this.chain;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => {});
    await this.chain.catch(() => {});
    await this.fh.close();
  }
}

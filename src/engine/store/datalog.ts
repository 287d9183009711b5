// Owns a model's on-disk dataset log: length-prefixed, checksummed records of sample rows in segment files,
// appended with group commit (strict) or on a 100 ms timer (batch), read back with a torn tail detected and cut,
// and kept to what the buffer holds by deleting whole segments.
import { open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from './atomic-file.js';
import { crc32 } from 'node:zlib';
import { flatten, valueCount, type RowBlocks } from '../data/row-blocks.js';
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
 * Bytes of a record checksummed per turn of the event loop. A record can be a whole buffer (a batch of 100,000
 * samples of 20 values is 8 MB; so was the log's rewrite before segments), whose checksum at once held the JavaScript
 * thread 2.3 ms, and every transaction waiting with it (docs/ceilings-passes.md, eighteenth pass); 128 KiB is about 40 µs.
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

/** A record encoded into memory of the pool (record-pool.ts), to be given back once written; `rows` it holds. */
interface Pooled {
  record: Buffer;
  memory: Buffer;
  rows: number;
}

function encodePooled(rows: RowBlocks, width: number): Pooled {
  const bytes = recordBytes(rows);
  const memory = takeRecordMemory(bytes);
  return { record: encodeInto(rows, width, memory.subarray(0, bytes)), memory, rows: valueCount(rows) / width };
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

/** A numbered file of the log in the model's directory: `dataset.0000000001.log`, … */
const numberedFile = (seq: number, kind: 'log' | 'reset') => `dataset.${String(seq).padStart(10, '0')}.${kind}`;
/** Segment files: in number order they make one log. */
const SEGMENT_FILE = /^dataset\.(\d{10})\.log$/;
const segmentFile = (seq: number) => numberedFile(seq, 'log');
/**
 * An empty file, left while a reset deletes the segments before its number: a crash in between still reads as the
 * reset. Empty so that a full disk can still take it (a reset is how a full log's space is freed).
 */
const RESET_MARK = /^dataset\.(\d{10})\.reset$/;
const resetMark = (seq: number) => numberedFile(seq, 'reset');
/** The one-file log of servers before segments: taken over as a segment (the first, or the newest; see open). */
const LEGACY_FILE = 'dataset.log';
/** A segment is closed and a new one started once it holds this much, or a buffer's worth if that is more. */
export const SEGMENT_MIN_BYTES = 4 << 20;

/** One file of the log: its bytes and rows on disk. */
interface Segment {
  seq: number;
  path: string;
  bytes: number;
  rows: number;
}

/** What the buffer holds now, as the log needs it: its newest `rows` rows are all it keeps; `bytes`, its size. */
export interface BufferExtent {
  rows: number;
  bytes: number;
}

/**
 * The dataset log: records appended to the newest of a few segment files. The buffer keeps only the newest rows, so
 * a segment whose rows have all left it is deleted whole; nothing is ever copied to shrink the log. A reset (the
 * buffer emptied) starts a new segment and deletes the ones before it, under a reset mark.
 */
export class DataLog {
  private pending: Pooled[] = [];
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  /** Every disk operation runs on this one chain, in order: a reset never races a write. */
  private chain: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private timer: NodeJS.Timeout | undefined;
  /**
   * Rows stored since the last reset, queued ones included (none: a reset has nothing to forget), and what the buffer
   * held at the last append.
   */
  private rowsStored = 0;
  private held: BufferExtent;
  /** Told when starting a segment or deleting one failed (the log goes on in the segments it has). */
  onError: (err: Error) => void = () => {};

  private constructor(
    private readonly dir: string,
    private segments: Segment[],
    private fh: FileHandle,
    public durability: Durability,
  ) {
    this.rowsStored = segments.reduce((n, s) => n + s.rows, 0);
    // Until the first append says otherwise, every recovered row counts as held: nothing is deleted.
    this.held = { rows: this.rowsStored, bytes: 0 };
  }

  /**
   * Open (creating) the log in `dir`: finish a reset a crash interrupted, read every segment in order and cut a torn
   * tail off a segment. A one-file log of an earlier server becomes the first segment, or the last when segments are
   * there too (this server, then an earlier one, then this one again).
   */
  static async open(dir: string, durability: Durability): Promise<{ log: DataLog; recovered: Recovered }> {
    const names = await readdir(dir);
    const numbered = (pattern: RegExp) =>
      names
        .map((n) => pattern.exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
    const marks = numbered(RESET_MARK);
    let seqs = numbered(SEGMENT_FILE);
    if (marks.length) {
      const resetAt = marks[marks.length - 1];
      for (const seq of seqs.filter((q) => q < resetAt)) await unlink(join(dir, segmentFile(seq)));
      await syncDir(dir);
      for (const mark of marks) await unlink(join(dir, resetMark(mark)));
      seqs = seqs.filter((q) => q >= resetAt);
    }
    if (names.includes(LEGACY_FILE)) {
      // Alone, it is the log of a server from before segments. Beside segments, such a server ran after this one
      // (it neither reads nor removes them), so its records are the newest: they become the last segment.
      const seq = Math.max(0, ...seqs, ...marks) + 1;
      await rename(join(dir, LEGACY_FILE), join(dir, segmentFile(seq)));
      await syncDir(dir);
      seqs = [...seqs, seq];
    }
    const segments: Segment[] = [];
    const batches: { width: number; rows: Float32Array }[] = [];
    let records = 0;
    let cutBytes = 0;
    for (const seq of seqs) {
      const path = join(dir, segmentFile(seq));
      const data = await readFile(path);
      const decoded = decodeRecords(data);
      if (decoded.validBytes < data.length) {
        const fh = await open(path, 'r+');
        try {
          await fh.truncate(decoded.validBytes);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        cutBytes += data.length - decoded.validBytes;
      }
      const rows = decoded.batches.reduce((n, b) => n + b.rows.length / b.width, 0);
      segments.push({ seq, path, bytes: decoded.validBytes, rows });
      batches.push(...decoded.batches);
      records += decoded.batches.length;
    }
    const empty = !segments.length;
    if (empty) {
      const seq = (marks[marks.length - 1] ?? 0) + 1;
      segments.push({ seq, path: join(dir, segmentFile(seq)), bytes: 0, rows: 0 });
    }
    const width = batches.length ? batches[batches.length - 1].width : 0;
    const rows = flatten(batches.filter((b) => b.width === width).map((b) => b.rows));
    const fh = await open(segments[segments.length - 1].path, 'a+'); // creates the first segment of an empty log
    if (empty) await syncDir(dir);
    const log = new DataLog(dir, segments, fh, durability);
    return { log, recovered: { rows, width, records, cutBytes } };
  }

  /**
   * Queue a batch; `buffer`: what the buffer holds with it. Strict: resolves once it is on disk; every batch queued
   * while one fdatasync runs shares the next one (group commit). Batch: resolves at once; a timer writes within
   * BATCH_FLUSH_MS.
   */
  append(rows: RowBlocks, width: number, buffer: BufferExtent): Promise<void> {
    const encoded = encodePooled(rows, width);
    this.pending.push(encoded);
    this.rowsStored += encoded.rows;
    this.held = buffer;
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

  /** Take what is queued, to be written (or superseded by a reset) by the caller. */
  private take() {
    const taken = { data: this.pending, waiters: this.waiters };
    this.pending = [];
    this.waiters = [];
    return taken;
  }

  /** Write and fdatasync everything queued by the time the chain reaches it; then start a new segment or delete old ones if due. */
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
          const active = this.segments[this.segments.length - 1];
          try {
            // One batch (the bulk case) is written as encoded; several go in one writev, not joined into a new buffer.
            try {
              for (const d of data) await seal(d.record);
              if (data.length === 1) await this.fh.write(data[0].record);
              else await this.fh.writev(data.map((d) => d.record));
            } finally {
              data.forEach((d) => giveRecordMemory(d.memory));
            }
            for (const d of data) {
              active.bytes += d.record.length;
              active.rows += d.rows;
            }
            await this.fh.datasync();
          } catch (err) {
            waiters.forEach((w) => w.reject(err as Error));
            return;
          }
          waiters.forEach((w) => w.resolve());
          await this.rollAndTrim().catch((err: Error) => this.onError(err));
        });
    }
    return this.chain;
  }

  /** Create segment `seq` and append to it from now on; returns its path. */
  private async startSegment(seq: number): Promise<string> {
    const path = join(this.dir, segmentFile(seq));
    const fh = await open(path, 'a+');
    try {
      // The new file's name must be on disk before any record in it is acknowledged.
      await syncDir(this.dir);
    } catch (err) {
      await fh.close();
      throw err;
    }
    await this.fh.close();
    this.fh = fh;
    return path;
  }

  /**
   * On the chain, after a write: start a new segment once the active one is full, and delete the segments whose rows
   * have all left the buffer (the buffer keeps the newest rows, so those are the oldest segments).
   */
  private async rollAndTrim(): Promise<void> {
    const active = this.segments[this.segments.length - 1];
    if (active.bytes >= Math.max(SEGMENT_MIN_BYTES, this.held.bytes)) {
      const seq = active.seq + 1;
      const path = await this.startSegment(seq);
      this.segments.push({ seq, path, bytes: 0, rows: 0 });
    }
    // Rows newer than the oldest segment's: in the segments after it, and queued.
    let newer = this.pending.reduce((n, p) => n + p.rows, 0) + this.segments.slice(1).reduce((n, s) => n + s.rows, 0);
    while (this.segments.length > 1 && newer >= this.held.rows) {
      const gone = this.segments.shift() as Segment;
      newer -= this.segments[0].rows;
      // A crash before the unlink reaches the disk leaves rows the buffer had dropped: recovery keeps the newest.
      await unlink(gone.path);
    }
  }

  /**
   * The buffer was emptied (a reset, discard_dataset, a new row width): the log keeps nothing stored so far. Batches
   * queued but not yet written go with it, acknowledged once the reset is on disk. The next segment starts and the
   * ones before it are deleted under a reset mark, so a crash in between still reads as the reset; nothing is
   * written but empty files, so a reset frees a full disk.
   */
  reset(): Promise<void> {
    // Nothing stored since the last reset (a new model's first config): there is nothing to forget.
    if (this.rowsStored === 0) return this.chain.catch(() => {});
    const { data, waiters } = this.take();
    data.forEach((d) => giveRecordMemory(d.memory)); // superseded by the reset
    this.rowsStored = 0;
    this.held = { rows: 0, bytes: this.held.bytes };
    this.chain = this.chain
      .catch(() => {})
      .then(async () => {
        const seq = this.segments[this.segments.length - 1].seq + 1;
        const mark = join(this.dir, resetMark(seq));
        let switched = false;
        try {
          await (await open(mark, 'w')).close();
          const path = await this.startSegment(seq);
          const before = this.segments;
          this.segments = [{ seq, path, bytes: 0, rows: 0 }];
          switched = true;
          for (const gone of before) await unlink(gone.path);
          await syncDir(this.dir);
          await unlink(mark);
        } catch (err) {
          // Not switched: the log goes on in the old segments, which a mark left behind would delete at the next start.
          if (!switched) await unlink(mark).catch(() => {});
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

// Owns the bounded training buffer: fixed-width Float32Array rows in a ring, oldest dropped first, and the
// column statistics for normalisation, summed per segment of slots when asked and only where rows changed
// (a push is then a copy, however fast samples arrive). A batch's blocks may be handed over instead (text rows as
// floats, MLDS rows as the int32s written): they wait and are copied (and divided by their scale) when any row is
// next read, the reader's cost, not the writer's.
import { scaleIntsInPlace } from './fixed-point.js';
import { flatten, giveBack, type RowBlocks } from './row-blocks.js';

/**
 * A handed-over block waiting to be copied: its values (the placed part; int32s to divide by `scale`, or floats
 * as they are), where they go, whose memory.
 */
interface Waiting {
  values: Int32Array | Float32Array;
  scale: number;
  /** [slot, row of `values`, rows] triples. */
  pieces: number[];
  rows: number;
  memory: readonly Float32Array[];
}

/**
 * Memory handed-over blocks may hold before they are copied, for a buffer of `bytes`: full blocks of batches that
 * together cover the buffer stay under twice its size (the oldest is dropped once later ones cover it), so
 * only blocks mostly empty (batches of a few rows) or one batch far bigger than the buffer reach it.
 */
const WAITING_MEMORY_MAX = (bytes: number): number => 2 * bytes + (1 << 20);

/** Rows per statistics segment: a push marks its segments stale, and only stale ones are summed again. */
const SEGMENT_ROWS = 1024;

export class SampleRing {
  private data: Float32Array;
  /** The same memory as `data`, for rows pushed as int32s. */
  private ints: Int32Array;
  /** Blocks handed over but not yet copied into their slots, oldest first; `waitingRows` rows placed, `waitingBytes` held. */
  private waiting: Waiting[] = [];
  private waitingRows = 0;
  private waitingBytes = 0;
  private head = 0; // index of the oldest row; 0 whenever the ring is not full
  private count = 0;
  /** Per segment of slots: column sums and sums of squares of the rows held there, valid unless stale. */
  private segmentSums: Float64Array;
  private segmentSquares: Float64Array;
  private stale: Uint8Array;

  constructor(
    private cap: number,
    readonly width: number,
  ) {
    this.data = new Float32Array(cap * width);
    this.ints = new Int32Array(this.data.buffer);
    const segments = Math.ceil(cap / SEGMENT_ROWS);
    this.segmentSums = new Float64Array(segments * width);
    this.segmentSquares = new Float64Array(segments * width);
    this.stale = new Uint8Array(segments);
  }

  get size(): number {
    return this.count;
  }
  get capacity(): number {
    return this.cap;
  }

  /** Append rows (row-major, each block a whole number of rows), oldest dropped first; returns how many old rows went. */
  pushRows(rows: Float32Array | RowBlocks): number {
    this.settle(); // the waiting MLDS rows go in first, in order
    let dropped = 0;
    for (const block of rows instanceof Float32Array ? [rows] : rows) {
      const { pieces, skip, dropped: went } = this.place(block.length / this.width);
      for (let p = 0; p < pieces.length; p += 3) {
        const [slot, from, n] = [pieces[p], pieces[p + 1] + skip, pieces[p + 2]];
        this.data.set(block.subarray(from * this.width, (from + n) * this.width), slot * this.width);
      }
      dropped += went;
    }
    return dropped;
  }

  /**
   * Append rows given as int32s already checked against ±MAX_ABS_VALUE (MLDS), each to be divided by `scale`.
   * The counts, the drops and the slots are settled now; the rows wait in their blocks and are copied into the
   * buffer and divided in place when a row is next read, giving exactly what pushRows of their divided values
   * would hold (same slots, same order). `memory`: the blocks' whole arrays, which the buffer gives back to the
   * spares once their rows are copied or overwritten. Returns how many old rows went.
   */
  pushFixedPoint(rows: readonly Int32Array[], scale: number, memory: readonly Float32Array[] = []): number {
    return this.pushWaiting(rows, scale, memory);
  }

  /**
   * pushRows for a batch whose blocks the buffer may keep (`memory`, their whole arrays): the rows wait in them
   * and are copied when a row is next read, as pushFixedPoint's do. Returns how many old rows went.
   */
  pushRowsHandedOver(rows: RowBlocks, memory: readonly Float32Array[]): number {
    return this.pushWaiting(rows, 0, memory);
  }

  /**
   * Place handed-over blocks (`scale` 0: floats as they are). At most a buffer's worth of rows waits (a waiting
   * block whose slots later ones cover entirely is dropped uncopied), and at most WAITING_MEMORY_MAX in memory:
   * past it everything waiting is copied now, so batches of a few rows in whole 64 KiB blocks cannot pile up.
   */
  private pushWaiting(rows: readonly (Int32Array | Float32Array)[], scale: number, memory: readonly Float32Array[]): number {
    let dropped = 0;
    for (const values of rows) {
      const { pieces, skip, dropped: went } = this.place(values.length / this.width);
      const placed = pieces.length ? pieces[pieces.length - 2] + pieces[pieces.length - 1] : 0;
      this.waiting.push({ values: values.subarray(skip * this.width), scale, pieces, rows: placed, memory: [] });
      this.waitingRows += placed;
      dropped += went;
    }
    const last = this.waiting[this.waiting.length - 1];
    if (last) {
      last.memory = memory;
      for (const block of memory) this.waitingBytes += block.byteLength;
    } else memory.forEach(giveBack);
    // Every slot is written again by the rows after the oldest waiting block: it need never be copied.
    while (this.waiting.length > 1 && this.waitingRows - this.waiting[0].rows >= this.cap) {
      const gone = this.waiting.shift() as Waiting;
      this.waitingRows -= gone.rows;
      this.dropMemory(gone);
    }
    if (this.waitingBytes > WAITING_MEMORY_MAX(this.data.byteLength)) this.settle();
    return dropped;
  }

  /** Copy the waiting rows into their slots, oldest first, dividing each int32 piece in place by its scale. */
  private settle(): void {
    if (this.waiting.length === 0) return;
    const width = this.width;
    for (const { values, scale, pieces } of this.waiting) {
      for (let p = 0; p < pieces.length; p += 3) {
        const [at, to] = [pieces[p] * width, (pieces[p] + pieces[p + 2]) * width];
        const piece = values.subarray(pieces[p + 1] * width, (pieces[p + 1] + pieces[p + 2]) * width);
        if (piece instanceof Float32Array) this.data.set(piece, at);
        else {
          this.ints.set(piece, at);
          scaleIntsInPlace(this.ints.subarray(at, to), this.data.subarray(at, to), scale);
        }
      }
    }
    this.dropWaiting();
  }

  /** Every waiting block's memory goes back to the spares (its rows were copied, or are cleared). */
  private dropWaiting(): void {
    for (const block of this.waiting) this.dropMemory(block);
    this.waiting = [];
    this.waitingRows = 0;
  }

  private dropMemory(block: Waiting): void {
    for (const m of block.memory) this.waitingBytes -= m.byteLength;
    block.memory.forEach(giveBack);
  }

  /**
   * Make room for a block of `rows` rows after the newest: the oldest held rows, and the block's own rows that do
   * not fit, count as dropped; the slots go stale. Returns the pieces as [slot, first row of the placed part, rows]
   * triples (at most two: the ring wraps once), the block's rows skipped at its start, and the drops.
   */
  private place(rows: number): { pieces: number[]; skip: number; dropped: number } {
    const dropped = Math.max(0, this.count + rows - this.cap);
    const n = Math.min(rows, this.cap);
    const droppedHeld = Math.min(dropped, this.count);
    const pieces: number[] = [];
    let slot = (this.head + this.count) % this.cap;
    for (let from = 0; from < n;) {
      const piece = Math.min(n - from, this.cap - slot);
      pieces.push(slot, from, piece);
      this.stale.fill(1, Math.floor(slot / SEGMENT_ROWS), Math.floor((slot + piece - 1) / SEGMENT_ROWS) + 1);
      from += piece;
      slot = (slot + piece) % this.cap;
    }
    this.count += n - droppedHeld;
    this.head = (this.head + droppedHeld) % this.cap;
    return { pieces, skip: rows - n, dropped };
  }

  /** Sum one segment's occupied slots again. */
  private resum(segment: number): void {
    const width = this.width;
    const sums = this.segmentSums.subarray(segment * width, (segment + 1) * width);
    const squares = this.segmentSquares.subarray(segment * width, (segment + 1) * width);
    sums.fill(0);
    squares.fill(0);
    // Occupied slots: all when full, else [0, count) (head is 0 until the ring first fills).
    const end = Math.min((segment + 1) * SEGMENT_ROWS, this.count === this.cap ? this.cap : this.count);
    for (let slot = segment * SEGMENT_ROWS; slot < end; slot++) {
      const base = slot * width;
      for (let c = 0; c < width; c++) {
        const v = this.data[base + c];
        sums[c] += v;
        squares[c] += v * v;
      }
    }
    this.stale[segment] = 0;
  }

  /** Row i, 0 being the oldest. The returned view is only valid until the next push. */
  row(i: number): Float32Array {
    if (this.waiting.length) this.settle();
    const slot = (this.head + i) % this.cap;
    return this.data.subarray(slot * this.width, (slot + 1) * this.width);
  }

  /** Every row, oldest first, in one row-major copy. */
  toArray(): Float32Array {
    return flatten(this.views());
  }

  /** Every row, oldest first, as at most two views of the ring (valid until the next push). */
  views(): Float32Array[] {
    this.settle();
    const width = this.width;
    const first = Math.min(this.count, this.cap - this.head);
    const out = [this.data.subarray(this.head * width, (this.head + first) * width)];
    if (first < this.count) out.push(this.data.subarray(0, (this.count - first) * width));
    return out.filter((v) => v.length > 0);
  }

  clear(): void {
    this.dropWaiting();
    this.head = 0;
    this.count = 0;
    this.stale.fill(1);
  }

  /** Change capacity, keeping the newest rows that fit; returns how many were dropped. */
  resize(capacity: number): number {
    this.settle();
    const keep = Math.min(this.count, capacity);
    const next = new Float32Array(capacity * this.width);
    for (let i = 0; i < keep; i++) next.set(this.row(this.count - keep + i), i * this.width);
    const dropped = this.count - keep;
    const segments = Math.ceil(capacity / SEGMENT_ROWS);
    this.data = next;
    this.ints = new Int32Array(next.buffer);
    this.cap = capacity;
    this.head = 0;
    this.count = keep;
    this.segmentSums = new Float64Array(segments * this.width);
    this.segmentSquares = new Float64Array(segments * this.width);
    this.stale = new Uint8Array(segments).fill(1);
    return dropped;
  }

  /** Column means and standard deviations (a floor keeps constant columns from dividing by zero). */
  columnStats(): { mean: Float32Array; std: Float32Array } {
    this.settle();
    const width = this.width;
    const sums = new Float64Array(width);
    const squares = new Float64Array(width);
    for (let segment = 0; segment < this.stale.length; segment++) {
      if (this.stale[segment]) this.resum(segment);
      for (let c = 0; c < width; c++) {
        sums[c] += this.segmentSums[segment * width + c];
        squares[c] += this.segmentSquares[segment * width + c];
      }
    }
    const mean = new Float32Array(width);
    const std = new Float32Array(width);
    for (let c = 0; c < width; c++) {
      const m = this.count ? sums[c] / this.count : 0;
      const variance = this.count ? Math.max(0, squares[c] / this.count - m * m) : 0;
      mean[c] = m;
      std[c] = Math.max(Math.sqrt(variance), 1e-6 * Math.max(1, Math.abs(m)));
    }
    return { mean, std };
  }

  /** Copy `n` rows picked uniformly at random into `out` (row-major). */
  sample(n: number, out: Float32Array, random: () => number = Math.random): void {
    for (let r = 0; r < n; r++) out.set(this.row(Math.floor(random() * this.count)), r * this.width);
  }

  /** Bytes held, for stats and memory budgets: the buffer, and blocks handed over but not yet copied into it. */
  get bytes(): number {
    return this.data.byteLength + this.waitingBytes;
  }
}

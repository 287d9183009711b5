// Owns the bounded training buffer: fixed-width Float32Array rows in a ring, oldest dropped first, and the
// column statistics for normalisation, summed per segment of slots when asked and only where rows changed
// (a push is then a copy, however fast samples arrive). MLDS rows may be pushed as the int32s written: they are
// divided by their scale in place when any row is next read, so the division is the reader's, not the writer's.
import { scaleIntsInPlace } from './fixed-point.js';
import { flatten, type RowBlocks } from './row-blocks.js';

/** Rows per statistics segment: a push marks its segments stale, and only stale ones are summed again. */
const SEGMENT_ROWS = 1024;

export class SampleRing {
  private data: Float32Array;
  /** The same memory as `data`, for rows pushed as int32s. */
  private ints: Int32Array;
  /** The newest `fixedRows` rows still hold int32s, to be divided by `fixedScale` before any row is read. */
  private fixedRows = 0;
  private fixedScale = 1;
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
    this.settle(); // the rows still in int32s must stay the newest
    let dropped = 0;
    for (const block of rows instanceof Float32Array ? [rows] : rows) dropped += this.pushBlock(block);
    return dropped;
  }

  /**
   * Append rows given as int32s already checked against ±MAX_ABS_VALUE (MLDS), each to be divided by `scale`:
   * they are copied as they are and scaled in place when a row is next read, exactly as pushRows of their
   * scaled values would hold them. Returns how many old rows went.
   */
  pushFixedPoint(rows: readonly Int32Array[], scale: number): number {
    if (this.fixedRows > 0 && scale !== this.fixedScale) this.settle();
    let dropped = 0;
    let pushed = 0;
    for (const block of rows) {
      dropped += this.pushBlock(block);
      pushed += block.length / this.width;
    }
    this.fixedScale = scale;
    this.fixedRows = Math.min(this.fixedRows + pushed, this.count);
    return dropped;
  }

  /** Divide the rows still held as int32s by their scale, in place (at most two pieces: the ring wraps once). */
  private settle(): void {
    if (this.fixedRows === 0) return;
    const width = this.width;
    let slot = (this.head + this.count - this.fixedRows) % this.cap;
    for (let left = this.fixedRows; left > 0;) {
      const piece = Math.min(left, this.cap - slot);
      const from = slot * width;
      const to = from + piece * width;
      scaleIntsInPlace(this.ints.subarray(from, to), this.data.subarray(from, to), this.fixedScale);
      left -= piece;
      slot = (slot + piece) % this.cap;
    }
    this.fixedRows = 0;
  }

  /**
   * Copy a block into the slots after the newest row in at most two contiguous pieces (the ring wraps once):
   * floats into the float view, int32s into the int32 view, so either is copied bit for bit.
   */
  private pushBlock(block: Float32Array | Int32Array): number {
    const width = this.width;
    const into = block instanceof Int32Array ? this.ints : this.data;
    // Rows already held and rows of this block that do not fit both count as dropped, oldest first.
    const dropped = Math.max(0, this.count + block.length / width - this.cap);
    const n = Math.min(block.length / width, this.cap);
    block = block.subarray(block.length - n * width);
    const droppedHeld = Math.min(dropped, this.count);
    let slot = (this.head + this.count) % this.cap;
    let from = 0;
    while (from < n) {
      const piece = Math.min(n - from, this.cap - slot);
      into.set(block.subarray(from * width, (from + piece) * width), slot * width);
      this.stale.fill(1, Math.floor(slot / SEGMENT_ROWS), Math.floor((slot + piece - 1) / SEGMENT_ROWS) + 1);
      from += piece;
      slot = (slot + piece) % this.cap;
    }
    this.count += n - droppedHeld;
    this.head = (this.head + droppedHeld) % this.cap;
    return dropped;
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
    if (this.fixedRows > 0) this.settle();
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
    this.fixedRows = 0;
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

  /** Approximate bytes held, for stats and memory budgets. */
  get bytes(): number {
    return this.data.byteLength;
  }
}

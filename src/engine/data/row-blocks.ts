// Owns how a batch's rows travel from the decoder to the buffer and the log without being copied on the way:
// a list of row-major Float32Array blocks, each a whole number of rows, filled in place and never regrown.
import { wasmRange } from './wasm-range.js';

/** Rows as row-major blocks, each holding a whole number of rows, oldest first. */
export type RowBlocks = readonly Float32Array[];

/** Values per block (64 KiB: below the C allocator's mmap threshold, so freed blocks are reused rather than faulted in afresh). */
const BLOCK_VALUES = 16384;

/**
 * Blocks of finished batches, by length, for the next batch to fill: a fresh typed array per block costs
 * allocation and, under a flood, garbage-collector work that measured up to 50 µs a block.
 * Bounded (16 MiB), so a flood leaves at most that much behind.
 */
const spare = new Map<number, Float32Array[]>();
const SPARE_MAX_BLOCKS = 256;
let spareCount = 0;

function takeBlock(values: number): Float32Array {
  const inArena = wasmRange()?.takeBlock(values);
  if (inArena) return inArena;
  const list = spare.get(values);
  const block = list?.pop();
  if (!block) return new Float32Array(values);
  spareCount--;
  return block;
}

/** A block whose rows are no longer needed goes back to the spares (dropped when they are full). */
export function giveBack(block: Float32Array): void {
  if (wasmRange()?.giveBack(block)) return;
  if (spareCount >= SPARE_MAX_BLOCKS) return;
  const list = spare.get(block.length) ?? [];
  list.push(block);
  spare.set(block.length, list);
  spareCount++;
}

/**
 * MLDS rows as written: int32s still to be divided by `scale` (checked against ±MAX_ABS_VALUE already). The
 * buffer takes them so and divides them when they are first read, which keeps the division off the write path.
 */
export interface FixedPointRows {
  readonly ints: readonly Int32Array[];
  readonly scale: number;
}

/** The same bytes as `block`, read as int32s (where MLDS rows sit until they are scaled). */
export function intsOf(block: Float32Array): Int32Array {
  return new Int32Array(block.buffer, block.byteOffset, block.length);
}

export function valueCount(blocks: readonly { readonly length: number }[]): number {
  let n = 0;
  for (const b of blocks) n += b.length;
  return n;
}

/** All rows in one new array (the buffer's `toArray`, tests); the hot path passes the blocks themselves. */
export function flatten(blocks: RowBlocks): Float32Array {
  const out = new Float32Array(valueCount(blocks));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * Collects fixed-width rows into blocks. A writer asks for `room()`, writes rows into `open` from `used`
 * on, then calls `advance(rows)`; a full block is sealed and a fresh one started, so rows are never
 * moved once written (a growing single array would copy them at every doubling).
 */
export class BlockBuilder {
  private sealed: Float32Array[] = [];
  /** Every block this builder took, whole, to be handed back by release(). */
  private readonly owned: Float32Array[] = [];
  /** The block being filled; rows before `first` were dropped by keepNewest. */
  open: Float32Array;
  /** Values written in `open`. */
  used = 0;
  private first = 0;
  private sealedRows = 0;
  private readonly blockRows: number;

  constructor(readonly width: number) {
    this.blockRows = Math.max(1, Math.floor(BLOCK_VALUES / width));
    this.open = this.newBlock();
  }

  /** Every block has the same size (a whole number of rows, 64 KiB or one row), so every one can be reused. */
  private newBlock(): Float32Array {
    const block = takeBlock(this.blockRows * this.width);
    this.owned.push(block);
    return block;
  }

  /**
   * The rows have been stored (copied into the buffer and the log): give the blocks back for the next
   * batch. Every view from blocks() is void from here on; the builder must not be used again.
   */
  release(): void {
    for (const block of this.owned) giveBack(block);
    this.owned.length = 0;
    this.sealed = [];
    this.open = new Float32Array(0);
    this.used = this.first = this.sealedRows = 0;
  }

  /**
   * The rows' memory now belongs to whoever stored them (the buffer keeps MLDS blocks until it copies them):
   * returns every block this builder took, whole, and release() will give back none of them.
   */
  handOver(): Float32Array[] {
    return this.owned.splice(0);
  }

  /** Rows that fit in `open` from `used` on (at least one); starts a fresh block first when it is full. */
  room(): number {
    const free = (this.open.length - this.used) / this.width;
    if (free > 0) return free;
    this.seal();
    this.open = this.newBlock();
    return this.blockRows;
  }

  /** `rows` rows were written into `open` at `used`. */
  advance(rows: number): void {
    this.used += rows * this.width;
  }

  /** Memory this builder holds, in bytes (every block it took and has not given back). */
  get heldBytes(): number {
    return this.owned.reduce((n, block) => n + block.byteLength, 0);
  }

  get count(): number {
    return this.sealedRows + this.used / this.width - this.first;
  }

  /** The rows so far, as views (valid until the builder changes again). */
  blocks(): Float32Array[] {
    const tail = this.open.subarray(this.first * this.width, this.used);
    return tail.length ? [...this.sealed, tail] : [...this.sealed];
  }

  /** Drop all but the newest `rows` rows; returns how many went. */
  keepNewest(rows: number): number {
    let excess = this.count - rows;
    if (excess <= 0) return 0;
    const dropped = excess;
    while (excess > 0 && this.sealed.length) {
      const head = this.sealed[0];
      const headRows = head.length / this.width;
      if (headRows <= excess) {
        this.sealed.shift();
        this.disown(head); // a batch held open under a drop limit must not keep what it dropped
        this.sealedRows -= headRows;
        excess -= headRows;
      } else {
        this.sealed[0] = head.subarray(excess * this.width);
        this.sealedRows -= excess;
        excess = 0;
      }
    }
    this.first += excess;
    return dropped;
  }

  /** A whole block left the batch: it goes back to the spares (or to the collector). */
  private disown(view: Float32Array): void {
    // Blocks may share one memory (wasm-range.ts's arena): a view is its block's when it lies inside it.
    const at = this.owned.findIndex(
      (block) => block.buffer === view.buffer && view.byteOffset >= block.byteOffset && view.byteOffset < block.byteOffset + block.byteLength,
    );
    if (at < 0) return;
    giveBack(this.owned.splice(at, 1)[0]);
  }

  private seal(): void {
    if (this.used > this.first * this.width) {
      this.sealed.push(this.open.subarray(this.first * this.width, this.used));
      this.sealedRows += this.used / this.width - this.first;
    }
    this.used = 0;
    this.first = 0;
  }
}

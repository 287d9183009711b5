// Owns the WebAssembly build of the MLDS range check's fast half (native/int-range.c): its memory, the row blocks
// that live there (checked where they lie), and feeding it other int32s a piece at a time.
import { INT_RANGE_WASM } from './int-range-wasm.js';
import { instantiate, onFirstUse } from '../../wasm-module.js';

interface RangeExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  surely_within(ints: number, count: number): number;
}

/** Values copied in at a time: 64 KiB, an MLDS write's worth, which stays in the cache between copy and check. */
const PIECE = 16384;
const PAGE = 65536;

/**
 * Row blocks kept in the module's memory: the bytes of a write are copied into such a block once and checked where
 * they lie, where a block elsewhere is copied in again to be checked. 256 blocks of 64 KiB (16 MiB, what the spare
 * blocks may hold elsewhere: row-blocks.ts) are reserved at once, because growing the memory later would detach
 * every view of it; pages are only backed once a block is first written. Past them, blocks are ordinary arrays.
 */
const ARENA_BLOCKS = 256;
const ARENA_BLOCK_BYTES = 65536;

class WasmRange {
  private readonly exports: RangeExports;
  private readonly base: number;
  private readonly ints: Int32Array;
  private readonly memory: ArrayBuffer;
  private readonly arenaBase: number;
  /** Byte offsets of the arena's blocks not in use, the lowest last (taken first). */
  private readonly free: number[] = [];

  constructor() {
    this.exports = instantiate<RangeExports>(INT_RANGE_WASM);
    this.base = ((this.exports.__heap_base.value as number) + 15) & ~15;
    this.arenaBase = Math.ceil((this.base + 4 * PIECE) / PAGE) * PAGE;
    const need = this.arenaBase + ARENA_BLOCKS * ARENA_BLOCK_BYTES - this.exports.memory.buffer.byteLength;
    if (need > 0) this.exports.memory.grow(Math.ceil(need / PAGE)); // the only growth: every view below stays valid
    this.memory = this.exports.memory.buffer;
    this.ints = new Int32Array(this.memory, this.base, PIECE);
    for (let i = ARENA_BLOCKS - 1; i >= 0; i--) this.free.push(this.arenaBase + i * ARENA_BLOCK_BYTES);
  }

  /** A block of `values` floats in the module's memory, or undefined when none is free or it would not fit one. */
  takeBlock(values: number): Float32Array | undefined {
    if (values * 4 > ARENA_BLOCK_BYTES) return undefined;
    const at = this.free.pop();
    return at === undefined ? undefined : new Float32Array(this.memory, at, values);
  }

  /** Blocks of the arena not in use (a block no one gave back is lost to it: see Intake's replaceRing). */
  get freeBlocks(): number {
    return this.free.length;
  }

  /** Whether `block` is one of the arena's; if so it is free again (and must not be used). */
  giveBack(block: Float32Array): boolean {
    if (block.buffer !== this.memory) return false;
    this.free.push(block.byteOffset);
    return true;
  }

  /** True when every one of `raw[0, values)` is within ±2^29 (so within ±MAX_ABS_VALUE); false when one may not be. */
  surelyWithin(raw: Int32Array, values: number): boolean {
    if (raw.buffer === this.memory) return this.exports.surely_within(raw.byteOffset, values) !== 0;
    for (let at = 0; at < values; at += PIECE) {
      const n = Math.min(PIECE, values - at);
      this.ints.set(raw.subarray(at, at + n));
      if (!this.exports.surely_within(this.base, n)) return false;
    }
    return true;
  }
}

/** The WebAssembly check, or null where WebAssembly SIMD cannot run (then the JavaScript check serves alone). */
export const wasmRange = onFirstUse(() => new WasmRange());

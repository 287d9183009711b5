// Owns the WebAssembly build of the MLDS range check's fast half (native/int-range.c): its memory, and feeding
// it int32s a piece at a time.
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

class WasmRange {
  private readonly exports: RangeExports;
  private readonly base: number;
  private readonly ints: Int32Array;

  constructor() {
    this.exports = instantiate<RangeExports>(INT_RANGE_WASM);
    this.base = ((this.exports.__heap_base.value as number) + 15) & ~15;
    const need = this.base + 4 * PIECE - this.exports.memory.buffer.byteLength;
    if (need > 0) this.exports.memory.grow(Math.ceil(need / PAGE));
    this.ints = new Int32Array(this.exports.memory.buffer, this.base, PIECE);
  }

  /** True when every one of `raw[0, values)` is within ±2^29 (so within ±MAX_ABS_VALUE); false when one may not be. */
  surelyWithin(raw: Int32Array, values: number): boolean {
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

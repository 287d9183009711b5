// Owns fixed-point values: the ±MAX_ABS_VALUE check, and scaling them to floats (when a multiply may stand in for
// the division without changing one bit).
import { MAX_ABS_VALUE } from '../../protocol.js';
import { wasmRange } from './wasm-range.js';

/** Integers below this magnitude are exact in a float32. */
const EXACT_FLOAT32_INT = 2 ** 24;

/**
 * The magnitude below which an integer `v` times `1 / scale` stored into a Float32Array gives the very same
 * float32 as `v / scale` stored there (the rounding docs/protocol.md promises); 0 when no integer may.
 *
 * Why: for an integer scale ≤ 2^24 and |v| < 2^24 both are exact float32s, so v / scale rounded to a double and
 * then to a float32 is the correctly rounded float32 quotient (a double has more than 2 × 24 + 2 bits, so the
 * double rounding is harmless). The product v × fl(1/scale) differs from the exact quotient Q by at most 2^-52
 * relative. A float32 rounding boundary (a midpoint M between two float32s) that is not Q itself lies at least
 * 2^-25 / scale relative away from Q, because v × 2^k − M × scale × 2^k is a non-zero integer for the right k;
 * for scale ≤ 2^24 that is 2^-49, far outside the product's error. Q cannot be a midpoint itself: a midpoint
 * has 25 significant bits, so v would need |v| ≥ 2^24. So no boundary lies between the product and Q, and both
 * round to the same float32. (A search of every v up to 1e9 at scales 3 to 999,983 found no disagreement
 * either; the limit keeps to what is proved.) A division costs ~2 ns a value here, a multiply ~0.5
 * (docs/ceilings-passes.md); test/engine/codec.test.ts checks every v below the limit for two scales.
 */
export function reciprocalLimit(scale: number): number {
  return Number.isInteger(scale) && scale <= EXACT_FLOAT32_INT ? EXACT_FLOAT32_INT : 0;
}

/**
 * `raw[0, values)` divided by `scale` into `out` from `at`, rounded as the Float32Array store of `v / scale`
 * rounds (a multiply by the reciprocal where reciprocalLimit allows it); returns the index of the
 * first value beyond ±MAX_ABS_VALUE (the caller's error), or -1.
 */
export function scaleInts(raw: Int32Array, values: number, scale: number, out: Float32Array, at: number): number {
  // Any other scale, or a larger value, takes the division (limit 0 sends every value there).
  const limit = reciprocalLimit(scale);
  const reciprocal = 1 / scale;
  for (let i = 0; i < values; i++) {
    const v = raw[i];
    if (v < limit && v > -limit) out[at + i] = v * reciprocal;
    else if (v > MAX_ABS_VALUE || v < -MAX_ABS_VALUE) return i;
    else out[at + i] = v / scale;
  }
  return -1;
}

/** Below this magnitude every value is within ±MAX_ABS_VALUE (2^29 < 1e9): the bound the fast pass tests. */
const SURELY_WITHIN = 2 ** 29;

/**
 * From this many values on, the fast pass runs in WebAssembly: below it the copy there and the call cost more than they
 * save (in-process, 32 values took 39 ns in JavaScript and 54 in WebAssembly, 64 took 62 and 50, 256 took 264 and 70).
 */
const WASM_MIN_VALUES = 64;

/**
 * The index of the first of `raw[0, values)` beyond ±MAX_ABS_VALUE, or -1: the check MLDS values pass at the
 * write, before they are scaled. A fast pass asks whether every value lies within ±2^29, which is all fixed-point
 * data of a sane scale: in WebAssembly with SIMD (native/int-range.c, about 0.2 ns a value with its copy), or here
 * by ORing every value's magnitude bits with no branch on the data (v ^ (v >> 31) is |v| for v ≥ 0 and |v| - 1
 * below; about 0.5 ns a value). Otherwise (a value of 2^29 or more, allowed or not) an exact pass finds the first
 * one beyond. docs/ceilings-passes.md (sixth and seventh passes) has the measurements.
 */
export function firstBeyond(raw: Int32Array, values: number): number {
  const wasm = values >= WASM_MIN_VALUES ? wasmRange() : null;
  if (wasm ? wasm.surelyWithin(raw, values) : surelyWithinInJs(raw, values)) return -1;
  for (let i = 0; i < values; i++) {
    const v = raw[i];
    if (v > MAX_ABS_VALUE || v < -MAX_ABS_VALUE) return i;
  }
  return -1;
}

/** The fast pass in JavaScript, the reference for the WebAssembly one. */
export function surelyWithinInJs(raw: Int32Array, values: number): boolean {
  let bits = 0;
  for (let i = 0; i < values; i++) {
    const v = raw[i];
    bits |= v ^ (v >> 31);
  }
  return bits < SURELY_WITHIN;
}

/**
 * Scale checked int32s to floats in their own memory: `ints` and `floats` view the same bytes, each value is read
 * before its slot is written, and every value is within ±MAX_ABS_VALUE already (firstBeyond), so none is refused.
 */
export function scaleIntsInPlace(ints: Int32Array, floats: Float32Array, scale: number): void {
  if (ints.buffer !== floats.buffer || ints.byteOffset !== floats.byteOffset || ints.length !== floats.length) {
    throw new Error('scaleIntsInPlace: the two views must cover the same bytes');
  }
  scaleInts(ints, ints.length, scale, floats, 0);
}

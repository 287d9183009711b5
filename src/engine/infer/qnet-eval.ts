// Owns the reference integer evaluator of a quantised network: the arithmetic of docs/kernel-module.md
// ("Integer network format and arithmetic"), bit for bit the same as mlp_qnet_eval() in kmod/mlp_qnet.c.
import type { Affine, QuantNet } from './qnet-format.js';

const I32_MAX = 2147483647n;
const I32_MIN = -2147483648n;

/** Right shift by `s` rounding half away from zero, as the C code does on int64. */
export function rshiftRound(v: bigint, s: number): bigint {
  if (s === 0) return v;
  const sh = BigInt(s);
  const half = 1n << (sh - 1n);
  return v >= 0n ? (v + half) >> sh : -((-v + half) >> sh);
}

export function sat32(v: bigint): number {
  return Number(v > I32_MAX ? I32_MAX : v < I32_MIN ? I32_MIN : v);
}

function affine(x: number, a: Affine): number {
  return sat32(rshiftRound(BigInt(x) * BigInt(a.mul) + a.add, a.shift));
}

/**
 * Evaluate one row of int32 inputs (units of 1/scale) into int32 outputs (units of 1/scale).
 * Products a·w are at most 2^46 and a layer sums at most 64 of them, so the Σ is exact in a double;
 * the bias term and the rounding shift go through BigInt, which is exact at any size.
 */
export function evalQnet(net: QuantNet, input: Int32Array | number[]): Int32Array {
  let cur = Int32Array.from(net.inputAffine, (a, i) => affine(input[i], a));
  for (const l of net.layers) {
    const next = new Int32Array(l.outSize);
    for (let j = 0; j < l.outSize; j++) {
      let sum = 0;
      const row = j * l.inSize;
      for (let i = 0; i < l.inSize; i++) sum += cur[i] * l.weights[row + i];
      const acc = BigInt(sum) + (BigInt(l.bias[j]) << BigInt(l.weightShift));
      const v = sat32(rshiftRound(acc, l.weightShift));
      next[j] = l.relu && v < 0 ? 0 : v;
    }
    cur = next;
  }
  return Int32Array.from(net.outputAffine, (a, j) => affine(cur[j], a));
}

// Owns the float → integer step: a weights snapshot (with its standardisation and the session's fixed-point
// scale) becomes a QuantNet whose integer outputs track the float network (docs/kernel-module.md).
import type { Snapshot } from './network.js';
import { INT16_MAX, INT32_MAX, QNET, QNET_LIMITS, type Affine, type QLayer, type QuantNet } from './qnet-format.js';

export class QuantiseError extends Error {}

const ADD_LIMIT = 2 ** QNET_LIMITS.affineAddBits;

/**
 * The affine map y = (x·mul + add) >> shift for a real map y = x·gain + offset, with the largest shift that
 * keeps |mul| < 2^31 and |add| ≤ 2^61: the most precise integer form the format allows.
 */
export function affineFor(gain: number, offset: number, what: string): Affine {
  if (!Number.isFinite(gain) || !Number.isFinite(offset)) throw new QuantiseError(`${what}: not finite`);
  for (let shift = QNET_LIMITS.affineShiftMax; shift >= 0; shift--) {
    const mul = Math.round(gain * 2 ** shift);
    const add = Math.round(offset * 2 ** shift);
    if (Math.abs(mul) <= INT32_MAX && Math.abs(add) <= ADD_LIMIT) return { mul, add: BigInt(add), shift };
  }
  throw new QuantiseError(`${what}: gain ${gain} or offset ${offset} does not fit the integer format`);
}

/** Largest power-of-two shift that keeps every weight within int16. */
function weightShiftFor(maxAbs: number): number {
  for (let k = QNET_LIMITS.weightShiftMax; k >= 0; k--) if (Math.round(maxAbs * 2 ** k) <= INT16_MAX) return k;
  throw new QuantiseError(`a weight of magnitude ${maxAbs} does not fit int16 at shift 0`);
}

/**
 * Quantise a snapshot for a kernel that speaks integers in units of 1/scale. Inputs: a_i = (x_i/scale − inMean_i)
 * / inStd_i in Q.16; outputs: (a/2^16 · outStd + outMean) · scale.
 */
export function quantise(snapshot: Snapshot, scale: number): QuantNet {
  const one = 2 ** QNET.fracBits;
  const inputAffine = Array.from(snapshot.inMean, (mean, i) => {
    const std = snapshot.inStd[i];
    return affineFor(one / (std * scale), (-mean / std) * one, `input ${i}`);
  });
  const layers: QLayer[] = snapshot.layers.map((l, n) => {
    let maxAbs = 0;
    for (const w of l.kernel) maxAbs = Math.max(maxAbs, Math.abs(w));
    if (!Number.isFinite(maxAbs)) throw new QuantiseError(`layer ${n}: weights not finite`);
    const weightShift = weightShiftFor(maxAbs);
    const weights = new Int16Array(l.inSize * l.outSize);
    // Float kernel is [in][out]; the integer layout is [out][in], so one neuron's weights are contiguous.
    for (let i = 0; i < l.inSize; i++) {
      for (let j = 0; j < l.outSize; j++) weights[j * l.inSize + i] = Math.round(l.kernel[i * l.outSize + j] * 2 ** weightShift);
    }
    const bias = Int32Array.from(l.bias, (b, j) => {
      const q = Math.round(b * one);
      if (!Number.isFinite(q) || Math.abs(q) > INT32_MAX) throw new QuantiseError(`layer ${n} bias ${j} = ${b} does not fit Q15.16`);
      return q;
    });
    return { inSize: l.inSize, outSize: l.outSize, weightShift, relu: l.relu, bias, weights };
  });
  const outputAffine = Array.from(snapshot.outMean, (mean, j) => affineFor((snapshot.outStd[j] * scale) / one, mean * scale, `output ${j}`));
  return { generation: snapshot.generation, inputAffine, layers, outputAffine };
}

// Owns the `qnet` byte format: header, layout, hard limits, checksum, encode and validating decode.
// The format and arithmetic are specified once in docs/kernel-module.md ("Integer network format and
// arithmetic"); kmod/mlp_qnet.c is the C side of the same contract and must stay in step with this file.
import { crc32 } from 'node:zlib';

export const QNET = {
  magic: 0x4e514c4d, // the bytes "MLQN"
  version: 1,
  headerBytes: 32,
  /** Activations are int32 with this many fraction bits (Q15.16). The evaluator never needs it; a file must say 16. */
  fracBits: 16,
  activationRelu: 1,
} as const;

/** Hard limits, enforced by the exporter and by the kernel's validator alike. */
export const QNET_LIMITS = {
  layers: 4, // dense layers (so at most 3 hidden)
  width: 64, // neurons per hidden layer
  inputs: 16,
  outputs: 16,
  bytes: 32768,
  weightShiftMax: 30,
  affineShiftMax: 62,
  /** |affine add| ≤ 2^61, so x·mul + add stays inside int64 for any int32 x and |mul| < 2^31. */
  affineAddBits: 61,
} as const;

export const INT32_MAX = 2 ** 31 - 1;
export const INT16_MAX = 32767;

/** y = sat32(rshift_round((s64)x · mul + add, shift)): the map in and out of the activation domain. */
export interface Affine {
  mul: number; // int32, |mul| ≤ 2^31 - 1
  add: bigint; // int64, |add| ≤ 2^61
  shift: number; // 0..62
}

export interface QLayer {
  inSize: number;
  outSize: number;
  /** acc = Σ a_i · w[j][i] + (bias_j << weightShift); out_j = sat32(rshift_round(acc, weightShift)). */
  weightShift: number;
  relu: boolean;
  bias: Int32Array; // Q.16
  /** Row-major [outSize][inSize]: one output neuron's weights are contiguous. */
  weights: Int16Array;
}

export interface QuantNet {
  generation: number;
  inputAffine: Affine[];
  layers: QLayer[];
  outputAffine: Affine[];
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Total file size of a network with these layer widths (input first). */
export function qnetBytes(sizes: number[]): number {
  const layers = sizes.length - 1;
  let n = QNET.headerBytes + pad4(2 * sizes.length) + 16 * sizes[0];
  for (let l = 0; l < layers; l++) n += 4 + 4 * sizes[l + 1] + pad4(2 * sizes[l] * sizes[l + 1]);
  return n + 16 * sizes[layers] + 4;
}

/** Why a shape is outside the limits, or undefined when it fits. */
export function limitViolation(sizes: number[]): string | undefined {
  const layers = sizes.length - 1;
  if (layers < 1 || layers > QNET_LIMITS.layers) return `${layers} dense layers (limit 1..${QNET_LIMITS.layers})`;
  if (sizes[0] < 1 || sizes[0] > QNET_LIMITS.inputs) return `${sizes[0]} inputs (limit ${QNET_LIMITS.inputs})`;
  if (sizes[layers] < 1 || sizes[layers] > QNET_LIMITS.outputs) return `${sizes[layers]} outputs (limit ${QNET_LIMITS.outputs})`;
  for (let l = 1; l < layers; l++) if (sizes[l] < 1 || sizes[l] > QNET_LIMITS.width) return `hidden width ${sizes[l]} (limit ${QNET_LIMITS.width})`;
  if (qnetBytes(sizes) > QNET_LIMITS.bytes) return `${qnetBytes(sizes)} bytes (limit ${QNET_LIMITS.bytes})`;
  return undefined;
}

function affineViolation(a: Affine): string | undefined {
  if (!Number.isInteger(a.mul) || Math.abs(a.mul) > INT32_MAX) return `affine multiplier ${a.mul}`;
  if (a.add > 1n << BigInt(QNET_LIMITS.affineAddBits) || a.add < -(1n << BigInt(QNET_LIMITS.affineAddBits))) return `affine offset ${a.add}`;
  if (!Number.isInteger(a.shift) || a.shift < 0 || a.shift > QNET_LIMITS.affineShiftMax) return `affine shift ${a.shift}`;
  return undefined;
}

export function sizesOf(net: QuantNet): number[] {
  return [net.layers[0].inSize, ...net.layers.map((l) => l.outSize)];
}

/** Everything the kernel's validator checks besides the bytes themselves; undefined when the network is sound. */
export function netViolation(net: QuantNet): string | undefined {
  if (!net.layers.length) return 'no layers';
  const sizes = sizesOf(net);
  const shape = limitViolation(sizes);
  if (shape) return shape;
  if (net.inputAffine.length !== sizes[0] || net.outputAffine.length !== sizes[sizes.length - 1]) return 'affine count';
  for (const a of [...net.inputAffine, ...net.outputAffine]) {
    const bad = affineViolation(a);
    if (bad) return bad;
  }
  for (const [i, l] of net.layers.entries()) {
    if (i > 0 && l.inSize !== net.layers[i - 1].outSize) return `layer ${i} input width`;
    if (l.relu !== i < net.layers.length - 1) return `layer ${i} activation`;
    if (l.weightShift < 0 || l.weightShift > QNET_LIMITS.weightShiftMax) return `layer ${i} weight shift ${l.weightShift}`;
    if (l.weights.some((w) => w < -INT16_MAX)) return `layer ${i} weight -32768`;
  }
  return undefined;
}

function writeAffine(buf: Buffer, at: number, a: Affine): number {
  buf.writeBigInt64LE(a.add, at);
  buf.writeInt32LE(a.mul, at + 8);
  buf.writeUInt8(a.shift, at + 12);
  return at + 16;
}

/** Serialise a network; the caller has checked it with netViolation. */
export function encodeQnet(net: QuantNet): Buffer {
  const sizes = sizesOf(net);
  const total = qnetBytes(sizes);
  const buf = Buffer.alloc(total);
  buf.writeUInt32LE(QNET.magic, 0);
  buf.writeUInt16LE(QNET.version, 4);
  buf.writeUInt16LE(QNET.headerBytes, 6);
  buf.writeUInt32LE(total, 8);
  buf.writeUInt16LE(net.layers.length, 12);
  buf.writeUInt8(QNET.activationRelu, 14);
  buf.writeUInt8(QNET.fracBits, 15);
  buf.writeBigUInt64LE(BigInt(net.generation), 16);
  let at: number = QNET.headerBytes;
  for (const [i, s] of sizes.entries()) buf.writeUInt16LE(s, at + 2 * i);
  at += pad4(2 * sizes.length);
  for (const a of net.inputAffine) at = writeAffine(buf, at, a);
  for (const l of net.layers) {
    buf.writeUInt8(l.weightShift, at);
    buf.writeUInt8(l.relu ? 1 : 0, at + 1);
    at += 4;
    for (const b of l.bias) at = buf.writeInt32LE(b, at);
    for (const w of l.weights) at = buf.writeInt16LE(w, at);
    at = pad4(at);
  }
  for (const a of net.outputAffine) at = writeAffine(buf, at, a);
  buf.writeUInt32LE(crc32(buf.subarray(0, at)), at);
  return buf;
}

export class QnetFormatError extends Error {}

function bad(why: string): never {
  throw new QnetFormatError(why);
}

function readAffine(buf: Buffer, at: number): Affine {
  if (buf.readUInt8(at + 13) || buf.readUInt16LE(at + 14)) bad('affine padding not zero');
  return { add: buf.readBigInt64LE(at), mul: buf.readInt32LE(at + 8), shift: buf.readUInt8(at + 12) };
}

/** The offset of the next 4-byte boundary from `at`, requiring the padding to be zero (every accepted byte has one meaning). */
function zeroToPad4(buf: Buffer, at: number): number {
  const end = pad4(at);
  for (let i = at; i < end; i++) if (buf[i] !== 0) bad(`padding at byte ${i} not zero`);
  return end;
}

/** Parse and validate in the kernel's order (header, sizes against limits, checksum, contents); throws QnetFormatError. */
export function decodeQnet(buf: Buffer): QuantNet {
  if (buf.length < QNET.headerBytes + 8) bad(`${buf.length} bytes is shorter than a header`);
  if (buf.readUInt32LE(0) !== QNET.magic) bad('bad magic');
  if (buf.readUInt16LE(4) !== QNET.version) bad(`version ${buf.readUInt16LE(4)}`);
  if (buf.readUInt16LE(6) !== QNET.headerBytes) bad('header size');
  const total = buf.readUInt32LE(8);
  if (total !== buf.length || total > QNET_LIMITS.bytes) bad(`total_bytes ${total} for a ${buf.length}-byte file`);
  const nLayers = buf.readUInt16LE(12);
  if (nLayers < 1 || nLayers > QNET_LIMITS.layers) bad(`${nLayers} layers`);
  if (buf.readUInt8(14) !== QNET.activationRelu) bad('activation');
  if (buf.readUInt8(15) !== QNET.fracBits) bad('fraction bits');
  if (buf.readUInt32LE(24) || buf.readUInt32LE(28)) bad('reserved not zero');
  const sizes: number[] = [];
  for (let i = 0; i <= nLayers; i++) sizes.push(buf.readUInt16LE(QNET.headerBytes + 2 * i));
  const shape = limitViolation(sizes);
  if (shape) bad(shape);
  if (qnetBytes(sizes) !== total) bad('total_bytes does not match the layer sizes');
  if (crc32(buf.subarray(0, total - 4)) !== buf.readUInt32LE(total - 4)) bad('checksum');
  let at: number = zeroToPad4(buf, QNET.headerBytes + 2 * sizes.length);
  const inputAffine: Affine[] = [];
  for (let i = 0; i < sizes[0]; i++, at += 16) inputAffine.push(readAffine(buf, at));
  const layers: QLayer[] = [];
  for (let l = 0; l < nLayers; l++) {
    const inSize = sizes[l];
    const outSize = sizes[l + 1];
    const weightShift = buf.readUInt8(at);
    const relu = buf.readUInt8(at + 1);
    if (relu > 1 || buf.readUInt16LE(at + 2)) bad(`layer ${l} flags`);
    at += 4;
    const bias = new Int32Array(outSize);
    for (let j = 0; j < outSize; j++, at += 4) bias[j] = buf.readInt32LE(at);
    const weights = new Int16Array(inSize * outSize);
    for (let k = 0; k < weights.length; k++, at += 2) weights[k] = buf.readInt16LE(at);
    at = zeroToPad4(buf, at);
    layers.push({ inSize, outSize, weightShift, relu: relu === 1, bias, weights });
  }
  const outputAffine: Affine[] = [];
  for (let j = 0; j < sizes[nLayers]; j++, at += 16) outputAffine.push(readAffine(buf, at));
  // mlproxy's generations are counters far below 2^53; a larger one cannot round-trip through a JS number.
  const generation = buf.readBigUInt64LE(16);
  if (generation > BigInt(Number.MAX_SAFE_INTEGER)) bad(`generation ${generation} beyond 2^53 - 1`);
  const net: QuantNet = { generation: Number(generation), inputAffine, layers, outputAffine };
  const why = netViolation(net);
  if (why) bad(why);
  return net;
}

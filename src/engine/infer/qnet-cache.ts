// Owns the `qnet` export of each model: quantised once per (weights generation, scale), self-checked against
// the float network, kept as bytes so every later read is a memory copy.
import { fail } from '../../errors.js';
import { FastNetwork, type Snapshot } from './network.js';
import { decodeQnet, encodeQnet, limitViolation, netViolation, QnetFormatError } from './qnet-format.js';
import { evalQnet } from './qnet-eval.js';
import { quantise, QuantiseError } from './quantise.js';

/**
 * The self-check's tolerance: an output may differ from the float network by at most this share of the
 * output's standard deviation (plus one unit of the integer output). The measured error (bench/qnet-accuracy.mjs,
 * docs/performance.md) is far inside it; exceeding it means saturation or a bug, and nothing is exported.
 */
export const SELF_CHECK_STD_SHARE = 0.01;

/** Probe inputs for the self-check: the mean and ±2 standard deviations along each input axis. */
function probes(s: Snapshot, scale: number): number[][] {
  const mean = Array.from(s.inMean, (m) => m * scale);
  const rows = [mean];
  for (let i = 0; i < mean.length; i++) {
    for (const k of [-2, 2]) {
      const row = [...mean];
      row[i] += k * s.inStd[i] * scale;
      rows.push(row);
    }
  }
  return rows.map((r) => r.map((v) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v)))));
}

/** Decode what was encoded and compare it with the float network; throws on any disagreement. */
function selfCheck(bytes: Buffer, snapshot: Snapshot, scale: number): void {
  const net = decodeQnet(bytes);
  const float = new FastNetwork(snapshot);
  const out = new Float32Array(float.outputs);
  for (const row of probes(snapshot, scale)) {
    float.predict(
      Float32Array.from(row, (v) => v / scale),
      1,
      out,
    );
    const got = evalQnet(net, row);
    for (let j = 0; j < out.length; j++) {
      const tolerance = SELF_CHECK_STD_SHARE * snapshot.outStd[j] * scale + 1;
      const err = Math.abs(got[j] - out[j] * scale);
      if (!(err <= tolerance)) throw new QuantiseError(`self-check: output ${j} off by ${err} (tolerance ${tolerance.toFixed(1)}) at input ${row.join(',')}`);
    }
  }
}

export class QnetCache {
  private key = '';
  private cached: Buffer | Error | undefined;

  /**
   * The export of this snapshot: ENODATA without a network, EFBIG when it exceeds the limits or cannot be
   * represented within the self-check's tolerance. Same generation and scale: the same Buffer, no work.
   */
  bytes(snapshot: Snapshot | undefined, scale: number): Buffer {
    if (!snapshot) fail('ENODATA', 'qnet: the model has no network yet (write init to control)');
    const key = `${snapshot.generation}/${scale}`;
    if (key !== this.key) {
      this.key = key;
      this.cached = build(snapshot, scale);
    }
    if (this.cached instanceof Error) fail('EFBIG', `qnet: ${this.cached.message}`);
    return this.cached as Buffer;
  }
}

function build(snapshot: Snapshot, scale: number): Buffer | Error {
  const sizes = [snapshot.layers[0].inSize, ...snapshot.layers.map((l) => l.outSize)];
  const shape = limitViolation(sizes);
  if (shape) return new Error(`network ${sizes.join('-')} exceeds the limits: ${shape}`);
  try {
    const net = quantise(snapshot, scale);
    const why = netViolation(net);
    if (why) return new Error(why);
    const bytes = encodeQnet(net);
    selfCheck(bytes, snapshot, scale);
    return bytes;
  } catch (err) {
    if (err instanceof QuantiseError || err instanceof QnetFormatError) return err;
    throw err;
  }
}

// Accuracy of the integer network export (qnet) against the float network it came from: for each hidden
// width up to the default network (2-w-w-1), train a float network on the synthetic subsystem's data
// (feature f and load l, best setting 200 + 0.5 f + 0.1 l, kmod/mlp_synth.c) with the real training worker,
// quantise it as mlproxy does, and compare integer and float outputs on 10,000 random inputs from the same
// distribution, in the kernel's units (scale 1000: one unit is one setting step). Also the same for networks
// with fresh (untrained) weights, whose outputs are less smooth. Usage: node bench/qnet-accuracy.mjs [--out FILE]
import { fmt, machine, progress, report, rng, run, summarize, table } from './lib.mjs';
import { TrainingWorker } from '../dist/engine/train/trainer.js';
import { FastNetwork, layersFromWeights } from '../dist/engine/infer/network.js';
import { freshWeights } from '../dist/engine/train/init-weights.js';
import { quantise } from '../dist/engine/infer/quantise.js';
import { encodeQnet, decodeQnet } from '../dist/engine/infer/qnet-format.js';
import { evalQnet } from '../dist/engine/infer/qnet-eval.js';

const SCALE = 1000;
const WIDTHS = [4, 8, 16, 32];
const TRAIN_ROWS = 4096;
const TEST_ROWS = 10_000;
const BATCH = 32;
const ROUNDS = 30; // of 128 batches each
const BOUND_UNITS = 2; // documented bound: worst error in setting units (kernel-module.md)

function sample(rand) {
  const f = Math.floor(rand() * 1001);
  const l = Math.floor(rand() * 1001);
  return [f, l, 200 + Math.trunc((f * 5 + l) / 10)];
}

function stats(cols) {
  const mean = cols.map((c) => c.reduce((s, v) => s + v, 0) / c.length);
  const std = cols.map((c, i) => Math.sqrt(c.reduce((s, v) => s + (v - mean[i]) ** 2, 0) / c.length) || 1);
  return { mean: Float32Array.from(mean), std: Float32Array.from(std) };
}

async function trainedSnapshot(worker, width, rand, trained) {
  const sizes = [2, width, width, 1];
  const rows = Array.from({ length: TRAIN_ROWS }, () => sample(rand).map((v) => v / SCALE));
  const inS = stats([rows.map((r) => r[0]), rows.map((r) => r[1])]);
  const outS = stats([rows.map((r) => r[2])]);
  let weights = freshWeights(sizes);
  if (trained) {
    const name = `w${width}`;
    await worker.build(name, { inputs: 2, hidden: [width, width], outputs: 1, learningRate: 0.01 }, weights);
    for (let round = 0; round < ROUNDS; round++) {
      const n = 128 * BATCH;
      const xs = new Float32Array(n * 2);
      const ys = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const r = rows[Math.floor(rand() * rows.length)];
        xs[2 * k] = (r[0] - inS.mean[0]) / inS.std[0];
        xs[2 * k + 1] = (r[1] - inS.mean[1]) / inS.std[1];
        ys[k] = (r[2] - outS.mean[0]) / outS.std[0];
      }
      const step = round >= ROUNDS * 0.75 ? 0.001 : 0.01;
      weights = (await worker.train(name, xs, ys, BATCH, 128, step)).weights;
    }
    await worker.dispose(name);
  }
  return { generation: 1, layers: layersFromWeights(weights, sizes), inMean: inS.mean, inStd: inS.std, outMean: outS.mean, outStd: outS.std };
}

function measure(snapshot, rand) {
  const net = decodeQnet(encodeQnet(quantise(snapshot, SCALE)));
  const float = new FastNetwork(snapshot);
  const out = new Float32Array(1);
  const errors = [];
  let fitErr = 0;
  for (let k = 0; k < TEST_ROWS; k++) {
    const [f, l, best] = sample(rand);
    float.predict(Float32Array.of(f / SCALE, l / SCALE), 1, out);
    const q = evalQnet(net, [f, l])[0];
    errors.push(Math.abs(q - out[0] * SCALE));
    fitErr += Math.abs(out[0] * SCALE - best);
  }
  return { ...summarize(errors), fitMae: fitErr / TEST_ROWS, shifts: net.layers.map((l) => l.weightShift) };
}

run(async () => {
  const worker = new TrainingWorker();
  const rand = rng(10);
  const rows = [];
  try {
    for (const trained of [true, false]) {
      for (const width of WIDTHS) {
        progress(`2-${width}-${width}-1 ${trained ? 'trained' : 'fresh weights'}`);
        const snap = await trainedSnapshot(worker, width, rand, trained);
        rows.push({ width, trained, ...measure(snap, rand) });
      }
    }
  } finally {
    await worker.close();
  }
  const worst = Math.max(...rows.map((r) => r.max));
  const section = `Integer network (\`qnet\`) against the float network it was quantised from, in the kernel's units
(scale ${SCALE}: one unit is one setting step of the synthetic subsystem, whose settings span 0..1000).
Each 2-w-w-1 network is trained by the real training worker on the synthetic subsystem's data
(best setting 200 + 0.5 f + 0.1 l); "fresh" networks keep their initial random weights. Errors are
|integer output − float output × ${SCALE}| over ${TEST_ROWS.toLocaleString('en-US')} random inputs (f, l uniform in 0..1000, the training
distribution). The integer output is rounded to whole units, so 0.5 of every error is that final rounding.
For scale, "fit" is how far the float network itself is from the true best setting.

${table(
  ['network', 'weights', 'median error', 'p99 error', 'worst error', 'float fit (mean abs)', 'weight shifts'],
  rows.map((r) => [`2-${r.width}-${r.width}-1`, r.trained ? 'trained' : 'fresh', fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.fitMae), r.shifts.join(', ')]),
)}

Bound (docs/kernel-module.md): the integer output stays within ${BOUND_UNITS} units of the float network's for
networks inside the limits whose activations do not saturate; measured worst over all rows: ${fmt(worst)}.`;
  report('qnet-accuracy', {
    title: 'Integer network export: accuracy against the float network',
    section,
    goals: [
      {
        metric: 'qnet worst error over 10,000 inputs, every width',
        goal: `≤ ${BOUND_UNITS} units`,
        measured: `${fmt(worst)} units`,
        met: worst <= BOUND_UNITS,
      },
    ],
    data: { machine: machine(), rows },
  });
});

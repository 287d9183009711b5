// The pure arithmetic of a training round: budget, annealing, batch count, standardisation.
import t from 'tap';
import { SampleRing } from '../../src/engine/data/ring.js';
import {
  ANNEAL_FACTOR,
  MIN_STEPS_AFTER_NEW_DATA,
  PASSES_AFTER_NEW_DATA,
  SAMPLES_PER_ROUND,
  batchesPerRound,
  normalisationOf,
  sampleBatch,
  standardise,
  stepBudget,
  stepSize,
} from '../../src/engine/train/round-plan.js';

t.test('new data earns a few passes over the buffer, never fewer than the floor', (t) => {
  t.equal(stepBudget(10, 32), MIN_STEPS_AFTER_NEW_DATA, 'a tiny buffer gets the floor');
  t.equal(stepBudget(32 * 1000, 32), PASSES_AFTER_NEW_DATA * 1000, 'a large one gets passes x batches');
  t.equal(stepBudget(32 * 1000 + 1, 32), PASSES_AFTER_NEW_DATA * 1001, 'a partial batch counts as one');
  t.end();
});

t.test('the last quarter of the budget takes a tenth of the step size', (t) => {
  t.equal(stepSize(0, 1000, 0.01), 0.01);
  t.equal(stepSize(749, 1000, 0.01), 0.01);
  t.equal(stepSize(750, 1000, 0.01), 0.01 * ANNEAL_FACTOR);
  t.ok(Number.isNaN(stepSize(0, 1000, NaN)), 'a NaN learning rate (the diverge fault) passes through');
  t.end();
});

t.test('a round sends as many batches as fit, at least one', (t) => {
  t.equal(batchesPerRound(32), Math.floor(SAMPLES_PER_ROUND / 32));
  t.equal(batchesPerRound(SAMPLES_PER_ROUND * 4), 1);
  t.end();
});

t.test('standardising uses the buffer statistics, inputs and outputs apart', (t) => {
  const ring = new SampleRing(8, 3);
  ring.pushRows(Float32Array.from([1, 10, 100, 3, 30, 300]));
  const shape = { inputs: 2, hidden: [4], outputs: 1 };
  const norm = normalisationOf(ring, shape);
  t.same([...norm.inMean], [2, 20]);
  t.same([...norm.outMean], [200]);
  t.equal(norm.inStd.length, 2);
  t.equal(norm.outStd.length, 1);
  const { xs, ys } = standardise(Float32Array.from([1, 10, 100, 3, 30, 300]), shape, norm);
  t.same(
    [...xs].map((v) => Math.sign(v)),
    [-1, -1, 1, 1],
    'below and above the mean',
  );
  t.same(
    [...ys].map((v) => Math.sign(v)),
    [-1, 1],
  );
  t.ok(Math.abs(xs[0] + xs[2]) < 1e-6, 'symmetric around the mean');
  t.end();
});

t.test('a sampled batch has the requested rows, split into inputs and targets', (t) => {
  const ring = new SampleRing(100, 2);
  for (let i = 0; i < 50; i++) ring.pushRows(Float32Array.from([i, 2 * i]));
  const { xs, ys, norm } = sampleBatch(ring, 64, { inputs: 1, hidden: [], outputs: 1 });
  t.equal(xs.length, 64);
  t.equal(ys.length, 64);
  for (let r = 0; r < 64; r++) {
    const x = xs[r] * norm.inStd[0] + norm.inMean[0];
    const y = ys[r] * norm.outStd[0] + norm.outMean[0];
    if (Math.abs(y - 2 * x) > 1e-3) return t.fail(`row ${r}: ${x} ${y} is not a stored sample`);
  }
  t.pass('every row is a stored sample, de-standardised back exactly');
  t.end();
});

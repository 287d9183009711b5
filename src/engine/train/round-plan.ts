// Owns the pure arithmetic of one training round: how many steps new data earns, when the step size is
// annealed, and the standardised batch the training process receives. No I/O, no state: unit-tested alone.
import type { SampleRing } from '../data/ring.js';
import type { NetworkShape, Normalisation } from '../infer/shape.js';

/** After the newest sample, keep training for this many passes over the buffer, then idle until data arrives. */
export const PASSES_AFTER_NEW_DATA = 20;
export const MIN_STEPS_AFTER_NEW_DATA = 500;
/** The share of that budget after which the learning rate is cut, and by how much. */
export const ANNEAL_FROM = 0.75;
export const ANNEAL_FACTOR = 0.1;
/** Samples one round trains on: large enough to amortise the round trip, small enough to publish weights often. */
export const SAMPLES_PER_ROUND = 1024;

/** Steps the newest data earns: a few passes over the buffer, and never fewer than a floor. */
export function stepBudget(buffered: number, batchSize: number): number {
  return Math.max(MIN_STEPS_AFTER_NEW_DATA, PASSES_AFTER_NEW_DATA * Math.ceil(buffered / batchSize));
}

/**
 * The step size for the next round. The last quarter of the budget takes smaller steps, so the weights
 * the model settles on are not the last jitter of full-size Adam steps (a tenth of the error, for the
 * same number of steps).
 */
export function stepSize(stepsSinceNewData: number, budget: number, learningRate: number): number {
  return stepsSinceNewData >= ANNEAL_FROM * budget ? learningRate * ANNEAL_FACTOR : learningRate;
}

/** Batches of `batchSize` one round sends: as many as fit SAMPLES_PER_ROUND, at least one. */
export function batchesPerRound(batchSize: number): number {
  return Math.max(1, Math.floor(SAMPLES_PER_ROUND / batchSize));
}

/** The buffer's column statistics, split into the inputs' and the outputs'. */
export function normalisationOf(ring: SampleRing, shape: NetworkShape): Normalisation {
  const stats = ring.columnStats();
  return {
    inMean: stats.mean.slice(0, shape.inputs),
    inStd: stats.std.slice(0, shape.inputs),
    outMean: stats.mean.slice(shape.inputs),
    outStd: stats.std.slice(shape.inputs),
  };
}

/** Standardise raw rows (inputs then outputs, `width` values each) into separate input and target arrays. */
export function standardise(raw: Float32Array, shape: NetworkShape, norm: Normalisation): { xs: Float32Array; ys: Float32Array } {
  const { inputs, outputs } = shape;
  const width = inputs + outputs;
  const rows = raw.length / width;
  const xs = new Float32Array(rows * inputs);
  const ys = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inputs; i++) xs[r * inputs + i] = (raw[r * width + i] - norm.inMean[i]) / norm.inStd[i];
    for (let j = 0; j < outputs; j++) ys[r * outputs + j] = (raw[r * width + inputs + j] - norm.outMean[j]) / norm.outStd[j];
  }
  return { xs, ys };
}

/** Draw `rows` samples from the buffer and standardise them with the buffer's own statistics. */
export function sampleBatch(ring: SampleRing, rows: number, shape: NetworkShape): { xs: Float32Array; ys: Float32Array; norm: Normalisation } {
  const norm = normalisationOf(ring, shape);
  const raw = new Float32Array(rows * (shape.inputs + shape.outputs));
  ring.sample(rows, raw);
  return { ...standardise(raw, shape, norm), norm };
}

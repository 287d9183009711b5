// Owns one model's network: its weights snapshot and generation, building it in the training worker,
// running training rounds off the FUSE thread and rolling back when a round diverges.
import { FastNetwork, layerSizes, layersFromWeights } from '../infer/network.js';
import { freshWeights } from './init-weights.js';
import type { SampleRing } from '../data/ring.js';
import type { TrainingWorker } from './trainer.js';
import type { Normalisation } from '../store/modelfile.js';

export interface NetworkShape {
  inputs: number;
  hidden: number[];
  outputs: number;
}

export interface RoundResult {
  steps: number;
  samples: number;
  loss: number;
  generation: number;
  seconds: number;
}

/** After the newest sample, keep training for this many passes over the buffer, then idle until data arrives. */
export const PASSES_AFTER_NEW_DATA = 20;
export const MIN_STEPS_AFTER_NEW_DATA = 500;
/** The share of that budget after which the learning rate is cut, and by how much. */
export const ANNEAL_FROM = 0.75;
export const ANNEAL_FACTOR = 0.1;
/** Samples one round trains on: large enough to amortise the round trip, small enough to publish weights often. */
const SAMPLES_PER_ROUND = 1024;

export class Learner {
  private shape: NetworkShape | undefined;
  private fast: FastNetwork | undefined;
  private version = 0; // bumped by every rebuild, so a round started before it is thrown away
  private builtIn: { version: number; epoch: number } | undefined;
  private building: Promise<void> | undefined;
  private running = false;
  private stepsSinceNewData = 0;
  generation = 0;
  trainSteps = 0;
  trainRounds = 0;
  lastLoss = NaN;
  rollbacks = 0;
  lastError = '';
  /** When the oldest sample not yet trained on by a published round arrived; 0 when none waits. */
  private waitingSinceMs = 0;

  constructor(
    private readonly model: string,
    private readonly worker: TrainingWorker,
    private readonly onRound: (result: RoundResult) => void,
    private readonly onDiverged: (loss: number) => void,
  ) {}

  get network(): FastNetwork | undefined {
    return this.fast;
  }

  get training(): boolean {
    return this.running;
  }

  /** Start over with fresh weights (init, reinit, a shape change); the model answers at once. */
  rebuild(shape: NetworkShape, weights?: Float32Array[], normalisation?: Normalisation): void {
    const sizes = layerSizes(shape.inputs, shape.hidden, shape.outputs);
    const w = weights ?? freshWeights(sizes);
    this.shape = { inputs: shape.inputs, hidden: [...shape.hidden], outputs: shape.outputs };
    this.version++;
    this.builtIn = undefined;
    this.building = undefined;
    this.stepsSinceNewData = 0;
    this.waitingSinceMs = 0;
    const inStats = normalisation ? { mean: normalisation.inMean, std: normalisation.inStd } : identityStats(shape.inputs);
    const outStats = normalisation ? { mean: normalisation.outMean, std: normalisation.outStd } : identityStats(shape.outputs);
    this.install(w, inStats, outStats);
  }

  /** Forget the network (rmdir, or a model that went back to `created`). */
  drop(): void {
    this.shape = undefined;
    this.fast = undefined;
    this.version++;
    void this.worker.dispose(this.model);
  }

  noteNewData(): void {
    this.stepsSinceNewData = 0;
    this.waitingSinceMs ||= Date.now();
  }

  /**
   * How long new data has waited without a round publishing weights (0 when nothing waits): a
   * worker that keeps failing or diverging shows up here, and the mode policy calls it stale.
   */
  staleSince(now: number): number {
    return this.shape && this.waitingSinceMs ? now - this.waitingSinceMs : 0;
  }

  private install(weights: Float32Array[], inStats: Stats, outStats: Stats): void {
    const shape = this.shape as NetworkShape;
    const layers = layersFromWeights(weights, layerSizes(shape.inputs, shape.hidden, shape.outputs));
    this.generation++;
    this.fast = new FastNetwork({
      generation: this.generation,
      layers,
      inMean: inStats.mean,
      inStd: inStats.std,
      outMean: outStats.mean,
      outStd: outStats.std,
    });
  }

  private ensureBuilt(learningRate: number): Promise<void> {
    const epoch = this.worker.epoch;
    if (this.builtIn && this.builtIn.version === this.version && this.builtIn.epoch === epoch) return Promise.resolve();
    if (this.building) return this.building;
    const version = this.version;
    const shape = this.shape as NetworkShape;
    const weights = this.fast!.snapshot.layers.flatMap((l) => [l.kernel, l.bias]);
    this.building = this.worker.build(this.model, { ...shape, learningRate }, weights).then(
      () => {
        if (version === this.version) this.builtIn = { version, epoch };
        this.building = undefined;
      },
      (err: Error) => {
        this.building = undefined;
        throw err;
      },
    );
    return this.building;
  }

  /** Start a training round if none is running and there is data and budget for it. */
  maybeTrain(ring: SampleRing, batchSize: number, learningRate: number): void {
    if (this.running || !this.shape || !this.fast || ring.size < batchSize) return;
    const budget = Math.max(MIN_STEPS_AFTER_NEW_DATA, PASSES_AFTER_NEW_DATA * Math.ceil(ring.size / batchSize));
    if (this.stepsSinceNewData >= budget) return;
    // The last quarter of the budget takes smaller steps, so the weights the model settles on are not
    // the last jitter of full-size Adam steps (a tenth of the error, for the same number of steps).
    const stepSize = this.stepsSinceNewData >= ANNEAL_FROM * budget ? learningRate * ANNEAL_FACTOR : learningRate;
    this.running = true;
    const version = this.version;
    const began = performance.now();
    const batches = Math.max(1, Math.floor(SAMPLES_PER_ROUND / batchSize));
    const { inputs, outputs } = this.shape;
    const stats = ring.columnStats();
    const inStats = { mean: stats.mean.slice(0, inputs), std: stats.std.slice(0, inputs) };
    const outStats = { mean: stats.mean.slice(inputs), std: stats.std.slice(inputs) };
    const { xs, ys } = normalisedBatch(ring, batches * batchSize, inputs, outputs, inStats, outStats);
    this.ensureBuilt(learningRate)
      .then(() => this.worker.train(this.model, xs, ys, batchSize, batches, stepSize))
      .then((r) => {
        if (version !== this.version) return; // rebuilt meanwhile: these weights belong to a network that is gone
        this.trainSteps += r.steps;
        this.stepsSinceNewData += r.steps;
        if (r.diverged) {
          this.rollbacks++;
          this.lastLoss = r.loss;
          this.onDiverged(r.loss);
          return;
        }
        this.trainRounds++;
        this.waitingSinceMs = 0;
        this.lastLoss = r.loss;
        this.install(r.weights, inStats, outStats);
        this.onRound({ steps: r.steps, samples: r.steps * batchSize, loss: r.loss, generation: this.generation, seconds: (performance.now() - began) / 1000 });
      })
      .catch((err: Error) => {
        this.lastError = err.message;
      })
      .finally(() => {
        this.running = false;
        // Chain the next round from here, not from a timer: training continues exactly while there is budget.
        setImmediate(() => this.maybeTrainAgain?.());
      });
  }

  /** Set by the owner: how to start the next round with current settings. */
  maybeTrainAgain: (() => void) | undefined;
}

interface Stats {
  mean: Float32Array;
  std: Float32Array;
}

function identityStats(width: number): Stats {
  return { mean: new Float32Array(width), std: new Float32Array(width).fill(1) };
}

function normalisedBatch(ring: SampleRing, rows: number, inputs: number, outputs: number, inStats: Stats, outStats: Stats) {
  const width = inputs + outputs;
  const raw = new Float32Array(rows * width);
  ring.sample(rows, raw);
  const xs = new Float32Array(rows * inputs);
  const ys = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inputs; i++) xs[r * inputs + i] = (raw[r * width + i] - inStats.mean[i]) / inStats.std[i];
    for (let j = 0; j < outputs; j++) ys[r * outputs + j] = (raw[r * width + inputs + j] - outStats.mean[j]) / outStats.std[j];
  }
  return { xs, ys };
}

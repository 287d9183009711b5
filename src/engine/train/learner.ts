// Owns one model's network: its weights snapshot and generation, building it in the training process,
// running training rounds off the FUSE thread and rolling back when a round diverges. It is driven from
// one side: everything it needs from its owner comes through the TrainingFeed given at construction.
import { FastNetwork, layersFromWeights } from '../infer/network.js';
import { identityNormalisation, layerSizes, type NetworkShape, type Normalisation } from '../infer/shape.js';
import { freshWeights } from './init-weights.js';
import type { SampleRing } from '../data/ring.js';
import type { TrainingWorker } from './trainer.js';
import { batchesPerRound, sampleBatch, stepBudget, stepSize } from './round-plan.js';

export type { NetworkShape } from '../infer/shape.js';

export interface RoundResult {
  steps: number;
  samples: number;
  loss: number;
  generation: number;
  seconds: number;
}

/** What the learner reads from its owner when a round starts, and tells it when one ends. */
export interface TrainingFeed {
  /** Whether the model trains at all now (started or running). */
  active(): boolean;
  buffer(): SampleRing;
  batchSize(): number;
  learningRate(): number;
  /** `trainedInputs`: the round's input rows, standardised with the network's own input normalisation. */
  roundPublished(result: RoundResult, network: FastNetwork, trainedInputs: Float32Array): void;
  roundDiverged(loss: number): void;
}

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
    private readonly feed: TrainingFeed,
  ) {}

  get network(): FastNetwork | undefined {
    return this.fast;
  }

  get training(): boolean {
    return this.running;
  }

  /** Start over with fresh (or given) weights: init, reinit, a shape change, load; the model answers at once. */
  rebuild(shape: NetworkShape, weights?: Float32Array[], normalisation?: Normalisation): void {
    const w = weights ?? freshWeights(layerSizes(shape.inputs, shape.hidden, shape.outputs));
    this.shape = { inputs: shape.inputs, hidden: [...shape.hidden], outputs: shape.outputs };
    this.version++;
    this.builtIn = undefined;
    this.building = undefined;
    this.stepsSinceNewData = 0;
    this.waitingSinceMs = 0;
    this.install(w, normalisation ?? identityNormalisation(shape.inputs, shape.outputs));
  }

  /** Forget the network (rmdir, or server shutdown). */
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
   * Training may run again after a pause (`stop`, `training_pause=on`): data that waited meanwhile
   * was not waiting on a failing worker, so staleness counts from now.
   */
  resumed(): void {
    if (this.waitingSinceMs) this.waitingSinceMs = Date.now();
  }

  /**
   * How long new data has waited without a round publishing weights (0 when nothing waits): a
   * worker that keeps failing or diverging shows up here, and the mode policy calls it stale.
   */
  staleSince(now: number): number {
    return this.shape && this.waitingSinceMs ? now - this.waitingSinceMs : 0;
  }

  private install(weights: Float32Array[], norm: Normalisation): void {
    const shape = this.shape as NetworkShape;
    const layers = layersFromWeights(weights, layerSizes(shape.inputs, shape.hidden, shape.outputs));
    this.generation++;
    this.fast = new FastNetwork({ generation: this.generation, layers, ...norm });
  }

  private ensureBuilt(learningRate: number): Promise<void> {
    const epoch = this.worker.epoch;
    if (this.builtIn && this.builtIn.version === this.version && this.builtIn.epoch === epoch) return Promise.resolve();
    if (this.building) return this.building;
    const version = this.version;
    const shape = this.shape as NetworkShape;
    const weights = (this.fast as FastNetwork).snapshot.layers.flatMap((l) => [l.kernel, l.bias]);
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

  /** Start a training round if the model is active, none is running, and there is data and budget for it. */
  poke(): void {
    if (this.running || !this.shape || !this.fast || !this.feed.active()) return;
    const ring = this.feed.buffer();
    const batchSize = this.feed.batchSize();
    if (ring.size < batchSize) return;
    const budget = stepBudget(ring.size, batchSize);
    if (this.stepsSinceNewData >= budget) return;
    const learningRate = this.feed.learningRate();
    const step = stepSize(this.stepsSinceNewData, budget, learningRate);
    this.running = true;
    const version = this.version;
    const began = performance.now();
    const batches = batchesPerRound(batchSize);
    const { xs, ys, norm } = sampleBatch(ring, batches * batchSize, this.shape);
    this.ensureBuilt(learningRate)
      .then(() => this.worker.train(this.model, xs, ys, batchSize, batches, step))
      .then((r) => {
        if (version !== this.version) return; // rebuilt meanwhile: these weights belong to a network that is gone
        this.trainSteps += r.steps;
        this.stepsSinceNewData += r.steps;
        if (r.diverged) {
          this.rollbacks++;
          this.lastLoss = r.loss;
          this.feed.roundDiverged(r.loss);
          return;
        }
        this.trainRounds++;
        this.waitingSinceMs = 0;
        this.lastLoss = r.loss;
        this.install(r.weights, norm);
        const result = { steps: r.steps, samples: r.steps * batchSize, loss: r.loss, generation: this.generation, seconds: (performance.now() - began) / 1000 };
        this.feed.roundPublished(result, this.fast as FastNetwork, xs);
      })
      .catch((err: Error) => {
        this.lastError = err.message;
      })
      .finally(() => {
        this.running = false;
        // Chain the next round from here, not from a timer: training continues exactly while there is budget.
        setImmediate(() => this.poke());
      });
  }
}

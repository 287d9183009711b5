// Owns novelty: whether the inputs arriving now are like those the model was last trained on, and when
// enough are not that the policy should narrow the model's exposure before evidence can judge it there.
// Plain data and arithmetic, no clock: the engine hands it the trained inputs and each new sample's inputs.

export interface NoveltyThresholds {
  /** Distance, in the network's own standardised units (standard deviations), that counts as near. */
  radius: number;
  /** A sample is familiar when at least this many trained samples lie within the radius of it. */
  minNeighbours: number;
  /** The newest samples judged together. */
  window: number;
  /** Unfamiliar samples in the window that begin an episode; it ends at half of this or fewer. */
  trigger: number;
}

/** docs/modes.md, "Unfamiliar inputs", gives the reasoning for each number. */
export const DEFAULT_NOVELTY: Readonly<NoveltyThresholds> = Object.freeze({ radius: 0.5, minNeighbours: 4, window: 32, trigger: 8 });

/** The inputs of one training round, standardised as the network standardises its inputs. */
export interface TrainedInputs {
  /** Row-major, `inputs` values per row, already standardised with inMean and inStd. */
  rows: Float32Array;
  inputs: number;
  inMean: Float32Array;
  inStd: Float32Array;
}

/** What an active episode rests on; the input named is where the newest unfamiliar sample lay furthest out. */
export interface NoveltyReport {
  unfamiliar: number;
  window: number;
  /** 0-based index of the input furthest from the nearest trained sample. */
  input: number;
  value: number;
  trainedMin: number;
  trainedMax: number;
}

export type NoveltyChange = 'began' | 'ended' | null;

export class NoveltyMonitor {
  private trained: TrainedInputs | undefined;
  /** A newer round that waits while unfamiliar samples are in the window (see train). */
  private held: TrainedInputs | undefined;
  private zMin = new Float32Array(0);
  private zMax = new Float32Array(0);
  private readonly recent: Uint8Array;
  private next = 0;
  private unfamiliar = 0;
  private active = false;
  private worst = { input: 0, value: 0 };
  /** Episodes begun so far (a stats counter). */
  episodes = 0;

  constructor(private readonly t: NoveltyThresholds = DEFAULT_NOVELTY) {
    this.recent = new Uint8Array(t.window);
  }

  /**
   * Judge from now on against these trained inputs (the newest published round's). While unfamiliar samples are
   * in the window and no episode is on, the inputs judged against stay those that found them unfamiliar, and the
   * newest round waits (`held`): a round samples the whole buffer, so the round after the first few samples of a
   * new situation holds them, and without the hold the next ones would find their neighbours there and never add
   * up to an episode (round 12 of the readahead use case: a new phase type peaked at 4-6 of the 8 needed, its
   * samples arriving 5 at a time). The hold ends when the window is free of them again or an episode begins.
   */
  train(trained: TrainedInputs): void {
    if (this.trained && !this.active && this.unfamiliar > 0) {
      this.held = trained;
      return;
    }
    this.use(trained);
  }

  private use(trained: TrainedInputs): void {
    this.held = undefined;
    const { rows, inputs } = trained;
    this.trained = trained;
    this.zMin = new Float32Array(inputs).fill(Infinity);
    this.zMax = new Float32Array(inputs).fill(-Infinity);
    for (let r = 0; r < rows.length; r += inputs) {
      for (let i = 0; i < inputs; i++) {
        this.zMin[i] = Math.min(this.zMin[i], rows[r + i]);
        this.zMax[i] = Math.max(this.zMax[i], rows[r + i]);
      }
    }
  }

  /** Forget the trained inputs and the window (the network was rebuilt or reshaped). */
  forget(): void {
    this.trained = undefined;
    this.held = undefined;
    this.recent.fill(0);
    this.unfamiliar = 0;
    this.active = false;
  }

  /**
   * Judge new samples (row-major, `width` values each, the first `inputs` of them inputs, raw units).
   * Nothing is judged before a round has been trained, or when the input count differs from it.
   * `context`: the inputs that describe the situation (0-based), the only ones judged; the others (a
   * candidate the subsystem asks about, say) may take values the model has not tried there without the
   * situation being new. All inputs when absent.
   */
  observe(samples: Float32Array, width: number, inputs: number, context?: readonly number[]): NoveltyChange {
    const trained = this.trained;
    if (!trained || trained.inputs !== inputs) return null;
    const dims = context?.filter((i) => i < inputs) ?? Array.from({ length: inputs }, (_, i) => i);
    if (dims.length === 0) return null;
    const z = new Float32Array(inputs);
    for (let s = 0; s + width <= samples.length; s += width) {
      for (const i of dims) z[i] = (samples[s + i] - trained.inMean[i]) / trained.inStd[i];
      const strange = this.isUnfamiliar(z, trained, dims) ? 1 : 0;
      if (strange) this.noteWorst(z, samples.subarray(s, s + inputs), trained, dims);
      this.unfamiliar += strange - this.recent[this.next];
      this.recent[this.next] = strange;
      this.next = (this.next + 1) % this.t.window;
    }
    let change: NoveltyChange = null;
    if (!this.active && this.unfamiliar >= this.t.trigger) {
      this.active = true;
      this.episodes++;
      change = 'began';
    } else if (this.active && this.unfamiliar <= this.t.trigger / 2) {
      this.active = false;
      change = 'ended';
    }
    // An episode judges against the newest rounds, so that training on the new inputs can end it; the round that
    // found it stays until its report has been read (the next judgement or round).
    if (this.held && ((this.active && change !== 'began') || this.unfamiliar === 0)) this.use(this.held);
    return change;
  }

  /** The episode in force, or undefined when the inputs are familiar. */
  report(): NoveltyReport | undefined {
    if (!this.active || !this.trained) return undefined;
    return { unfamiliar: this.unfamiliar, window: this.t.window, ...this.worst, ...this.trainedRange(this.worst.input) };
  }

  /** Whether there are trained inputs to judge against (none before the first round, or after a rebuild). */
  get judging(): boolean {
    return this.trained !== undefined;
  }

  /** Unfamiliar samples among the newest `window` judged. */
  get unfamiliarCount(): number {
    return this.unfamiliar;
  }

  private isUnfamiliar(z: Float32Array, trained: TrainedInputs, dims: readonly number[]): boolean {
    const r2 = this.t.radius * this.t.radius;
    const { rows, inputs } = trained;
    let near = 0;
    for (let r = 0; r < rows.length; r += inputs) {
      let d2 = 0;
      for (let k = 0; k < dims.length && d2 <= r2; k++) d2 += (z[dims[k]] - rows[r + dims[k]]) ** 2;
      if (d2 <= r2 && ++near >= this.t.minNeighbours) return false;
    }
    return true;
  }

  /** Remember which input lies furthest from the nearest trained sample, for the reason a decision gives. */
  private noteWorst(z: Float32Array, raw: Float32Array, trained: TrainedInputs, dims: readonly number[]): void {
    const { rows, inputs } = trained;
    let best = Infinity;
    let nearest = 0;
    for (let r = 0; r < rows.length; r += inputs) {
      let d2 = 0;
      for (const i of dims) d2 += (z[i] - rows[r + i]) ** 2;
      if (d2 < best) [best, nearest] = [d2, r];
    }
    let input = dims[0];
    for (const i of dims) {
      if (Math.abs(z[i] - rows[nearest + i]) > Math.abs(z[input] - rows[nearest + input])) input = i;
    }
    this.worst = { input, value: raw[input] };
  }

  private trainedRange(i: number): { trainedMin: number; trainedMax: number } {
    const { inMean, inStd } = this.trained as TrainedInputs;
    return { trainedMin: this.zMin[i] * inStd[i] + inMean[i], trainedMax: this.zMax[i] * inStd[i] + inMean[i] };
  }
}

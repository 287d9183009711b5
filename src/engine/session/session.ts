// Owns one model session: its lifecycle state and verbs, staged and committed config, training buffer,
// mode, recommendations, feedback and counters. Every method answers from memory; slow work is the learner's.
import { fail, MlError } from '../../errors.js';
import { LIMITS } from '../../limits.js';
import type { Bus } from '../../events.js';
import { type Fault, type ModelState, type Verb, MODE_POLICY_AUTO } from '../../protocol.js';
import { DEFAULT_CONFIG, type ModelConfig, type StagedConfig, SHAPE_KEYS, changedKeys, parseConfigText, validateConfig } from './config.js';
import { DatasetDecoder, parseFeedback } from '../data/codec.js';
import { EventLog } from './eventlog.js';
import { Learner } from '../train/learner.js';
import { SampleRing } from '../data/ring.js';
import type { TrainingWorker } from '../train/trainer.js';
import { ModePolicy, STALE_AFTER_MS } from './mode-policy.js';
import { type Mode, CORRECTION_REPEAT, isMode } from '../../modes/index.js';
import type { ModelStore } from '../store/store.js';
import type { Snapshot } from '../infer/network.js';
import { compactLog, loadIntoSession, restoreSession, saveSession, sessionMeta } from '../store/persistence.js';

/** Queries one recommendation write may carry. */
export const MAX_QUERIES_PER_WRITE = LIMITS.transactionQueries.value;

export class Session {
  state: ModelState = 'created';
  config: ModelConfig = { ...DEFAULT_CONFIG, hidden: [...DEFAULT_CONFIG.hidden] };
  staged: StagedConfig = {};
  ring: SampleRing;
  readonly learner: Learner;
  readonly events = new EventLog();
  readonly modes: ModePolicy;
  fault: Fault = 'none';
  lastVerb = { verb: '', result: 'none' };
  latestRecommendation: string | undefined;
  /** The inputs of the newest query, which feedback's corrected outputs pair with. */
  lastQuery: Float32Array | undefined;
  readonly counters = {
    samples_total: 0,
    samples_dropped: 0,
    samples_rejected: 0,
    writes_rejected: 0,
    inferences: 0,
    inferences_in_emergency: 0,
    feedback_ml: 0,
    feedback_default: 0,
    feedback_critical: 0,
    feedback_fallback: 0,
    kernel_fallbacks: 0,
    samples_corrected: 0,
    config_commits: 0,
    samples_restored: 0,
  };
  /** The weights as of the last `save`: what the model/ directory exports, as one consistent pair. */
  exported: Snapshot | undefined;

  constructor(
    readonly name: string,
    private readonly bus: Bus,
    worker: TrainingWorker,
    /** Present with --state-dir: where config, mode, weights and the dataset log persist. */
    readonly store?: ModelStore,
    /** Where `load` looks for a LayersModel written elsewhere. */
    readonly importDir?: string,
  ) {
    this.ring = new SampleRing(this.config.buffer_capacity, this.config.inputs + this.config.outputs);
    this.learner = new Learner(
      name,
      worker,
      (r) => {
        this.bus.emit('training_round', { model: name, ...r });
        const net = this.learner.network;
        if (net) this.store?.weightsChanged(name, net.snapshot);
      },
      (loss) => {
        this.record('training_diverged', `loss=${loss} rolled back to generation ${this.learner.generation} (rollbacks=${this.learner.rollbacks})`);
        this.bus.emit('training_diverged', { model: name, loss, rollbacks: this.learner.rollbacks });
        this.modes.noteDivergence(Date.now());
      },
    );
    this.learner.maybeTrainAgain = () => this.pumpTraining();
    this.modes = new ModePolicy(
      (from, to, cause, line) => {
        this.record('mode', line.replace(/^mode /, ''));
        this.bus.emit('mode_changed', { model: name, from, to, reason: cause });
        this.persistMeta();
      },
      () => this.config,
      (now) => (this.state === 'started' || this.state === 'running') && this.learner.staleSince(now) > STALE_AFTER_MS,
    );
    this.record('created', `state=created mode=${this.modes.mode}`);
  }

  /** Add a line to the events file and the server log. */
  record(kind: string, details: string): void {
    this.events.add(kind, details);
  }

  /** Report bad input: an event line, a bus event, and the MlError to throw. */
  reject(file: string, err: unknown): never {
    const reason = err instanceof Error ? err.message : String(err);
    this.record('rejected', `file=${file} ${reason}`);
    this.bus.emit('input_rejected', { model: this.name, file, reason });
    throw err instanceof MlError ? err : new MlError('EINVAL', reason);
  }

  /** Run a parser or check; if it throws, report the input as rejected (event, log) and rethrow. */
  validated<T>(file: string, check: () => T): T {
    try {
      return check();
    } catch (err) {
      return this.reject(file, err);
    }
  }

  // ---- control verbs -------------------------------------------------------------------------

  /**
   * Run one verb; throws EINVAL (see docs/protocol.md) and leaves everything as it was. Only `save`
   * and `load` touch the disk; they return a promise and the write is answered when it settles.
   */
  runVerb(verb: Verb): void | Promise<void> {
    const before = this.state;
    const succeeded = () => {
      this.lastVerb = { verb, result: 'ok' };
      this.record('verb', `${verb} ok state ${before} -> ${this.state}`);
      this.bus.emit('verb', { model: this.name, verb, ok: true, state: this.state, detail: '' });
      this.persistMeta();
    };
    const failed = (err: unknown): never => {
      const code = err instanceof MlError ? err.code : 'EIO';
      const message = err instanceof Error ? err.message : String(err);
      this.lastVerb = { verb, result: `${code} ${message}` };
      this.record('verb', `${verb} failed ${code}: ${message}`);
      this.bus.emit('verb', { model: this.name, verb, ok: false, state: this.state, detail: message });
      throw err;
    };
    let pending: void | Promise<void>;
    try {
      pending = this.applyVerb(verb);
    } catch (err) {
      return failed(err);
    }
    if (pending instanceof Promise) return pending.then(succeeded, failed);
    succeeded();
  }

  private requireState(verb: string, allowed: ModelState[]): void {
    if (this.state === 'shutting_down') fail('EBUSY', `${verb}: model is shutting down`);
    if (!allowed.includes(this.state)) fail('EINVAL', `${verb}: not allowed in state ${this.state} (allowed: ${allowed.join(', ')})`);
  }

  private applyVerb(verb: Verb): void | Promise<void> {
    switch (verb) {
      case 'init':
        this.requireState(verb, ['created', 'initialized', 'stopped']);
        this.learner.rebuild(this.config);
        this.state = 'initialized';
        return;
      case 'reinit':
        this.requireState(verb, ['initialized', 'started', 'running', 'stopped']);
        this.learner.rebuild(this.config);
        this.pumpTraining();
        return;
      case 'start':
        this.requireState(verb, ['initialized', 'started', 'running', 'stopped']);
        if (this.state === 'initialized' || this.state === 'stopped') this.state = 'started';
        this.pumpTraining();
        return;
      case 'stop':
        this.requireState(verb, ['started', 'running', 'stopped']);
        this.state = 'stopped';
        return;
      case 'prepare_dataset':
        this.requireState(verb, ['started', 'running']);
        this.state = 'running';
        return;
      case 'discard_dataset':
        this.requireState(verb, ['started', 'running']);
        this.dropBuffered('discard_dataset');
        this.state = 'started';
        return;
      case 'commit':
        this.requireState(verb, ['created', 'initialized', 'started', 'running', 'stopped']);
        this.commit();
        return;
      case 'reset':
        this.requireState(verb, ['created', 'initialized', 'started', 'running', 'stopped']);
        this.dropBuffered('reset');
        return;
      case 'save':
        return saveSession(this);
      case 'load':
        this.requireState(verb, ['created', 'initialized', 'started', 'running', 'stopped']);
        return loadIntoSession(this);
    }
  }

  /** Queue meta.json; repeated calls while one write is queued coalesce. */
  persistMeta(): void {
    void this.store?.saveMeta(() => sessionMeta(this));
  }

  /** Bring back what the store holds (with --state-dir, at server start). */
  restore(): Promise<void> {
    return restoreSession(this);
  }

  private dropBuffered(why: string): void {
    const n = this.ring.size;
    this.ring.clear();
    compactLog(this);
    this.record('buffer_cleared', `by=${why} samples=${n}`);
  }

  // ---- configuration -------------------------------------------------------------------------

  /** Stage a write to `config`; nothing is staged if any line is bad. */
  stageConfig(text: string): void {
    if (this.state === 'shutting_down') fail('EBUSY', 'config: model is shutting down');
    const parsed = this.validated('config', () => parseConfigText(text));
    this.staged = { ...this.staged, ...parsed };
    this.record('config_staged', Object.keys(parsed).join(','));
  }

  /** Apply the staged config as one step: validate the whole result first, then swap it in. */
  private commit(): void {
    if (Object.keys(this.staged).length === 0) return;
    const next: ModelConfig = { ...this.config, ...this.staged };
    this.validated('config', () => validateConfig(next));
    const changed = changedKeys(this.config, next);
    const widthChanged = next.inputs !== this.config.inputs || next.outputs !== this.config.outputs;
    const before = this.config;
    this.config = next;
    this.staged = {};
    this.counters.config_commits++;
    if (widthChanged) {
      this.counters.samples_dropped += this.ring.size;
      this.ring = new SampleRing(next.buffer_capacity, next.inputs + next.outputs);
      this.lastQuery = undefined;
      this.latestRecommendation = undefined;
      compactLog(this);
    } else if (next.buffer_capacity !== before.buffer_capacity) {
      this.counters.samples_dropped += this.ring.resize(next.buffer_capacity);
    }
    if (this.store) this.store.log.durability = next.durability;
    if (changed.some((k) => SHAPE_KEYS.includes(k)) && this.state !== 'created') this.learner.rebuild(next);
    this.record('config_committed', changed.length ? changed.map((k) => `${k}=${String(next[k])}`).join(' ') : 'no change');
    this.bus.emit('config_committed', { model: this.name, changed });
    this.pumpTraining();
  }

  // ---- data ----------------------------------------------------------------------------------

  newDatasetDecoder(): DatasetDecoder {
    const reject = this.config.overflow === 'reject';
    const limit = { rows: reject ? this.ring.capacity - this.ring.size : this.ring.capacity, excess: reject ? ('reject' as const) : ('drop' as const) };
    return new DatasetDecoder(this.config.inputs, this.config.outputs, this.config.scale, limit);
  }

  /**
   * Store decoded samples (a whole batch from one closed file) in the training buffer, and in the
   * dataset log with --state-dir. With durability=strict the promise settles once they are on disk.
   */
  ingest(rows: Float32Array, bytes: number, droppedInBatch = 0): void | Promise<void> {
    if (this.state === 'shutting_down') fail('ENOENT', 'dataset: model was removed');
    const width = this.config.inputs + this.config.outputs;
    if (rows.length % width !== 0) fail('EINVAL', 'dataset: batch decoded for another config; write again');
    const accepted = rows.length / width;
    if (accepted === 0) return;
    if (this.config.overflow === 'reject' && this.ring.size + accepted > this.ring.capacity) {
      this.rejectDataset(new MlError('ENOSPC', `dataset: buffer full (overflow=reject): ${this.ring.capacity - this.ring.size} free, batch of ${accepted}; reset or discard_dataset`), accepted - 1);
    }
    const dropped = this.ring.pushRows(rows) + droppedInBatch;
    this.counters.samples_total += accepted + droppedInBatch;
    this.counters.samples_dropped += dropped;
    this.learner.noteNewData();
    this.bus.emit('samples_ingested', { model: this.name, accepted: accepted + droppedInBatch, dropped, bytes, buffered: this.ring.size });
    this.pumpTraining();
    const store = this.store;
    if (!store) return;
    const durable = store.log.append(rows, width);
    // The log keeps at most a few buffers' worth: past that, rewrite it as what the buffer holds,
    // which includes this batch (the rewrite takes over its acknowledgement).
    if (store.log.bytes > Math.max(4 << 20, 3 * this.ring.bytes)) compactLog(this);
    return durable.catch((err: Error) => {
      this.record('store_error', `dataset log: samples kept in memory but not written to disk: ${err.message}`);
      return fail('EIO', `dataset: samples kept in memory but not written to disk: ${err.message}`);
    });
  }

  /** Count a rejected dataset batch and say why. */
  rejectDataset(err: unknown, samplesDecoded: number): never {
    this.counters.samples_rejected += samplesDecoded + 1;
    this.counters.writes_rejected++;
    this.reject('dataset', err);
  }

  pumpTraining(): void {
    if (this.state !== 'started' && this.state !== 'running') return;
    // The test-only diverge fault trains with a NaN step size, which poisons the weights for real.
    const learningRate = this.fault === 'diverge' ? NaN : this.config.learning_rate;
    this.learner.maybeTrain(this.ring, this.config.batch_size, learningRate);
  }

  // ---- recommendations and feedback ----------------------------------------------------------

  /** Answer queries (rows of inputs, already divided by scale) from the current weights snapshot. */
  recommend(queries: Float32Array): Float32Array {
    const net = this.learner.network;
    if (!net) fail('ENODATA', `recommendation: model is ${this.state}, it has no network yet (write init to control)`);
    const rows = queries.length / this.config.inputs;
    const began = performance.now();
    const out = new Float32Array(rows * this.config.outputs);
    net.predict(queries, rows, out);
    this.counters.inferences += rows;
    if (this.modes.mode === 'emergency') this.counters.inferences_in_emergency += rows;
    this.lastQuery = queries.slice((rows - 1) * this.config.inputs);
    this.bus.emit('inference', { model: this.name, count: rows, seconds: (performance.now() - began) / 1000 });
    return out;
  }

  /** Apply a write to `feedback`: evidence for the mode policy, and corrected outputs as training samples. */
  feedback(text: string): void | Promise<void> {
    if (this.state === 'shutting_down') fail('ENOENT', 'feedback: model was removed');
    const lines = this.validated('feedback', () => {
      const parsed = parseFeedback(text, this.config.outputs, this.config.scale);
      if (parsed.some((l) => l.corrected) && !this.lastQuery) fail('EINVAL', 'feedback: corrected outputs need a recommendation query to pair with');
      return parsed;
    });
    const now = Date.now();
    const corrected: Float32Array[] = [];
    for (const line of lines) {
      this.counters[`feedback_${line.source}`]++;
      if (line.source === 'fallback') {
        this.counters.kernel_fallbacks += line.efficiency;
        this.record('kernel_fallback', `count=${line.efficiency} total=${this.counters.kernel_fallbacks}`);
      }
      else this.modes.noteFeedback(line.source, line.efficiency, now);
      // A correction is stored CORRECTION_REPEAT times: the weight docs/modes.md argues for.
      if (line.corrected) for (let i = 0; i < CORRECTION_REPEAT; i++) corrected.push(Float32Array.from([...(this.lastQuery as Float32Array), ...line.corrected]));
      this.bus.emit('feedback', { model: this.name, source: line.source, efficiency: line.efficiency, corrected: !!line.corrected });
    }
    if (corrected.length) {
      const rows = new Float32Array(corrected.length * (this.config.inputs + this.config.outputs));
      corrected.forEach((row, i) => rows.set(row, i * row.length));
      this.counters.samples_corrected += corrected.length / CORRECTION_REPEAT;
      return this.ingest(rows, Buffer.byteLength(text));
    }
  }

  // ---- mode ----------------------------------------------------------------------------------

  setMode(word: string): void {
    if (this.state === 'shutting_down') fail('EBUSY', 'mode: model is shutting down');
    if (word === MODE_POLICY_AUTO) this.modes.setAuto(Date.now());
    else if (isMode(word)) this.modes.pin(word as Mode, Date.now());
    else this.reject('mode', new MlError('EINVAL', `mode: "${word.slice(0, 32)}" is not one of emergency learning collaboration recommendation auto`));
    this.persistMeta();
  }

  // ---- teardown ------------------------------------------------------------------------------

  /** rmdir: stop everything; with --state-dir the model's files are removed too. */
  destroy(): Promise<void> {
    this.state = 'shutting_down';
    this.learner.drop();
    this.record('destroyed', 'state=shutting_down');
    return this.store ? this.store.destroy() : Promise.resolve();
  }
}

// Owns one model session and every field of it: lifecycle state and verbs, staged and committed config,
// training buffer, mode, counters and events. Nothing outside writes its state: the fs layer hands it the
// bytes written and gets text or errors back; the store gets plain data out (meta) and gives it back in
// (restore). Every method answers from memory; slow work is the learner's or the store's.
import { MlError, fail } from '../../errors.js';
import type { Bus } from '../../events.js';
import { type ModelState, type Verb, FAULTS, MODE_POLICY_AUTO, VERBS, keywordFromWrite } from '../../protocol.js';
import { type Mode, DEFAULT_NOVELTY, isMode } from '../../modes/index.js';
import type { SampleRing } from '../data/ring.js';
import type { Snapshot } from '../infer/network.js';
import { readImport } from '../store/import.js';
import type { Meta, ModelStore, Recovery } from '../store/store.js';
import { Learner } from '../train/learner.js';
import type { TrainingWorker } from '../train/trainer.js';
import type { DatasetBatch } from './batch.js';
import { DEFAULT_CONFIG, type ModelConfig, type StagedConfig, SHAPE_KEYS, changedKeys, parseConfigText, validateConfig } from './config.js';
import type { EventLog } from './eventlog.js';
import { Intake } from './intake.js';
import { ModePolicy, STALE_AFTER_MS } from './mode-policy.js';
import { Recommender } from './recommender.js';
import { Reporter } from './reporter.js';
import { requireAllowed, trainsIn } from './verbs.js';
import { applyQnetFault } from './faults.js';
import { QnetCache } from '../infer/qnet-cache.js';

export class Session {
  private _state: ModelState = 'created';
  private _config: ModelConfig = { ...DEFAULT_CONFIG, hidden: [...DEFAULT_CONFIG.hidden] };
  private _staged: StagedConfig = {};
  private _exported: Snapshot | undefined;
  private _lastVerb = { verb: '', result: 'none' };
  readonly learner: Learner;
  private readonly report: Reporter;
  /** The `qnet` export, made once per weights generation. */
  private readonly qnetCache = new QnetCache();
  readonly modes: ModePolicy;
  private readonly recommender: Recommender;
  private readonly intake: Intake;
  private readonly counts = { config_commits: 0 };

  constructor(
    readonly name: string,
    private readonly bus: Bus,
    worker: TrainingWorker,
    /** Present with --state-dir: where config, mode, weights and the dataset log persist. */
    readonly store?: ModelStore,
    /** Where `load` looks for a LayersModel written elsewhere. */
    readonly importDir?: string,
  ) {
    this.report = new Reporter(name, bus);
    if (store) store.onTrouble = (message) => this.report.record('store_error', message);
    this.intake = new Intake({
      name,
      bus,
      store,
      config: () => this._config,
      report: this.report,
      newData: () => {
        this.noteNewInputs();
        this.learner.noteNewData();
        this.learner.poke();
      },
    });
    this.learner = new Learner(name, worker, {
      active: () => this.trains(),
      buffer: () => this.intake.buffer,
      batchSize: () => this._config.batch_size,
      // The test-only diverge fault trains with a NaN step size, which poisons the weights for real.
      learningRate: () => (this.recommender.fault === 'diverge' ? NaN : this._config.learning_rate),
      roundPublished: (r, net, trainedInputs) => {
        const { inMean, inStd } = net.snapshot;
        this.modes.noteTrained({ rows: trainedInputs, inputs: inMean.length, inMean, inStd });
        this.bus.emit('training_round', { model: name, ...r });
        this.store?.weightsChanged(name, net.snapshot);
      },
      roundDiverged: (loss) => {
        this.record('training_diverged', `loss=${loss} rolled back to generation ${this.learner.generation} (rollbacks=${this.learner.rollbacks})`);
        this.bus.emit('training_diverged', { model: name, loss, rollbacks: this.learner.rollbacks });
        this.modes.noteDivergence(Date.now());
      },
    });
    this.modes = new ModePolicy(
      (from, to, cause, line) => {
        this.record('mode', line.replace(/^mode /, ''));
        this.bus.emit('mode_changed', { model: name, from, to, reason: cause });
        this.persistMeta();
      },
      () => this._config,
      (now) => this.learner.staleSince(now) > STALE_AFTER_MS && this.trains(),
      (line) => this.record('novelty', line),
    );
    this.recommender = new Recommender({
      name,
      bus,
      config: () => this._config,
      network: () => this.learner.network,
      mode: () => this.modes.mode,
      report: this.report,
      evidence: (source, efficiency, now) => this.modes.noteFeedback(source, efficiency, now),
      whyNoNetwork: () => `model is ${this._state}, it has no network yet (write init to control)`,
    });
    this.record('created', `state=created mode=${this.modes.mode}`);
  }

  /** Whether training rounds may run now: the state trains and the operator has not paused training. */
  private trains(): boolean {
    return trainsIn(this._state) && this._config.training_pause === 'off';
  }

  /** Samples the novelty check has seen (intake's running total when it last looked). */
  private inputsSeen = 0;

  /** Hand the newest samples that just arrived to the novelty check (it judges them off the request path). */
  private noteNewInputs(): void {
    // Before the first training round there is nothing to judge against; a model that is not training pays nothing.
    if (!this.modes.judgesNovelty) return;
    const total = this.intake.counts.samples_total;
    const ring = this.intake.buffer;
    // only the newest window's worth can matter to the check
    const fresh = Math.min(total - this.inputsSeen, ring.size, DEFAULT_NOVELTY.window);
    this.inputsSeen = total;
    if (fresh <= 0) return;
    const rows = Array.from({ length: fresh }, (_, k) => ring.row(ring.size - fresh + k));
    this.modes.noteInputs(rows, this._config.inputs);
  }

  /** New weights: what the old ones were trained on no longer says what is familiar. */
  private rebuild(...args: Parameters<Learner['rebuild']>): void {
    this.learner.rebuild(...args);
    this.modes.forgetTrained();
  }

  // ---- what others may read ------------------------------------------------------------------

  get state(): ModelState {
    return this._state;
  }
  get config(): Readonly<ModelConfig> {
    return this._config;
  }
  get staged(): Readonly<StagedConfig> {
    return this._staged;
  }
  get ring(): Readonly<SampleRing> {
    return this.intake.buffer;
  }
  get lastVerb(): Readonly<{ verb: string; result: string }> {
    return this._lastVerb;
  }
  /** The weights as of the last `save`: what the model/ directory exports, as one consistent pair. */
  get exported(): Snapshot | undefined {
    return this._exported;
  }
  get counters() {
    return { ...this.counts, ...this.intake.counts, ...this.recommender.counts };
  }

  /** Add a line to the events file and the server log. */
  record(kind: string, details: string): void {
    this.report.record(kind, details);
  }

  /** Refuse input the fs layer's limits caught (src/fs/guards.ts): an event line, a bus event, the errno. */
  refuse(file: string, err: unknown): never {
    return this.report.reject(file, err);
  }

  get events(): EventLog {
    return this.report.events;
  }

  // ---- control verbs -------------------------------------------------------------------------

  /**
   * A write to `control`: one verb, run in full or refused with EINVAL (docs/protocol.md) leaving
   * everything as it was. `save` and `load` touch the disk and answer when their promise settles.
   */
  control(text: string): void | Promise<void> {
    const verb = this.report.keyword('control', VERBS, text);
    const before = this._state;
    const succeeded = () => {
      this._lastVerb = { verb, result: 'ok' };
      this.record('verb', `${verb} ok state ${before} -> ${this._state}`);
      this.bus.emit('verb', { model: this.name, verb, ok: true, state: this._state, detail: '' });
      this.persistMeta();
    };
    const failed = (err: unknown): never => {
      const code = err instanceof MlError ? err.code : 'EIO';
      const message = err instanceof Error ? err.message : String(err);
      this._lastVerb = { verb, result: `${code} ${message}` };
      this.record('verb', `${verb} failed ${code}: ${message}`);
      this.bus.emit('verb', { model: this.name, verb, ok: false, state: this._state, detail: message });
      throw err;
    };
    let pending: void | Promise<void>;
    try {
      requireAllowed(verb, this._state);
      pending = this.applyVerb(verb);
    } catch (err) {
      return failed(err);
    }
    if (pending instanceof Promise) return pending.then(succeeded, failed);
    succeeded();
  }

  private applyVerb(verb: Verb): void | Promise<void> {
    switch (verb) {
      case 'init':
        this.rebuild(this._config);
        this._state = 'initialized';
        return;
      case 'reinit':
        this.rebuild(this._config);
        this.learner.poke();
        return;
      case 'start':
        if (this._state === 'initialized' || this._state === 'stopped') this._state = 'started';
        this.learner.resumed();
        this.learner.poke();
        return;
      case 'stop':
        this._state = 'stopped';
        return;
      case 'prepare_dataset':
        this._state = 'running';
        return;
      case 'discard_dataset': {
        const emptied = this.intake.clear('discard_dataset');
        this._state = 'started';
        return emptied;
      }
      case 'commit':
        this.commit();
        return;
      case 'reset':
        return this.intake.clear('reset');
      case 'save':
        return this.save();
      case 'load':
        return this.load();
    }
  }

  // ---- configuration -------------------------------------------------------------------------

  /** A write to `config`: stage its keys; nothing is staged if any line is bad. */
  stageConfig(text: string): void {
    const parsed = this.report.validated('config', () => parseConfigText(text));
    this._staged = { ...this._staged, ...parsed };
    this.record('config_staged', Object.keys(parsed).join(','));
  }

  /** Apply the staged config as one step: validate the whole result first, then swap it in. */
  private commit(): void {
    if (Object.keys(this._staged).length === 0) return;
    const next: ModelConfig = { ...this._config, ...this._staged };
    this.report.validated('config', () => validateConfig(next));
    const before = this._config;
    const changed = changedKeys(before, next);
    this._config = next;
    this._staged = {};
    this.counts.config_commits++;
    if (this.intake.reshape(next, before)) this.recommender.forget();
    if (this.store) this.store.durability = next.durability;
    if (changed.some((k) => SHAPE_KEYS.includes(k)) && this._state !== 'created') this.rebuild(next);
    if (changed.includes('training_pause') && next.training_pause === 'off') this.learner.resumed();
    this.record('config_committed', changed.length ? changed.map((k) => `${k}=${String(next[k])}`).join(' ') : 'no change');
    this.bus.emit('config_committed', { model: this.name, changed });
    this.learner.poke();
  }

  // ---- data ----------------------------------------------------------------------------------

  /** A new batch for one open `dataset` file: it decodes writes as they come and stores them at close. */
  openBatch(): DatasetBatch {
    return this.intake.openBatch();
  }

  // ---- recommendations and feedback ----------------------------------------------------------

  /** A recommendation transaction: the bytes written in, the answer text to read back. */
  transact(written: Buffer): Buffer {
    const queries = this.report.validated('recommendation', () => this.recommender.parseQueries(written));
    return this.recommender.answer(queries);
  }

  /** A read of `recommendation` without a write on the same open file: the newest answer. */
  latestRecommendation(): Buffer {
    return this.recommender.latest();
  }

  /** A read of `qnet`: the network as integers, made once per generation (engine/infer/qnet-cache.ts). */
  qnet(): Buffer {
    return applyQnetFault(this.recommender.fault, () => this.qnetCache.bytes(this.learner.network?.snapshot, this._config.scale));
  }

  /** A write to `feedback`: evidence for the mode policy, and corrected outputs as training samples. */
  feedback(text: string): void | Promise<void> {
    const lines = this.report.validated('feedback', () => this.recommender.parseFeedback(text));
    const corrections = this.recommender.account(lines, Date.now());
    return corrections && this.intake.ingest([corrections], Buffer.byteLength(text));
  }

  // ---- mode and faults -----------------------------------------------------------------------

  /** A write to `mode`: pin a mode, or hand it to the automatic policy. */
  setMode(text: string): void {
    const word = keywordFromWrite(text);
    if (word === MODE_POLICY_AUTO) this.modes.setAuto(Date.now());
    else if (isMode(word)) this.modes.pin(word as Mode, Date.now());
    else this.report.reject('mode', new MlError('EINVAL', `mode: "${word.slice(0, 32)}" is not one of emergency learning collaboration recommendation auto`));
    this.persistMeta();
  }

  /** A write to the test-only `fault` file. */
  setFault(text: string): void {
    this.recommender.fault = this.report.keyword('fault', FAULTS, text);
    this.record('fault', `recommendations now ${this.recommender.fault}`);
  }

  // ---- persistence: plain data out, plain data in ---------------------------------------------

  /** What meta.json records. */
  meta(): Meta {
    return { format: 1, config: this._config, mode: this.modes.mode, policy: this.modes.policy, state: this._state };
  }

  /** Queue meta.json; repeated calls while one write is queued coalesce. */
  persistMeta(): void {
    void this.store?.saveMeta(() => this.meta());
  }

  /** `save`: freeze the current weights for export (model/), and with --state-dir write everything to disk now. */
  private async save(): Promise<void> {
    const net = this.learner.network ?? fail('ENODATA', `save: model is ${this._state}, it has no network yet (write init to control)`);
    this._exported = net.snapshot;
    await this.store?.saveNow(this.name, net.snapshot, () => this.meta());
  }

  /** `load`: replace the weights with a LayersModel from the import directory, if its shapes fit the config. */
  private async load(): Promise<void> {
    if (!this.importDir) fail('EINVAL', 'load: the server runs without --state-dir, so there is no import directory');
    const loaded = await readImport(this.importDir, this._config).catch((err: unknown) => this.report.reject('load', err));
    this.rebuild(this._config, loaded.weights, loaded.normalisation);
    if (this._state === 'created') this._state = 'initialized';
    this.record(
      'loaded',
      `from ${this.importDir} generation ${this.learner.generation}${loaded.normalisation ? '' : ' (no mlproxy normalisation metadata: identity)'}`,
    );
    this.learner.poke();
  }

  /** Bring back what the store recovered at server start: config, mode, state, weights and buffered samples. */
  restore(saved: Recovery): void {
    const { meta } = saved;
    if (meta) {
      this._config = { ...DEFAULT_CONFIG, ...meta.config };
      if (this.store) this.store.durability = this._config.durability;
      if (isMode(meta.mode)) this.modes.restore(meta.mode as Mode, meta.policy === 'auto' ? 'auto' : 'manual', Date.now());
    }
    this.intake.restore(this._config, saved.rows, saved.width);
    if (meta && meta.state !== 'created' && meta.state !== 'shutting_down') {
      this.learner.rebuild(this._config, saved.weights?.weights, saved.weights?.normalisation);
      this._state = meta.state as ModelState;
    }
    this.record(
      'restored',
      `state=${this._state} mode=${this.modes.mode} samples=${this.intake.counts.samples_restored} weights=${saved.weights ? 'saved' : 'fresh'} cut_log_bytes=${saved.cutBytes}`,
    );
    this.learner.poke();
  }

  // ---- teardown ------------------------------------------------------------------------------

  /** rmdir: stop everything; with --state-dir the model's files are removed too. */
  destroy(): Promise<void> {
    this._state = 'shutting_down';
    this.learner.drop();
    this.intake.close();
    this.record('destroyed', 'state=shutting_down');
    return this.store ? this.store.destroy() : Promise.resolve();
  }
}

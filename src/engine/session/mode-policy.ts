// Owns a model's mode in force and whether it is pinned by hand or left to the automatic policy;
// keeps the evidence and memory the pure policy in src/modes/ decides from, and reports every transition.
import {
  type Decision,
  type Evidence,
  type FeedbackKind,
  type Mode,
  type Policy,
  type PolicyMemory,
  type Signals,
  type TrainedInputs,
  DEFAULT_NOVELTY,
  DEFAULT_THRESHOLDS,
  NoveltyMonitor,
  applyPermil,
  createEvidence,
  createPolicyMemory,
  decide,
  describeTransition,
  evidenceStats,
  noteSignals,
  noteTransition,
  recordFeedback,
  resetForTransition,
  summarize,
} from '../../modes/index.js';

type OnTransition = (from: Mode, to: Mode, cause: string, line: string) => void;
/** A novelty episode began or ended: one line for the events file. */
type OnNovelty = (line: string) => void;

/** The parts of the thresholds a model's config may set. */
export interface PolicyTiming {
  promote_dwell_ms: number;
  demote_dwell_ms: number;
  emergency_cooldown_ms: number;
  /** The inputs novelty is judged on (config novelty_inputs). */
  novelty_inputs: number[] | 'all';
}

/**
 * Least time between two novelty judgements: bounds the check's CPU under a flood of small dataset writes
 * (a judgement scans up to 1024 trained rows per sample) far above the few samples a second a kernel
 * subsystem sends.
 */
export const JUDGE_EVERY_MS = 100;

/** How long training may fail to publish while data waits before recommendations count as stale. */
export const STALE_AFTER_MS = 30_000;

export class ModePolicy {
  mode: Mode = 'emergency';
  policy: Policy = 'manual';
  readonly transitions = new Map<string, number>();
  private evidence: Evidence = createEvidence();
  private memory: PolicyMemory;
  private diverged = false;
  /** Whether the inputs arriving are like those of the newest training round (src/modes/novelty.ts). */
  private readonly novelty = new NoveltyMonitor();
  /** Inputs of the newest samples not judged yet, and the timer that will judge them. */
  private waiting: Float32Array[] = [];
  private waitingInputs = 0;
  private judgeTimer: NodeJS.Timeout | undefined;
  private lastJudgedMs = 0;

  constructor(
    private readonly onTransition: OnTransition,
    private readonly timing: () => PolicyTiming,
    /** Whether the model is expected to publish fresh weights and has not for STALE_AFTER_MS. */
    private readonly stale: (now: number) => boolean,
    private readonly onNovelty: OnNovelty = () => {},
    now = Date.now(),
  ) {
    this.memory = createPolicyMemory(now);
  }

  get applyPermil(): number {
    return applyPermil(this.mode);
  }

  private thresholds() {
    const t = this.timing();
    return { ...DEFAULT_THRESHOLDS, promoteDwellMs: t.promote_dwell_ms, demoteDwellMs: t.demote_dwell_ms, emergencyCooldownMs: t.emergency_cooldown_ms };
  }

  private moveTo(to: Mode, cause: Decision['cause'] | 'operator', line: string, now: number): void {
    if (to === this.mode) return;
    const from = this.mode;
    this.mode = to;
    resetForTransition(this.evidence, to);
    this.memory = noteTransition(this.memory, to, cause, now, this.thresholds());
    const key = `${from}->${to}`;
    this.transitions.set(key, (this.transitions.get(key) ?? 0) + 1);
    this.onTransition(from, to, cause, line);
  }

  /** Ask the policy; signals are one-off facts seen since the last decision. */
  private evaluate(now: number, signals: Partial<Signals> = {}): void {
    const full: Signals = { critical: false, diverged: this.diverged, recommendationsStale: this.stale(now), novelty: this.novelty.report(), ...signals };
    this.diverged = false;
    const d = decide({ mode: this.mode, policy: this.policy, summary: summarize(this.evidence), signals: full, nowMs: now, ...this.memory }, this.thresholds());
    this.memory = noteSignals(this.memory, full, now);
    if (d) this.moveTo(d.mode, d.cause, describeTransition(this.mode, d.mode, d), now);
  }

  pin(mode: Mode, now: number): void {
    this.policy = 'manual';
    this.moveTo(mode, 'operator', `mode ${this.mode} -> ${mode} cause=operator reason="pinned by a write to mode"`, now);
  }

  setAuto(now: number): void {
    this.policy = 'auto';
    this.evaluate(now);
  }

  /** Put back a persisted mode without counting it as a transition. */
  restore(mode: Mode, policy: Policy, now: number): void {
    this.mode = mode;
    this.policy = policy;
    this.memory = createPolicyMemory(now);
  }

  noteFeedback(source: 'ml' | 'default' | 'critical', efficiency: number, now: number): void {
    if (source === 'critical') return this.evaluate(now, { critical: true });
    recordFeedback(this.evidence, source as FeedbackKind, efficiency);
    this.evaluate(now);
  }

  /** A training round was published: judge new inputs against the inputs it trained on. */
  noteTrained(trained: TrainedInputs): void {
    this.novelty.train(trained);
  }

  /** Whether new inputs can be judged: a round has been trained since the network was built. */
  get judgesNovelty(): boolean {
    return this.novelty.judging;
  }

  /** The network was rebuilt: nothing it was trained on is known any more. */
  forgetTrained(): void {
    this.novelty.forget();
  }

  /**
   * New samples arrived, oldest first (views of the buffer's rows: the first `inputs` values are kept).
   * Judging them takes a scan of the trained rows per sample, so it happens off the request path: the
   * newest window's worth waits here and is judged at most every JUDGE_EVERY_MS. A novelty episode may
   * begin or end then.
   */
  noteInputs(samples: readonly Float32Array[], inputs: number): void {
    for (const row of samples.slice(-DEFAULT_NOVELTY.window)) this.waiting.push(row.slice(0, inputs));
    if (this.waiting.length > DEFAULT_NOVELTY.window) this.waiting.splice(0, this.waiting.length - DEFAULT_NOVELTY.window);
    this.waitingInputs = inputs;
    if (this.judgeTimer) return;
    this.judgeTimer = setTimeout(() => this.judgeWaiting(), Math.max(0, this.lastJudgedMs + JUDGE_EVERY_MS - Date.now()));
    this.judgeTimer.unref();
  }

  private judgeWaiting(): void {
    this.judgeTimer = undefined;
    this.lastJudgedMs = Date.now();
    const inputs = this.waitingInputs;
    const rows = new Float32Array(this.waiting.length * inputs);
    this.waiting.forEach((row, k) => rows.set(row, k * inputs));
    this.waiting = [];
    const context = this.timing().novelty_inputs;
    const change = this.novelty.observe(rows, inputs, inputs, context === 'all' ? undefined : context);
    if (!change) return;
    const r = this.novelty.report();
    const unfamiliar = `${this.novelty.unfamiliarCount} of the last ${DEFAULT_NOVELTY.window} samples unfamiliar`;
    this.onNovelty(
      change === 'began' && r
        ? `began ${unfamiliar}; input ${r.input} at ${r.value.toPrecision(4)}, trained ${r.trainedMin.toPrecision(4)}..${r.trainedMax.toPrecision(4)}`
        : `ended ${unfamiliar}`,
    );
    this.evaluate(Date.now());
  }

  noteDivergence(now: number): void {
    this.diverged = true;
    this.evaluate(now);
  }

  /** Time passes: cool-downs end and staleness is noticed even when no feedback arrives. */
  tick(now: number): void {
    this.evaluate(now);
  }

  /** Extra `key value` lines for the stats file. */
  statsLines(): [string, string | number][] {
    const lines: [string, string | number][] = evidenceStats(summarize(this.evidence), this.thresholds());
    lines.push(['inputs_unfamiliar', this.novelty.unfamiliarCount], ['novelty_episodes', this.novelty.episodes]);
    for (const [key, count] of this.transitions) lines.push([`transitions_${key.replace('->', '_to_')}`, count]);
    return lines;
  }
}

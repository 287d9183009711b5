// Owns the automatic mode policy: a pure decision from evidence, kernel signals, memory and the clock.
import { type Mode, type Policy, demotionOf, promotionOf } from './modes.js';
import { type Evidence, type EvidenceSummary, clearEvidence, confidenceAbove, confidenceBelow } from './evidence.js';
import { type Cause, type PolicyMemory, activeSetbacks, backoffFactor } from './memory.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds.js';
import type { NoveltyReport } from './novelty.js';

export interface Signals {
  /** The kernel reported a critical state (a `critical` feedback line since the last decision). */
  critical: boolean;
  /** Training diverged (non-finite or exploding loss). */
  diverged: boolean;
  /** The model has stopped producing fresh recommendations. */
  recommendationsStale: boolean;
  /** Present while the inputs arriving are unlike those the model was trained on (novelty.ts). */
  novelty?: NoveltyReport;
}

/** Pass a PolicyMemory spread in: `decide({ mode, policy, summary, signals, nowMs, ...memory })`. */
export interface DecideInput extends Partial<Omit<PolicyMemory, 'lastTransitionMs'>> {
  mode: Mode;
  policy: Policy;
  summary: EvidenceSummary;
  signals: Signals;
  /** When the current mode was entered (or the session created). */
  lastTransitionMs: number;
  nowMs: number;
}

export interface Decision {
  mode: Mode;
  cause: Cause;
  /** One human-readable sentence. */
  reason: string;
  /** What the decision rested on, snake_case keys in display order. */
  numbers: Record<string, number>;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
/** Two decimals: the thresholds (99%, 99.9%) must stay distinguishable from certainty. */
const conf = (x: number): string => `${(x * 100).toFixed(2)}%`;
const secs = (ms: number): string => `${Math.round(ms / 1000)} s`;

function evidenceNumbers(s: EvidenceSummary): Record<string, number> {
  return {
    ml_mean: s.mlMean,
    default_mean: s.defaultMean,
    n_ml: s.mlCount,
    n_default: s.defaultCount,
    advantage: s.advantage,
    ml_std: s.mlStd,
    default_std: s.defaultStd,
    welch_t: s.welchT,
  };
}

function decision(mode: Mode, cause: Cause, reason: string, numbers: Record<string, number>): Decision {
  return { mode, cause, reason, numbers };
}

/**
 * Decide whether `input.mode` should change; null means stay. Checked in order of urgency:
 * signal-driven emergencies, leaving emergency, inadequate evidence, unfamiliar inputs, demotion, promotion.
 * With policy 'manual' the mode is the operator's and only critical or diverged override it.
 */
export function decide(input: DecideInput, t: Thresholds = DEFAULT_THRESHOLDS): Decision | null {
  const { mode, policy, summary: s, signals, nowMs } = input;
  const inMode = nowMs - input.lastTransitionMs;
  const setbacks = activeSetbacks(input, nowMs, t.forgiveMs);
  const base = { ...evidenceNumbers(s), in_mode_ms: inMode, setbacks };

  if (mode !== 'emergency') {
    if (signals.critical) return decision('emergency', 'critical', 'kernel reported a critical state', base);
    if (signals.diverged) return decision('emergency', 'diverged', 'model training diverged', base);
    if (policy === 'manual') return null;
    if (signals.recommendationsStale) {
      return decision('emergency', 'stale', 'model stopped producing fresh recommendations', base);
    }
  }
  if (policy === 'manual') return null;
  if (mode === 'emergency') return leaveEmergency(input, t, setbacks, base);

  const enoughToDemote = s.mlCount >= t.minSamplesDemote && s.defaultCount >= t.minSamplesDemote;
  if (enoughToDemote) {
    const bad = confidenceBelow(s, -t.inadequateMargin);
    if (bad >= t.inadequateConfidence) {
      const reason = `ml trails default by ${pct(-s.advantage)}, beyond the ${pct(t.inadequateMargin)} inadequacy margin with ${conf(bad)} confidence`;
      return decision('emergency', 'inadequate', reason, { ...base, margin: -t.inadequateMargin, confidence: bad });
    }
  }

  // Unfamiliar inputs: the model would decide alone where neither its training nor the evidence has
  // been. Narrow it to collaboration at once, where the default runs beside it again and is judged there.
  if (signals.novelty && mode === 'recommendation') return unfamiliar(signals.novelty, base);

  const down = demotionOf(mode);
  if (down && inMode >= t.demoteDwellMs) {
    if (mode === 'recommendation' && s.defaultCount < t.minSamplesDemote && s.mlCount >= t.minSamplesDemote) {
      // Reachable only when recommendation was pinned without a baseline: auto must be able to judge it.
      const reason = `only ${s.defaultCount} default samples to judge recommendation mode by; need ${t.minSamplesDemote}`;
      return decision(down, 'demote', reason, { ...base, min_samples: t.minSamplesDemote });
    }
    if (enoughToDemote) {
      const worse = confidenceBelow(s, -t.demoteMargin);
      if (worse >= t.demoteConfidence) {
        const reason = `ml trails default by ${pct(-s.advantage)}, beyond the ${pct(t.demoteMargin)} demotion margin with ${conf(worse)} confidence`;
        return decision(down, 'demote', reason, { ...base, margin: -t.demoteMargin, confidence: worse });
      }
    }
  }

  const up = promotionOf(mode);
  const dwell = t.promoteDwellMs * backoffFactor(setbacks, 0, t.backoffMaxDoublings);
  const enoughToPromote = s.mlCount >= t.minSamplesPromote && s.defaultCount >= t.minSamplesPromote;
  // No wider exposure while the inputs are unfamiliar.
  if (up && !signals.novelty && enoughToPromote && inMode >= dwell) {
    const better = confidenceAbove(s, t.promoteMargin);
    if (better >= t.promoteConfidence) {
      const reason = `ml beats default by ${pct(s.advantage)}, beyond the ${pct(t.promoteMargin)} promotion margin with ${conf(better)} confidence`;
      return decision(up, 'promote', reason, { ...base, margin: t.promoteMargin, confidence: better, dwell_ms: dwell });
    }
  }
  return null;
}

function unfamiliar(n: NoveltyReport, base: Record<string, number>): Decision {
  const num = (x: number) => Number(x.toPrecision(4));
  const reason =
    `inputs unlike the model's training data: ${n.unfamiliar} of the last ${n.window} samples are unfamiliar ` +
    `(input ${n.input} at ${num(n.value)}, trained ${num(n.trainedMin)}..${num(n.trainedMax)})`;
  return decision('collaboration', 'novel', reason, {
    ...base,
    unfamiliar: n.unfamiliar,
    window: n.window,
    input: n.input,
    value: n.value,
    trained_min: n.trainedMin,
    trained_max: n.trainedMax,
  });
}

function leaveEmergency(input: DecideInput, t: Thresholds, setbacks: number, base: Record<string, number>): Decision | null {
  const { signals, nowMs } = input;
  if (signals.critical || signals.diverged || signals.recommendationsStale) return null;
  const since = Math.max(input.emergencySinceMs ?? input.lastTransitionMs, input.lastCauseMs ?? -Infinity);
  const quiet = nowMs - since;
  // The first emergency is free of back-off: its setback is the one that caused it.
  const cooldown = t.emergencyCooldownMs * backoffFactor(setbacks, 1, t.backoffMaxDoublings);
  if (quiet < cooldown) return null;
  const reason = `no emergency cause for ${secs(quiet)} (cool-down ${secs(cooldown)}); resuming learning`;
  return decision('learning', 'cooldown', reason, { ...base, quiet_ms: quiet, cooldown_ms: cooldown });
}

/**
 * Which windows to forget after entering `to`. Evidence is reset, not re-weighted: each mode
 * changes how much of the system the model drives, so older samples describe another regime,
 * and a fresh window stops one body of evidence from paying for two promotions. The default
 * window survives entering recommendation, where at apply_permil 1000 no new default samples come.
 */
export function evidenceResetFor(to: Mode): { ml: boolean; default: boolean } {
  return { ml: true, default: to !== 'recommendation' };
}

/** Apply evidenceResetFor; call after every mode change, automatic or by the operator. */
export function resetForTransition(ev: Evidence, to: Mode): void {
  const r = evidenceResetFor(to);
  if (r.ml) clearEvidence(ev, 'ml');
  if (r.default) clearEvidence(ev, 'default');
}

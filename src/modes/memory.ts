// Owns what the policy must remember between decisions (times and setbacks), as plain values the engine keeps.
import type { Mode } from './modes.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds.js';

/**
 * Everything decide() needs from the past. The engine stores one per model, passes it spread
 * into decide()'s input, and replaces it with noteSignals/noteTransition after each call.
 */
export interface PolicyMemory {
  /** When the current mode was entered (the session's creation time at first). */
  lastTransitionMs: number;
  /** When the current emergency began. */
  emergencySinceMs?: number;
  /** Last time an emergency cause (critical, diverged, stale, inadequate) was seen. */
  lastCauseMs?: number;
  /** Demotions and emergency entries, each within forgiveMs of the previous one. */
  setbacks: number;
  lastSetbackMs?: number;
}

/** Why the policy changed a mode; a fixed token, safe as a metrics label. */
export type Cause = 'critical' | 'diverged' | 'stale' | 'inadequate' | 'novel' | 'demote' | 'promote' | 'cooldown';
/** Why a mode changed: a policy cause, or the operator writing a mode. */
export type TransitionCause = Cause | 'operator';

/** Transitions that count against the model and lengthen the next wait ('novel' is the inputs' doing, not the model's). */
const SETBACKS: ReadonlySet<TransitionCause> = new Set(['critical', 'diverged', 'stale', 'inadequate', 'demote']);

export function createPolicyMemory(nowMs: number): PolicyMemory {
  return { lastTransitionMs: nowMs, setbacks: 0 };
}

/** Setbacks still held against the model at `nowMs`: all are forgiven after forgiveMs without a new one. */
export function activeSetbacks(m: Partial<PolicyMemory>, nowMs: number, forgiveMs: number): number {
  if (!m.setbacks || m.lastSetbackMs === undefined) return 0;
  return nowMs - m.lastSetbackMs < forgiveMs ? m.setbacks : 0;
}

/**
 * How much longer than the base dwell (or cool-down) to wait: doubles per active setback beyond
 * the first `free` ones, capped. This is what bounds flapping over long runs, where any fixed
 * confidence level is eventually crossed by noise.
 */
export function backoffFactor(setbacks: number, free: number, maxDoublings: number): number {
  return 2 ** Math.min(Math.max(setbacks - free, 0), maxDoublings);
}

/** Record that an emergency cause was seen now, whether or not the mode changes. */
export function noteSignals(m: PolicyMemory, signals: { critical: boolean; diverged: boolean; recommendationsStale: boolean }, nowMs: number): PolicyMemory {
  const seen = signals.critical || signals.diverged || signals.recommendationsStale;
  return seen ? { ...m, lastCauseMs: nowMs } : m;
}

/** Record a mode change, automatic or by the operator; operator changes are never setbacks. */
export function noteTransition(
  m: PolicyMemory,
  to: Mode,
  cause: TransitionCause,
  nowMs: number,
  t: Pick<Thresholds, 'forgiveMs'> = DEFAULT_THRESHOLDS,
): PolicyMemory {
  const next: PolicyMemory = { ...m, lastTransitionMs: nowMs };
  if (to === 'emergency') {
    next.emergencySinceMs = nowMs;
    if (cause !== 'operator') next.lastCauseMs = nowMs;
  }
  if (SETBACKS.has(cause)) {
    next.setbacks = activeSetbacks(m, nowMs, t.forgiveMs) + 1;
    next.lastSetbackMs = nowMs;
  }
  return next;
}

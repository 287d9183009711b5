// Owns a model's evidence: bounded windows of recent ml and default efficiencies, and what they say about each other.
import { tConfidence, welchDf } from './stats.js';

export type FeedbackKind = 'ml' | 'default';

/** Window capacity per source: 200 samples give a standard error of std/14 and forget a regime within 200 operations. */
export const DEFAULT_CAPACITY = 200;

/** A count-capped ring of efficiencies; `next` is where the following sample goes. */
export interface EvidenceWindow {
  readonly values: Float64Array;
  next: number;
  count: number;
}

export interface Evidence {
  readonly ml: EvidenceWindow;
  readonly default: EvidenceWindow;
}

/**
 * What the windows say. Means are NaN for an empty window, standard deviations NaN below two
 * samples; every derived figure is then NaN too, and the policy checks counts before using any.
 */
export interface EvidenceSummary {
  mlCount: number;
  mlMean: number;
  mlStd: number;
  defaultCount: number;
  defaultMean: number;
  defaultStd: number;
  /** mlMean - defaultMean, in the subsystem's unit. */
  diff: number;
  /** Welch standard error of `diff`. */
  diffStderr: number;
  /** Relative difference of means: diff / |defaultMean| (diff itself when defaultMean is 0). */
  advantage: number;
  /** Standard error of `advantage`, treating |defaultMean| as exact. */
  advantageStderr: number;
  /** diff / diffStderr; ±Infinity when both windows are constant and differ. */
  welchT: number;
  /** Welch–Satterthwaite degrees of freedom of welchT. */
  welchDf: number;
}

function createWindow(capacity: number): EvidenceWindow {
  return { values: new Float64Array(capacity), next: 0, count: 0 };
}

export function createEvidence(capacity: number = DEFAULT_CAPACITY): Evidence {
  if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`evidence capacity must be an integer >= 2, got ${capacity}`);
  return { ml: createWindow(capacity), default: createWindow(capacity) };
}

/**
 * Add one efficiency to its window, evicting the oldest when full. Non-finite values are
 * refused (returns false) because one NaN would poison every mean until it ages out.
 */
export function recordFeedback(ev: Evidence, source: FeedbackKind, efficiency: number): boolean {
  if (!Number.isFinite(efficiency)) return false;
  const w = ev[source];
  w.values[w.next] = efficiency;
  w.next = (w.next + 1) % w.values.length;
  if (w.count < w.values.length) w.count++;
  return true;
}

/** Forget one window or both; see resetForTransition in policy.ts for when. */
export function clearEvidence(ev: Evidence, which: FeedbackKind | 'both' = 'both'): void {
  for (const w of which === 'both' ? [ev.ml, ev.default] : [ev[which]]) {
    w.next = 0;
    w.count = 0;
  }
}

interface Moments {
  n: number;
  mean: number;
  variance: number;
}

/**
 * Two passes over at most `capacity` values on every call: exact and drift-free, and a few
 * hundred additions cost less than keeping running sums numerically honest under eviction.
 */
function moments(w: EvidenceWindow): Moments {
  const n = w.count;
  if (n === 0) return { n, mean: NaN, variance: NaN };
  // The live samples are always the first `count` slots until the ring wraps, then all of them.
  let sum = 0;
  for (let i = 0; i < n; i++) sum += w.values[i];
  const mean = sum / n;
  if (n < 2) return { n, mean, variance: NaN };
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = w.values[i] - mean;
    squares += d * d;
  }
  return { n, mean, variance: squares / (n - 1) };
}

export function summarize(ev: Evidence): EvidenceSummary {
  const m = moments(ev.ml);
  const d = moments(ev.default);
  const diff = m.mean - d.mean;
  const se2m = m.variance / m.n;
  const se2d = d.variance / d.n;
  const diffStderr = Math.sqrt(se2m + se2d);
  const scale = relativeScale(d.mean);
  let welchT: number;
  if (Number.isNaN(diff) || Number.isNaN(diffStderr)) welchT = NaN;
  else if (diffStderr === 0) welchT = diff === 0 ? 0 : diff > 0 ? Infinity : -Infinity;
  else welchT = diff / diffStderr;
  return {
    mlCount: m.n,
    mlMean: m.mean,
    mlStd: Math.sqrt(m.variance),
    defaultCount: d.n,
    defaultMean: d.mean,
    defaultStd: Math.sqrt(d.variance),
    diff,
    diffStderr,
    advantage: diff / scale,
    advantageStderr: diffStderr / scale,
    welchT,
    welchDf: welchDf(se2m, m.n, se2d, d.n),
  };
}

/** Margins are relative to the default's mean; a zero mean has no scale, so margins become absolute. */
function relativeScale(defaultMean: number): number {
  const s = Math.abs(defaultMean);
  return s > 0 ? s : Number.isNaN(s) ? NaN : 1;
}

/**
 * One-sided confidence (0..1) that the true relative advantage of ml over default exceeds
 * `margin` (e.g. 0.02 for "ml is at least 2% better"). NaN when either side has under two samples.
 */
export function confidenceAbove(s: EvidenceSummary, margin: number): number {
  const gap = s.advantage - margin;
  if (Number.isNaN(gap) || Number.isNaN(s.advantageStderr)) return NaN;
  if (s.advantageStderr === 0) return gap > 0 ? 1 : gap < 0 ? 0 : 0.5;
  return tConfidence(gap / s.advantageStderr, s.welchDf);
}

/** One-sided confidence that the true relative advantage is below `margin` (e.g. -0.01: "ml at least 1% worse"). */
export function confidenceBelow(s: EvidenceSummary, margin: number): number {
  const above = confidenceAbove(s, margin);
  return Number.isNaN(above) ? NaN : 1 - above;
}

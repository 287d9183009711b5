// Owns the text forms of the policy's view: the one-line transition event and the evidence lines for `stats`.
import type { Mode } from './modes.js';
import type { Decision } from './policy.js';
import { type EvidenceSummary, confidenceAbove, confidenceBelow } from './evidence.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds.js';

/** Six significant digits, and tokens a shell or awk script can match for the non-finite cases. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return String(Number(x.toPrecision(6)));
}

/**
 * `mode learning -> collaboration cause=promote reason="…" ml_mean=… default_mean=… n_ml=… …`.
 * The reason is JSON-quoted so the line stays splittable on spaces outside quotes.
 */
export function describeTransition(from: Mode, to: Mode, decision: Pick<Decision, 'cause' | 'reason' | 'numbers'>): string {
  const fields = Object.entries(decision.numbers).map(([k, v]) => `${k}=${formatNumber(v)}`);
  return [`mode ${from} -> ${to}`, `cause=${decision.cause}`, `reason=${JSON.stringify(decision.reason)}`, ...fields].join(' ');
}

/**
 * `key value` pairs describing the evidence, for the model's `stats` file; docs/modes.md lists them.
 * The two confidences are the figures decide() compares with promoteConfidence and demoteConfidence.
 */
export function evidenceStats(s: EvidenceSummary, t: Thresholds = DEFAULT_THRESHOLDS): Array<[string, string]> {
  const pairs: Array<[string, number]> = [
    ['evidence_ml_count', s.mlCount],
    ['evidence_ml_mean', s.mlMean],
    ['evidence_ml_std', s.mlStd],
    ['evidence_default_count', s.defaultCount],
    ['evidence_default_mean', s.defaultMean],
    ['evidence_default_std', s.defaultStd],
    ['evidence_advantage', s.advantage],
    ['evidence_welch_t', s.welchT],
    ['evidence_confidence_better', confidenceAbove(s, t.promoteMargin)],
    ['evidence_confidence_worse', confidenceBelow(s, -t.demoteMargin)],
  ];
  return pairs.map(([k, v]) => [k, formatNumber(v)]);
}

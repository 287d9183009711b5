// Owns the policy's tunable numbers and their defaults; docs/modes.md gives the reasoning for each.

export interface Thresholds {
  /** Samples each window needs before a promotion is considered. */
  minSamplesPromote: number;
  /** Samples each window needs before a demotion (or an inadequate verdict) is considered. */
  minSamplesDemote: number;
  /** Relative advantage ml must exceed, with promoteConfidence, to climb one step. */
  promoteMargin: number;
  promoteConfidence: number;
  /** Relative shortfall ml must exceed, with demoteConfidence, to drop one step. */
  demoteMargin: number;
  demoteConfidence: number;
  /** Shortfall so large the recommendations count as inadequate: straight to emergency. */
  inadequateMargin: number;
  inadequateConfidence: number;
  /** Minimum time in a mode before a promotion, and before a demotion. Emergency never waits. */
  promoteDwellMs: number;
  demoteDwellMs: number;
  /** Quiet time (no emergency cause seen) before emergency is left for learning. */
  emergencyCooldownMs: number;
  /** Each recent setback doubles the promotion dwell and (after the first) the cool-down, this many times at most. */
  backoffMaxDoublings: number;
  /** Setbacks are forgotten after this long without a new one. */
  forgiveMs: number;
}

export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = Object.freeze({
  minSamplesPromote: 100,
  minSamplesDemote: 30,
  promoteMargin: 0.02,
  promoteConfidence: 0.999,
  demoteMargin: 0.01,
  demoteConfidence: 0.99,
  inadequateMargin: 0.25,
  inadequateConfidence: 0.99,
  promoteDwellMs: 300_000,
  demoteDwellMs: 60_000,
  emergencyCooldownMs: 300_000,
  backoffMaxDoublings: 4,
  forgiveMs: 4 * 3_600_000,
});

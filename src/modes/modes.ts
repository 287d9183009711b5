// Owns the four operating modes: their names, their order, and how much of the kernel's work each hands to the model.

/** Ordered from least to most trust in the model; promotion and demotion move one step along this list. */
export const MODES = ['emergency', 'learning', 'collaboration', 'recommendation'] as const;
export type Mode = (typeof MODES)[number];

/** Who may change the mode: the automatic policy, or nobody but the operator (a pinned mode). */
export const POLICIES = ['auto', 'manual'] as const;
export type Policy = (typeof POLICIES)[number];

/**
 * Per-mille of operations on which the kernel applies the model's recommendation (its `apply_permil`).
 * Learning uses 10%: enough ML samples to judge the model within about a thousand operations
 * while capping the damage of an untrained model at a tenth of the work.
 */
const APPLY_PERMIL: Readonly<Record<Mode, number>> = Object.freeze({
  emergency: 0,
  learning: 100,
  collaboration: 500,
  recommendation: 1000,
});

/**
 * How many times a feedback line's corrected outputs should appear in a training batch.
 * tfjs 4.22 rejects `sampleWeight` in fit(), so weight means repetition; 2 emphasises the
 * cases the model got wrong without letting a burst of corrections drown the dataset samples.
 */
export const CORRECTION_REPEAT = 2;

export function applyPermil(mode: Mode): number {
  return APPLY_PERMIL[mode];
}

/** Exact match only: "Learning" or "learning\n" are not modes (the caller strips the newline). */
export function isMode(s: string): s is Mode {
  return (MODES as readonly string[]).includes(s);
}

export function isPolicy(s: string): s is Policy {
  return (POLICIES as readonly string[]).includes(s);
}

/** 0 for emergency up to 3 for recommendation. */
export function modeRank(mode: Mode): number {
  return MODES.indexOf(mode);
}

/** The next mode up the trust ladder, or null from recommendation (the top) and emergency (left only by cool-down). */
export function promotionOf(mode: Mode): Mode | null {
  if (mode === 'learning') return 'collaboration';
  if (mode === 'collaboration') return 'recommendation';
  return null;
}

/** One step down for an efficiency demotion; learning is the floor, since only emergency causes go below it. */
export function demotionOf(mode: Mode): Mode | null {
  if (mode === 'recommendation') return 'collaboration';
  if (mode === 'collaboration') return 'learning';
  return null;
}

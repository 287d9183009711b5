// Owns the small numerical helpers behind the confidence figures: the normal CDF and Welch's t approximations.

/**
 * Standard normal CDF. Uses the rational erfc approximation of Abramowitz & Stegun 7.1.26
 * (absolute error below 1.5e-7), ample for thresholds like 0.95 and 0.99.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  const z = Math.abs(x) / Math.SQRT2;
  const k = 1 / (1 + 0.3275911 * z);
  const poly = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429))));
  const erfc = poly * Math.exp(-z * z);
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * Map a Student t value with `df` degrees of freedom to the normal deviate with the same tail
 * (Abramowitz & Stegun 26.7.8). This keeps small windows honest: with 29 degrees of freedom a t of 2.33
 * is only about 98.6% confidence, not the 99% a normal table would claim.
 */
export function tToZ(t: number, df: number): number {
  if (!Number.isFinite(t) || !Number.isFinite(df)) return t;
  const nu = Math.max(df, 1);
  return (t * (1 - 1 / (4 * nu))) / Math.sqrt(1 + (t * t) / (2 * nu));
}

/** One-sided confidence that a quantity whose estimate is `t` standard errors above a bound really exceeds it. */
export function tConfidence(t: number, df: number): number {
  return normalCdf(tToZ(t, df));
}

/**
 * Welch–Satterthwaite degrees of freedom for the difference of two means, given each side's
 * squared standard error (variance / n) and count. When both variances are zero the pooled
 * count is returned so that callers still get a finite number.
 */
export function welchDf(se2a: number, na: number, se2b: number, nb: number): number {
  if (na < 2 || nb < 2) return NaN;
  const total = se2a + se2b;
  if (total === 0) return na + nb - 2;
  return (total * total) / ((se2a * se2a) / (na - 1) + (se2b * se2b) / (nb - 1));
}

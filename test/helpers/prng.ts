// Owns the tests' seeded random numbers: the same sequence every run, so a failure can be replayed.

/** xorshift32: tiny, seedable and good enough for test data and noise; returns uint32s, never 0. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

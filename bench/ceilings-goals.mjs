// Owns issue 12's goals for the benchmark against the floor: bench/ceilings.mjs judges one run by them,
// bench/ceilings-pool.mjs judges several runs pooled.
export const GOALS = Object.freeze({ perWrite: 0.9, textBandwidth: 0.5, textSamples: 3e6, binary: 0.8, txnP50: 1.2, txnP99: 1.5, flood: 1.5, models: 1.2 });

// Tests the novelty check (src/modes/novelty.ts) and how the policy acts on it: a sample is unfamiliar when
// too few trained samples lie near it in the network's standardised units; enough unfamiliar samples in the
// window begin an episode, which takes recommendation back to collaboration and holds promotions.
import t from 'tap';
import { NoveltyMonitor, DEFAULT_NOVELTY as N, type TrainedInputs } from '../../src/modes/novelty.js';
import { createEvidence, recordFeedback, summarize } from '../../src/modes/evidence.js';
import { decide, type DecideInput, type Signals } from '../../src/modes/policy.js';
import { noteTransition, createPolicyMemory } from '../../src/modes/memory.js';
import type { Mode } from '../../src/modes/modes.js';

/** A seeded generator, so every run judges the same samples. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Two phases the model was trained on, in raw units: (x0 near 0, x1 near 0) and (x0 near 10, x1 near 10),
 * each jittered by ±0.5. Standardised (mean 5, std 5) they sit near (-1, -1) and (1, 1).
 */
function phase(which: 'a' | 'b', n: number, random: () => number): Float32Array {
  const at = which === 'a' ? 0 : 10;
  const out = new Float32Array(n * 3);
  for (let k = 0; k < n; k++) out.set([at + random() - 0.5, at + random() - 0.5, 42], k * 3);
  return out;
}

function trainedOn(raw: Float32Array): TrainedInputs {
  const inMean = Float32Array.of(5, 5);
  const inStd = Float32Array.of(5, 5);
  const rows = new Float32Array((raw.length / 3) * 2);
  for (let k = 0; k < raw.length / 3; k++) for (let i = 0; i < 2; i++) rows[k * 2 + i] = (raw[k * 3 + i] - inMean[i]) / inStd[i];
  return { rows, inputs: 2, inMean, inStd };
}

function trainedMonitor(seed = 1): NoveltyMonitor {
  const random = rng(seed);
  const m = new NoveltyMonitor();
  const a = phase('a', 512, random);
  const b = phase('b', 512, random);
  const both = new Float32Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  m.train(trainedOn(both));
  return m;
}

/** One sample at a time, as the kernel's small batches arrive: the change each one caused. */
function feed(m: NoveltyMonitor, raw: Float32Array): ReturnType<NoveltyMonitor['observe']>[] {
  const changes = [];
  for (let s = 0; s < raw.length; s += 3) changes.push(m.observe(raw.subarray(s, s + 3), 3, 2));
  return changes;
}

t.test('samples like the trained ones never begin an episode', async (t) => {
  const m = trainedMonitor();
  const random = rng(2);
  for (let i = 0; i < 20; i++) {
    const changes = feed(m, phase(i % 2 ? 'a' : 'b', 100, random));
    t.ok(
      changes.every((c) => c === null),
      `block ${i}: no change`,
    );
  }
  t.equal(m.unfamiliarCount, 0);
  t.equal(m.report(), undefined);
});

t.test('a combination never trained on begins an episode, though each input alone is within its trained range', async (t) => {
  const m = trainedMonitor();
  // x0 like phase a, x1 like phase b: (-1, 1) standardised, 2 units from both trained clusters
  const novel = new Float32Array(N.trigger * 3);
  for (let k = 0; k < N.trigger; k++) novel.set([0.1, 9.9, 42], k * 3);
  const changes = feed(m, novel);
  t.same(changes.slice(0, -1), new Array(N.trigger - 1).fill(null), 'nothing before the trigger count');
  t.equal(changes.at(-1), 'began', `began at the ${N.trigger}th unfamiliar sample`);
  const r = m.report();
  t.ok(r, 'a report while the episode lasts');
  t.equal(r?.unfamiliar, N.trigger);
  t.equal(r?.window, N.window);
  t.ok(
    r && r.trainedMin < r.value && r.value < r.trainedMax,
    `the named input (${r?.input} at ${r?.value}) lies inside its trained range ${r?.trainedMin}..${r?.trainedMax}`,
  );
  t.equal(m.episodes, 1);

  // familiar samples push the unfamiliar ones out of the window: the episode ends at half the trigger
  const back = feed(m, phase('a', N.window, rng(3)));
  const ended = back.indexOf('ended');
  t.equal(ended, N.window - N.trigger / 2 - 1, 'ended once only half the trigger count was left in the window');
  t.equal(m.report(), undefined);
});

t.test('judged on the context inputs only, that combination is familiar; a context never trained on is not', async (t) => {
  const m = trainedMonitor();
  // x0 is the context, x1 a candidate: x0 like phase a with the candidate phase b used
  const pairing = new Float32Array(N.window * 3);
  for (let k = 0; k < N.window; k++) pairing.set([0.1, 9.9, 42], k * 3);
  const judgeContext = (raw: Float32Array) => {
    const changes = [];
    for (let s = 0; s < raw.length; s += 3) changes.push(m.observe(raw.subarray(s, s + 3), 3, 2, [0]));
    return changes;
  };
  t.same(judgeContext(pairing), new Array(N.window).fill(null), 'no episode');
  t.equal(m.unfamiliarCount, 0, 'not one sample unfamiliar');

  // x0 = 5: between the trained contexts (standardised 0, one unit from both)
  const between = new Float32Array(N.trigger * 3);
  for (let k = 0; k < N.trigger; k++) between.set([5, 0, 42], k * 3);
  t.equal(judgeContext(between).at(-1), 'began', 'a new context begins an episode');
  t.equal(m.report()?.input, 0, 'and names the context input');
  t.equal(m.observe(pairing.subarray(0, 3), 3, 2, [7]), null, 'an index beyond the inputs judges nothing');
});

t.test('a value beyond the trained range names that input and the range', async (t) => {
  const m = trainedMonitor();
  const novel = new Float32Array(N.trigger * 3);
  for (let k = 0; k < N.trigger; k++) novel.set([10, 30, 42], k * 3);
  t.equal(feed(m, novel).at(-1), 'began');
  const r = m.report();
  t.equal(r?.input, 1, 'input 1 is the one out of place');
  t.equal(r?.value, 30);
  t.ok(r && Math.abs(r.trainedMin - -0.5) < 0.01 && Math.abs(r.trainedMax - 10.5) < 0.01, `trained range ${r?.trainedMin}..${r?.trainedMax}`);
});

t.test('a few stray samples do not begin an episode', async (t) => {
  const m = trainedMonitor();
  const random = rng(4);
  for (let i = 0; i < 10; i++) {
    feed(m, phase('a', 10, random));
    t.equal(feed(m, Float32Array.of(0, 10, 42)).at(-1), null, `stray ${i + 1} in a window of mostly familiar samples`);
  }
});

/** The trained phases a and b plus `extra` rows of the novel combination (0.1, 9.9): a round that holds them. */
function trainedWithNovel(extra: number, seed = 1): TrainedInputs {
  const random = rng(seed);
  const a = phase('a', 512, random);
  const b = phase('b', 512, random);
  const all = new Float32Array(a.length + b.length + extra * 3);
  all.set(a);
  all.set(b, a.length);
  for (let k = 0; k < extra; k++) all.set([0.1, 9.9, 42], a.length + b.length + k * 3);
  return trainedOn(all);
}

function novelSamples(n: number): Float32Array {
  const out = new Float32Array(n * 3);
  for (let k = 0; k < n; k++) out.set([0.1, 9.9, 42], k * 3);
  return out;
}

t.test('a round that already holds the first new samples does not hide the rest of them', async (t) => {
  // The readahead module's case (round 12): new samples arrive a few at a time, and the training round after the
  // first few holds them, which would give the next ones their neighbours.
  const m = trainedMonitor();
  t.ok(
    feed(m, novelSamples(5)).every((c) => c === null),
    'five unfamiliar samples: no episode yet',
  );
  t.equal(m.unfamiliarCount, 5);
  m.train(trainedWithNovel(5));
  const changes = feed(m, novelSamples(3));
  t.equal(changes.at(-1), 'began', 'three more, judged against the round that found the first unfamiliar: an episode');
  t.match(m.report(), { unfamiliar: N.trigger }, 'the report counts them');

  // without unfamiliar samples in the window a round is used at once
  const quiet = trainedMonitor();
  quiet.train(trainedWithNovel(5));
  t.ok(
    feed(quiet, novelSamples(N.trigger)).every((c) => c === null),
    'a round that holds the combination makes it familiar',
  );
});

t.test('the held round is used once the window is free of unfamiliar samples, or during an episode', async (t) => {
  const random = rng(5);
  const m = trainedMonitor();
  feed(m, novelSamples(2));
  m.train(trainedWithNovel(8));
  feed(m, phase('a', N.window, random));
  t.equal(m.unfamiliarCount, 0, 'familiar samples push the two out of the window');
  t.ok(
    feed(m, novelSamples(N.trigger)).every((c) => c === null),
    'the round that held the combination is in use: it is familiar now',
  );

  const e = trainedMonitor();
  feed(e, novelSamples(N.trigger));
  t.ok(e.report(), 'episode on');
  e.train(trainedWithNovel(16));
  feed(e, novelSamples(N.window));
  t.equal(e.report(), undefined, 'a round trained on the new inputs ends the episode');
});

t.test('nothing is judged before a round is trained, or after forget, or with another input count', async (t) => {
  const fresh = new NoveltyMonitor();
  const far = new Float32Array(N.window * 3).fill(1000);
  t.ok(
    feed(fresh, far).every((c) => c === null),
    'untrained: never',
  );
  const m = trainedMonitor();
  t.ok(m.observe(new Float32Array(N.window * 4).fill(1000), 4, 3) === null && m.unfamiliarCount === 0, 'a sample with another input count is not judged');
  feed(m, new Float32Array(N.trigger * 3).fill(1000));
  t.ok(m.report(), 'episode on');
  m.forget();
  t.equal(m.report(), undefined, 'forget ends it');
  t.ok(
    feed(m, far).every((c) => c === null),
    'and judges nothing until trained again',
  );
});

// ---- the policy ----------------------------------------------------------------------------------

const HOUR = 3_600_000;
const QUIET: Signals = { critical: false, diverged: false, recommendationsStale: false };
const NOVEL: Signals = { ...QUIET, novelty: { unfamiliar: 9, window: 32, input: 3, value: 4.09, trainedMin: 0, trainedMax: 17.2 } };

function better() {
  const ev = createEvidence();
  for (let i = 0; i < 200; i++) {
    recordFeedback(ev, 'ml', 110 + (i % 2 ? 5 : -5));
    recordFeedback(ev, 'default', 100 + (i % 2 ? 5 : -5));
  }
  return summarize(ev);
}

function input(mode: Mode, signals: Signals, over: Partial<DecideInput> = {}): DecideInput {
  return { mode, policy: 'auto', summary: better(), signals, lastTransitionMs: HOUR - 1000, nowMs: HOUR, setbacks: 0, ...over };
}

t.test('policy: unfamiliar inputs take recommendation to collaboration at once, with the reason', async (t) => {
  const d = decide(input('recommendation', NOVEL));
  t.equal(d?.mode, 'collaboration');
  t.equal(d?.cause, 'novel');
  t.match(d?.reason, /9 of the last 32 samples are unfamiliar \(input 3 at 4\.09, trained 0\.\.17\.2\)/);
  t.equal(d?.numbers.unfamiliar, 9);
  t.equal(d?.numbers.in_mode_ms, 1000, 'no dwell: one second in recommendation was enough');
  t.equal(decide(input('recommendation', QUIET)), null, 'without the episode the same input stays');
});

t.test('policy: unfamiliar inputs hold promotions and demote nothing below recommendation', async (t) => {
  for (const mode of ['learning', 'collaboration'] as const) {
    const long = { lastTransitionMs: 0 };
    t.equal(decide(input(mode, QUIET, long))?.cause, 'promote', `${mode}: promoted on this evidence when familiar`);
    t.equal(decide(input(mode, NOVEL, long)), null, `${mode}: held while unfamiliar`);
  }
  t.equal(decide(input('recommendation', NOVEL, { policy: 'manual' })), null, 'a pinned mode is the operator’s');
  t.equal(decide(input('emergency', NOVEL, { emergencySinceMs: 0 }))?.cause, 'cooldown', 'emergency is left as usual');
});

t.test('policy: a fall-back on novelty is not a setback', async (t) => {
  const m = noteTransition(createPolicyMemory(0), 'collaboration', 'novel', 1000);
  t.equal(m.setbacks, 0, 'the next promotion waits the plain dwell');
});

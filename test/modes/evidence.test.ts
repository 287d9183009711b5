// Tests the evidence windows and their statistics against direct computation and known table values.
import t from 'tap';
import { createEvidence, recordFeedback, clearEvidence, summarize, confidenceAbove, confidenceBelow, DEFAULT_CAPACITY } from '../../src/modes/evidence.js';
import { normalCdf, tToZ, tConfidence, welchDf } from '../../src/modes/stats.js';

function meanStd(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
  return [m, Math.sqrt(v)];
}

t.test('capacity is validated and defaults to 200', async (t) => {
  t.equal(DEFAULT_CAPACITY, 200);
  t.equal(createEvidence().ml.values.length, 200);
  t.ok(createEvidence().ml.values instanceof Float64Array);
  t.throws(() => createEvidence(1), RangeError);
  t.throws(() => createEvidence(2.5), RangeError);
});

t.test('empty and single-sample windows give NaN, not made-up numbers', async (t) => {
  const ev = createEvidence(10);
  let s = summarize(ev);
  t.equal(s.mlCount, 0);
  t.ok(Number.isNaN(s.mlMean) && Number.isNaN(s.advantage) && Number.isNaN(s.welchT));
  t.ok(Number.isNaN(confidenceAbove(s, 0)));
  recordFeedback(ev, 'ml', 5);
  recordFeedback(ev, 'default', 4);
  s = summarize(ev);
  t.equal(s.mlMean, 5);
  t.ok(Number.isNaN(s.mlStd));
  t.ok(Number.isNaN(s.welchDf));
  t.ok(Number.isNaN(confidenceBelow(s, 0)));
});

t.test('the ring keeps only the newest `capacity` values per source', async (t) => {
  const ev = createEvidence(5);
  for (let i = 1; i <= 12; i++) recordFeedback(ev, 'ml', i);
  for (let i = 1; i <= 3; i++) recordFeedback(ev, 'default', 100 * i);
  const s = summarize(ev);
  const [m, sd] = meanStd([8, 9, 10, 11, 12]);
  t.equal(s.mlCount, 5);
  t.equal(s.mlMean, m);
  t.ok(Math.abs(s.mlStd - sd) < 1e-12);
  t.equal(s.defaultCount, 3);
  t.equal(s.defaultMean, 200);
});

t.test('non-finite efficiencies are refused', async (t) => {
  const ev = createEvidence(5);
  t.equal(recordFeedback(ev, 'ml', NaN), false);
  t.equal(recordFeedback(ev, 'ml', Infinity), false);
  t.equal(recordFeedback(ev, 'default', -Infinity), false);
  t.equal(recordFeedback(ev, 'ml', 1.5), true);
  t.equal(summarize(ev).mlCount, 1);
  t.equal(summarize(ev).defaultCount, 0);
});

t.test('clearEvidence forgets one window or both', async (t) => {
  const ev = createEvidence(5);
  for (const v of [1, 2, 3]) {
    recordFeedback(ev, 'ml', v);
    recordFeedback(ev, 'default', v);
  }
  clearEvidence(ev, 'ml');
  t.equal(summarize(ev).mlCount, 0);
  t.equal(summarize(ev).defaultCount, 3);
  recordFeedback(ev, 'ml', 7);
  t.equal(summarize(ev).mlMean, 7, 'old values do not leak back after a clear');
  clearEvidence(ev);
  t.equal(summarize(ev).defaultCount, 0);
  t.equal(summarize(ev).mlCount, 0);
});

t.test('welch statistics match a hand computation', async (t) => {
  const ml = [12, 14, 11, 15, 13, 16, 12, 14];
  const def = [10, 11, 9, 12, 10, 11, 10, 9, 11, 12];
  const ev = createEvidence(50);
  for (const v of ml) recordFeedback(ev, 'ml', v);
  for (const v of def) recordFeedback(ev, 'default', v);
  const s = summarize(ev);
  const [mm, ms] = meanStd(ml);
  const [dm, ds] = meanStd(def);
  const a = ms ** 2 / ml.length;
  const b = ds ** 2 / def.length;
  t.ok(Math.abs(s.diff - (mm - dm)) < 1e-12);
  t.ok(Math.abs(s.diffStderr - Math.sqrt(a + b)) < 1e-12);
  t.ok(Math.abs(s.welchT - (mm - dm) / Math.sqrt(a + b)) < 1e-9);
  const df = (a + b) ** 2 / (a ** 2 / (ml.length - 1) + b ** 2 / (def.length - 1));
  t.ok(Math.abs(s.welchDf - df) < 1e-9);
  t.ok(Math.abs(s.advantage - (mm - dm) / dm) < 1e-12, 'advantage is relative to the default mean');
  t.ok(Math.abs(s.advantageStderr - Math.sqrt(a + b) / dm) < 1e-12);
});

t.test('constant windows: infinite t, certain confidence, finite df', async (t) => {
  const ev = createEvidence(10);
  for (let i = 0; i < 10; i++) {
    recordFeedback(ev, 'ml', 110);
    recordFeedback(ev, 'default', 100);
  }
  const s = summarize(ev);
  t.equal(s.welchT, Infinity);
  t.equal(s.welchDf, 18);
  t.equal(confidenceAbove(s, 0.05), 1);
  t.equal(confidenceAbove(s, 0.2), 0);
  t.equal(confidenceBelow(s, 0.2), 1);
  t.equal(confidenceAbove(s, 0.1), 0.5);
});

t.test('a zero default mean makes margins absolute', async (t) => {
  const ev = createEvidence(10);
  for (const v of [1, -1, 1, -1]) recordFeedback(ev, 'default', v);
  for (const v of [2, 3, 2, 3]) recordFeedback(ev, 'ml', v);
  t.equal(summarize(ev).advantage, 2.5);
});

t.test('normal CDF and the t-to-z approximation against table values', async (t) => {
  const close = (a: number, b: number, tol: number) => Math.abs(a - b) < tol;
  t.ok(close(normalCdf(0), 0.5, 1e-7));
  t.ok(close(normalCdf(1.6448536), 0.95, 1e-6));
  t.ok(close(normalCdf(2.3263479), 0.99, 1e-6));
  t.ok(close(normalCdf(-3.0902323), 0.001, 1e-6));
  t.equal(normalCdf(Infinity), 1);
  t.equal(normalCdf(-Infinity), 0);
  // Student t quantiles: t(0.99, 29) = 2.462, t(0.95, 10) = 1.812, t(0.999, 60) = 3.232.
  t.ok(close(tConfidence(2.462, 29), 0.99, 5e-4));
  t.ok(close(tConfidence(1.812, 10), 0.95, 1e-3));
  t.ok(close(tConfidence(3.232, 60), 0.999, 2e-4));
  t.ok(tConfidence(2.33, 29) < 0.99, 'small samples are not granted normal-table confidence');
  t.equal(tToZ(1.5, Infinity), 1.5);
  t.equal(welchDf(0, 5, 0, 7), 10);
  t.ok(Number.isNaN(welchDf(1, 1, 1, 5)));
});

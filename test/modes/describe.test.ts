// Tests the text forms: the one-line transition description (prefix, quoting, numbers) and the evidence stats lines.
import t from 'tap';
import { describeTransition, evidenceStats, formatNumber } from '../../src/modes/describe.js';
import { decide } from '../../src/modes/policy.js';
import { createEvidence, recordFeedback, summarize } from '../../src/modes/evidence.js';

t.test('numbers: six significant digits, and tokens for non-finite values', async (t) => {
  t.equal(formatNumber(0), '0');
  t.equal(formatNumber(200), '200');
  t.equal(formatNumber(0.0199999999), '0.02');
  t.equal(formatNumber(103.21567891), '103.216');
  t.equal(formatNumber(-0.04681), '-0.04681');
  t.equal(formatNumber(1e-9), '1e-9');
  t.equal(formatNumber(NaN), 'nan');
  t.equal(formatNumber(Infinity), 'inf');
  t.equal(formatNumber(-Infinity), '-inf');
});

t.test('a hand-made decision renders in order', async (t) => {
  const line = describeTransition('learning', 'collaboration', {
    cause: 'promote',
    reason: 'ml beats default by 6.0%',
    numbers: { ml_mean: 106, default_mean: 100, n_ml: 120, n_default: 480, confidence: 0.9994 },
  });
  t.equal(
    line,
    'mode learning -> collaboration cause=promote reason="ml beats default by 6.0%" ml_mean=106 default_mean=100 n_ml=120 n_default=480 confidence=0.9994',
  );
});

t.test('a real promotion renders as one line of key=value fields', async (t) => {
  const ev = createEvidence();
  for (let i = 0; i < 200; i++) {
    recordFeedback(ev, 'ml', 110 + (i % 2 ? 5 : -5));
    recordFeedback(ev, 'default', 100 + (i % 2 ? 5 : -5));
  }
  const d = decide({
    mode: 'learning',
    policy: 'auto',
    summary: summarize(ev),
    signals: { critical: false, diverged: false, recommendationsStale: false },
    lastTransitionMs: 0,
    nowMs: 3_600_000,
  });
  t.ok(d);
  if (!d) return;
  const line = describeTransition('learning', d.mode, d);
  t.notMatch(line, /\n/);
  t.match(line, /^mode learning -> collaboration cause=promote reason="[^"]+" ml_mean=110 default_mean=100 n_ml=200 n_default=200 /);
  t.match(line, / confidence=1 /);
  t.match(line, / margin=0\.02 /);
  const fields = line
    .replace(/ reason="[^"]*"/, '')
    .split(' ')
    .slice(5);
  t.ok(fields.length >= 8);
  for (const f of fields) t.match(f, /^[a-z_]+=(-?[0-9.e+-]+|nan|-?inf)$/, f);
});

t.test('evidence stats: fixed keys, formatted values, nan while empty', async (t) => {
  const keys = [
    'ml_count',
    'ml_mean',
    'ml_std',
    'default_count',
    'default_mean',
    'default_std',
    'advantage',
    'welch_t',
    'confidence_better',
    'confidence_worse',
  ];
  const ev = createEvidence();
  const empty = evidenceStats(summarize(ev));
  t.same(
    empty.map(([k]) => k),
    keys.map((k) => `evidence_${k}`),
  );
  t.same(Object.fromEntries(empty).evidence_ml_count, '0');
  t.same(Object.fromEntries(empty).evidence_ml_mean, 'nan');
  for (let i = 0; i < 200; i++) {
    recordFeedback(ev, 'ml', 110 + (i % 2 ? 5 : -5));
    recordFeedback(ev, 'default', 100 + (i % 2 ? 5 : -5));
  }
  const full = Object.fromEntries(evidenceStats(summarize(ev)));
  t.equal(full.evidence_advantage, '0.1');
  t.equal(full.evidence_confidence_better, '1');
  t.equal(full.evidence_confidence_worse, '0');
});

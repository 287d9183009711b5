// Tests decide() case by case: every promotion, demotion, emergency cause, the cool-down, pins and the gates.
import t from 'tap';
import { createEvidence, recordFeedback, summarize, type EvidenceSummary } from '../../src/modes/evidence.js';
import { decide, evidenceResetFor, resetForTransition, type DecideInput, type Signals } from '../../src/modes/policy.js';
import { DEFAULT_THRESHOLDS as T } from '../../src/modes/thresholds.js';
import type { Mode } from '../../src/modes/modes.js';

/** Evidence whose windows hold `n` values alternating mean ± spread (the default mean is 100). */
function evidence(advantage: number, n = 200, spread = 10, nDefault = n): EvidenceSummary {
  const ev = createEvidence(Math.max(n, nDefault, 2));
  for (let i = 0; i < n; i++) recordFeedback(ev, 'ml', 100 * (1 + advantage) + (i % 2 ? spread : -spread));
  for (let i = 0; i < nDefault; i++) recordFeedback(ev, 'default', 100 + (i % 2 ? spread : -spread));
  return summarize(ev);
}

const QUIET: Signals = { critical: false, diverged: false, recommendationsStale: false };
const CRIT: Signals = { ...QUIET, critical: true };
const DIV: Signals = { ...QUIET, diverged: true };
const STALE: Signals = { ...QUIET, recommendationsStale: true };
const HOUR = 3_600_000;
/** A time `ms` before the decision, which is made at HOUR. */
const ago = (ms: number): number => HOUR - ms;

function input(mode: Mode, summary: EvidenceSummary, over: Partial<DecideInput> = {}): DecideInput {
  return { mode, policy: 'auto', summary, signals: QUIET, lastTransitionMs: 0, nowMs: HOUR, setbacks: 0, ...over };
}

interface Case {
  name: string;
  in: DecideInput;
  to: Mode | null;
  cause?: string;
}

const better = evidence(0.1);
const worse = evidence(-0.1);
const awful = evidence(-0.4);
const none = evidence(0, 0);

const cases: Case[] = [
  // Promotions, one step at a time.
  { name: 'learning -> collaboration when ml is clearly better', in: input('learning', better), to: 'collaboration', cause: 'promote' },
  { name: 'collaboration -> recommendation when ml is clearly better', in: input('collaboration', better), to: 'recommendation', cause: 'promote' },
  { name: 'recommendation is the top', in: input('recommendation', better), to: null },
  { name: 'emergency is never left by promotion', in: input('emergency', better, { emergencySinceMs: ago(1000) }), to: null },
  // Demotions, one step at a time, learning the floor.
  { name: 'recommendation -> collaboration when ml falls behind', in: input('recommendation', worse), to: 'collaboration', cause: 'demote' },
  { name: 'collaboration -> learning when ml falls behind', in: input('collaboration', worse), to: 'learning', cause: 'demote' },
  { name: 'learning is the floor for demotion', in: input('learning', worse), to: null },
  // Inadequate recommendations: straight to emergency from anywhere, without waiting for dwell.
  { name: 'learning -> emergency when ml is inadequate', in: input('learning', awful), to: 'emergency', cause: 'inadequate' },
  { name: 'collaboration -> emergency when ml is inadequate', in: input('collaboration', awful), to: 'emergency', cause: 'inadequate' },
  {
    name: 'recommendation -> emergency when inadequate, even just entered',
    in: input('recommendation', awful, { lastTransitionMs: HOUR }),
    to: 'emergency',
    cause: 'inadequate',
  },
  // Signals, from every non-emergency mode.
  ...(['learning', 'collaboration', 'recommendation'] as const).flatMap((m): Case[] => [
    { name: `${m} -> emergency on critical`, in: input(m, better, { signals: CRIT, lastTransitionMs: HOUR }), to: 'emergency', cause: 'critical' },
    { name: `${m} -> emergency on divergence`, in: input(m, better, { signals: DIV }), to: 'emergency', cause: 'diverged' },
    { name: `${m} -> emergency on stale recommendations`, in: input(m, better, { signals: STALE }), to: 'emergency', cause: 'stale' },
  ]),
  {
    name: 'critical takes precedence over divergence',
    in: input('learning', none, { signals: { critical: true, diverged: true, recommendationsStale: true } }),
    to: 'emergency',
    cause: 'critical',
  },
  // Leaving emergency.
  {
    name: 'emergency -> learning after the cool-down',
    in: input('emergency', none, { lastTransitionMs: ago(T.emergencyCooldownMs) }),
    to: 'learning',
    cause: 'cooldown',
  },
  { name: 'emergency stays during the cool-down', in: input('emergency', none, { lastTransitionMs: ago(T.emergencyCooldownMs - 1) }), to: null },
  { name: 'emergency stays while a cause persists', in: input('emergency', none, { signals: STALE }), to: null },
  { name: 'a recent cause restarts the cool-down', in: input('emergency', none, { lastCauseMs: ago(1000) }), to: null },
  { name: 'emergencySinceMs wins over an older transition time', in: input('emergency', none, { emergencySinceMs: ago(1000) }), to: null },
  {
    name: 'the second emergency in a row waits twice as long',
    in: input('emergency', none, { lastTransitionMs: ago(T.emergencyCooldownMs), setbacks: 2, lastSetbackMs: ago(T.emergencyCooldownMs) }),
    to: null,
  },
  {
    name: '... and leaves after that',
    in: input('emergency', none, { lastTransitionMs: ago(2 * T.emergencyCooldownMs), setbacks: 2, lastSetbackMs: ago(2 * T.emergencyCooldownMs) }),
    to: 'learning',
    cause: 'cooldown',
  },
  // Manual pins.
  { name: 'manual: a pinned learning is not promoted', in: input('learning', better, { policy: 'manual' }), to: null },
  { name: 'manual: a pinned recommendation is not demoted', in: input('recommendation', worse, { policy: 'manual' }), to: null },
  { name: 'manual: inadequate evidence does not override the pin', in: input('recommendation', awful, { policy: 'manual' }), to: null },
  { name: 'manual: stale recommendations do not override the pin', in: input('collaboration', better, { policy: 'manual', signals: STALE }), to: null },
  {
    name: 'manual: critical still forces emergency',
    in: input('recommendation', better, { policy: 'manual', signals: CRIT }),
    to: 'emergency',
    cause: 'critical',
  },
  {
    name: 'manual: divergence still forces emergency',
    in: input('collaboration', better, { policy: 'manual', signals: DIV }),
    to: 'emergency',
    cause: 'diverged',
  },
  { name: 'manual: emergency is not left by cool-down', in: input('emergency', none, { policy: 'manual', lastTransitionMs: 0 }), to: null },
  // Not enough evidence.
  { name: 'no promotion with too few ml samples', in: input('learning', evidence(0.1, T.minSamplesPromote - 1, 10, 200)), to: null },
  { name: 'no promotion with too few default samples', in: input('collaboration', evidence(0.1, 200, 10, T.minSamplesPromote - 1)), to: null },
  { name: 'promotion at exactly the sample minimum', in: input('learning', evidence(0.1, T.minSamplesPromote)), to: 'collaboration', cause: 'promote' },
  { name: 'no demotion with too few samples', in: input('collaboration', evidence(-0.1, T.minSamplesDemote - 1)), to: null },
  { name: 'no inadequate verdict with too few samples', in: input('learning', evidence(-0.4, T.minSamplesDemote - 1)), to: null },
  { name: 'demotion at exactly the sample minimum', in: input('collaboration', evidence(-0.1, T.minSamplesDemote)), to: 'learning', cause: 'demote' },
  {
    name: 'recommendation without a default baseline demotes to get one',
    in: input('recommendation', evidence(0.1, 100, 10, 0)),
    to: 'collaboration',
    cause: 'demote',
  },
  // Margins: certainty alone is not enough, the effect must clear the margin.
  { name: 'a certain but sub-margin advantage does not promote', in: input('learning', evidence(T.promoteMargin * 0.75, 200, 0.01)), to: null },
  {
    name: 'a certain advantage just over the margin promotes',
    in: input('learning', evidence(T.promoteMargin * 1.25, 200, 0.01)),
    to: 'collaboration',
    cause: 'promote',
  },
  { name: 'a certain but small shortfall stays (hysteresis band)', in: input('recommendation', evidence(-T.demoteMargin * 0.5, 200, 0.01)), to: null },
  {
    name: 'a certain shortfall beyond the demote margin demotes',
    in: input('recommendation', evidence(-T.demoteMargin * 1.5, 200, 0.01)),
    to: 'collaboration',
    cause: 'demote',
  },
  { name: 'a large but noisy advantage is not trusted', in: input('learning', evidence(0.1, 100, 60)), to: null },
  // Dwell time and back-off.
  { name: 'no promotion before the dwell time', in: input('learning', better, { lastTransitionMs: ago(T.promoteDwellMs - 1) }), to: null },
  {
    name: 'promotion once the dwell time is up',
    in: input('learning', better, { lastTransitionMs: ago(T.promoteDwellMs) }),
    to: 'collaboration',
    cause: 'promote',
  },
  { name: 'no demotion before its dwell time', in: input('collaboration', worse, { lastTransitionMs: ago(T.demoteDwellMs - 1) }), to: null },
  {
    name: 'a recent setback doubles the promotion dwell',
    in: input('learning', better, { lastTransitionMs: ago(T.promoteDwellMs), setbacks: 1, lastSetbackMs: ago(T.promoteDwellMs) }),
    to: null,
  },
  {
    name: '... which then passes',
    in: input('learning', better, { lastTransitionMs: ago(2 * T.promoteDwellMs), setbacks: 1, lastSetbackMs: ago(2 * T.promoteDwellMs) }),
    to: 'collaboration',
    cause: 'promote',
  },
  {
    name: 'old setbacks are forgiven',
    in: input('learning', better, { lastTransitionMs: ago(T.promoteDwellMs), setbacks: 3, lastSetbackMs: ago(T.forgiveMs) }),
    to: 'collaboration',
    cause: 'promote',
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const d = decide(c.in);
    if (c.to === null) {
      t.equal(d, null);
      return;
    }
    t.ok(d, 'a decision');
    if (!d) return;
    t.equal(d.mode, c.to);
    t.equal(d.cause, c.cause);
    t.match(d.reason, /\S/, 'a human-readable reason');
    for (const k of ['ml_mean', 'default_mean', 'n_ml', 'n_default', 'advantage', 'in_mode_ms']) t.type(d.numbers[k], 'number', k);
    if (d.cause === 'promote' || d.cause === 'demote' || d.cause === 'inadequate') {
      if (!/baseline|default samples/.test(d.reason)) {
        t.type(d.numbers.confidence, 'number');
        t.type(d.numbers.margin, 'number');
        t.match(d.reason, /%.*margin.*% confidence/);
      }
    }
  });
}

t.test('a decision is a pure function of its input', async (t) => {
  const i = input('learning', better);
  const before = JSON.stringify(i);
  t.same(decide(i), decide(i));
  t.equal(JSON.stringify(i), before, 'the input is not mutated');
});

t.test('thresholds can be overridden', async (t) => {
  t.equal(decide(input('learning', better), { ...T, promoteMargin: 0.5 }), null);
  t.equal(decide(input('learning', better), { ...T, minSamplesPromote: 1000 }), null);
});

t.test('evidence reset after a transition keeps the default baseline only into recommendation', async (t) => {
  t.same(evidenceResetFor('recommendation'), { ml: true, default: false });
  for (const m of ['emergency', 'learning', 'collaboration'] as const) t.same(evidenceResetFor(m), { ml: true, default: true }, m);
  const ev = createEvidence(10);
  for (let i = 0; i < 5; i++) {
    recordFeedback(ev, 'ml', 1);
    recordFeedback(ev, 'default', 1);
  }
  resetForTransition(ev, 'recommendation');
  t.equal(summarize(ev).mlCount, 0);
  t.equal(summarize(ev).defaultCount, 5);
  resetForTransition(ev, 'collaboration');
  t.equal(summarize(ev).defaultCount, 0);
});

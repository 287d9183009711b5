// Tests the policy memory: what each transition records, setback counting, forgiveness and back-off.
import t from 'tap';
import { createPolicyMemory, noteSignals, noteTransition, activeSetbacks, backoffFactor } from '../../src/modes/memory.js';
import { DEFAULT_THRESHOLDS as T } from '../../src/modes/thresholds.js';

const QUIET = { critical: false, diverged: false, recommendationsStale: false };

t.test('a new memory starts at the creation time with no setbacks', async (t) => {
  t.same(createPolicyMemory(42), { lastTransitionMs: 42, setbacks: 0 });
});

t.test('noteSignals records the last time a cause was seen, and nothing when quiet', async (t) => {
  const m = createPolicyMemory(0);
  t.equal(noteSignals(m, QUIET, 10), m, 'unchanged object when quiet');
  t.equal(noteSignals(m, { ...QUIET, critical: true }, 10).lastCauseMs, 10);
  t.equal(noteSignals(m, { ...QUIET, recommendationsStale: true }, 11).lastCauseMs, 11);
  t.equal(m.lastCauseMs, undefined, 'the input is not mutated');
});

t.test('each transition cause is or is not a setback', async (t) => {
  const table = [
    ['critical', 'emergency', 1],
    ['diverged', 'emergency', 1],
    ['stale', 'emergency', 1],
    ['inadequate', 'emergency', 1],
    ['demote', 'learning', 1],
    ['promote', 'collaboration', 0],
    ['cooldown', 'learning', 0],
    ['operator', 'recommendation', 0],
    ['operator', 'emergency', 0],
  ] as const;
  for (const [cause, to, setbacks] of table) {
    const m = noteTransition(createPolicyMemory(0), to, cause, 1000);
    t.equal(m.lastTransitionMs, 1000, `${cause}: transition time`);
    t.equal(m.setbacks, setbacks, `${cause}: setbacks`);
    t.equal(m.emergencySinceMs, to === 'emergency' ? 1000 : undefined, `${cause}: emergency start`);
    t.equal(m.lastCauseMs, to === 'emergency' && cause !== 'operator' ? 1000 : undefined, `${cause}: last cause`);
  }
});

t.test('setbacks accumulate while close together and are forgiven after forgiveMs', async (t) => {
  let m = createPolicyMemory(0);
  m = noteTransition(m, 'collaboration', 'demote', 1000);
  m = noteTransition(m, 'learning', 'demote', 2000);
  m = noteTransition(m, 'emergency', 'inadequate', 3000);
  t.equal(m.setbacks, 3);
  t.equal(activeSetbacks(m, 3000 + T.forgiveMs - 1, T.forgiveMs), 3);
  t.equal(activeSetbacks(m, 3000 + T.forgiveMs, T.forgiveMs), 0);
  m = noteTransition(m, 'learning', 'demote', 3000 + T.forgiveMs);
  t.equal(m.setbacks, 1, 'a setback after forgiveness starts a new count');
  m = noteTransition(m, 'collaboration', 'promote', 3000 + T.forgiveMs + 1);
  t.equal(m.setbacks, 1, 'a promotion does not wipe the count; only time does');
});

t.test('back-off doubles per setback beyond the free ones, up to the cap', async (t) => {
  t.same(
    [0, 1, 2, 3, 4, 5, 9].map((s) => backoffFactor(s, 0, 4)),
    [1, 2, 4, 8, 16, 16, 16],
  );
  t.same(
    [0, 1, 2, 3].map((s) => backoffFactor(s, 1, 4)),
    [1, 1, 2, 4],
  );
  t.equal(activeSetbacks({}, 5, 10), 0);
});

// Tests the mode table: names, order, apply_permil per mode, exact matching and the one-step ladder.
import t from 'tap';
import { MODES, applyPermil, isMode, isPolicy, modeRank, promotionOf, demotionOf, CORRECTION_REPEAT } from '../../src/modes/modes.js';

t.test('modes are ordered by trust, matching the upstream enum (emergency = 1 … recommendation = 4)', async (t) => {
  t.same([...MODES], ['emergency', 'learning', 'collaboration', 'recommendation']);
  t.same(MODES.map(modeRank), [0, 1, 2, 3]);
});

t.test('apply_permil per mode', async (t) => {
  const table: Array<[(typeof MODES)[number], number]> = [
    ['emergency', 0],
    ['learning', 100],
    ['collaboration', 500],
    ['recommendation', 1000],
  ];
  for (const [mode, permil] of table) t.equal(applyPermil(mode), permil, mode);
});

t.test('isMode matches exactly', async (t) => {
  for (const m of MODES) t.ok(isMode(m), m);
  for (const bad of ['', 'Learning', 'learning\n', ' learning', 'learn', 'auto', 'manual', 'unknown', 'emergency ']) {
    t.notOk(isMode(bad), JSON.stringify(bad));
  }
  t.ok(isPolicy('auto'));
  t.ok(isPolicy('manual'));
  t.notOk(isPolicy('Auto'));
});

t.test('promotion and demotion move one step; emergency and the ends have no step', async (t) => {
  t.equal(promotionOf('learning'), 'collaboration');
  t.equal(promotionOf('collaboration'), 'recommendation');
  t.equal(promotionOf('recommendation'), null);
  t.equal(promotionOf('emergency'), null);
  t.equal(demotionOf('recommendation'), 'collaboration');
  t.equal(demotionOf('collaboration'), 'learning');
  t.equal(demotionOf('learning'), null);
  t.equal(demotionOf('emergency'), null);
});

t.test('correction repeat is a small positive integer', async (t) => {
  t.ok(Number.isInteger(CORRECTION_REPEAT) && CORRECTION_REPEAT >= 1 && CORRECTION_REPEAT <= 4);
});

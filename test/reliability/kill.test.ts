// kill -9 in a loop, the CI variant of bench/kill-loop.mjs: a training server with --state-dir and
// durability=strict is killed mid-ingest and restarted; every acknowledged batch must come back, whole.
import t from 'tap';
// @ts-expect-error: a plain ES module without types
import { runKillLoop } from '../../bench/kill-loop.mjs';

t.test('kill -9 mid-ingest, twice: nothing acknowledged is lost, nothing comes back in part', async (t) => {
  const r = await runKillLoop({ kills: 2, seed: 5 });
  t.comment(`${r.kills} kills, ${r.batchesAcknowledged} batches acknowledged, ${r.unacknowledgedBack} unacknowledged batches back`);
  t.equal(r.kills, 2);
  t.ok(r.batchesAcknowledged > 0, 'batches were acknowledged');
  t.same(r.problems, [], 'no acknowledged batch missing, no batch in part');
  t.equal(r.samplesLost, 0);
});

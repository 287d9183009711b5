// The mode policy through the files: feedback written to `feedback` moves `mode` and `apply_permil`,
// every transition is explained in `events` and counted in `stats`.
import t from 'tap';
import { startServer, io, parseStats, waitFor } from '../helpers/server.js';

/** Feedback lines: `n` operations each way, the model `edge` better on average, with noise. */
function feedback(n: number, edge: number, seed: number): string {
  let x = seed;
  const noise = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 10;
  let text = '';
  for (let i = 0; i < n; i++) text += `ml ${(100 * (1 + edge) + noise()).toFixed(2)}\ndefault ${(100 + noise()).toFixed(2)}\n`;
  return text;
}

t.test('auto mode climbs on evidence and drops on a critical report', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const dir = `${s.mnt}/models/p`;
  await s.sh(`mkdir models/p && printf 'inputs=1\\noutputs=1\\npromote_dwell_ms=0\\ndemote_dwell_ms=0\\nemergency_cooldown_ms=1000\\n' > models/p/config &&
    echo commit > models/p/control && echo init > models/p/control && echo start > models/p/control`);
  const mode = async () => (await s.sh('cat models/p/mode models/p/apply_permil')).stdout;
  t.equal(await mode(), 'emergency\n0\n', 'a new model starts in emergency');
  t.equal(await io('write', `${dir}/mode`, 'automatic'), 'err EINVAL', 'exact keywords only');
  t.equal(await io('write', `${dir}/mode`, 'auto'), 'ok');
  t.match((await s.sh('cat models/p/stats')).stdout, /mode_policy auto\n/);
  await waitFor(async () => (await mode()) === 'learning\n100\n', 10000, 'the cool-down to end');
  t.pass('after the cool-down, emergency gives way to learning');

  await io('write', `${dir}/feedback`, feedback(60, 0.1, 1));
  t.equal(await mode(), 'learning\n100\n', 'not enough samples yet');
  await io('write', `${dir}/feedback`, feedback(60, 0.1, 2));
  t.equal(await mode(), 'collaboration\n500\n', 'a clearly better model is promoted');
  await io('write', `${dir}/feedback`, feedback(120, 0.1, 3));
  t.equal(await mode(), 'recommendation\n1000\n', 'and promoted again');

  t.equal(await io('write', `${dir}/feedback`, 'critical\n'), 'ok');
  t.equal(await mode(), 'emergency\n0\n', 'a critical report means emergency at once');

  const events = (await s.sh('cat models/p/events')).stdout;
  t.match(events, /mode emergency -> learning cause=cooldown reason="no emergency cause for \d+ s/);
  t.match(events, /mode learning -> collaboration cause=promote reason="ml beats default by [\d.]+%.*n_ml=\d+ n_default=\d+/);
  t.match(events, /mode recommendation -> emergency cause=critical/);
  const st = parseStats((await s.sh('cat models/p/stats')).stdout);
  t.equal(st.transitions_learning_to_collaboration, '1');
  t.equal(st.transitions_recommendation_to_emergency, '1');
  t.match(await s.log(), /"message":"mode_changed","model":"p","from":"learning","to":"collaboration","reason":"promote"/);

  // A pinned mode stays put whatever the evidence says.
  await io('write', `${dir}/mode`, 'collaboration');
  await io('write', `${dir}/feedback`, feedback(200, -0.3, 4));
  t.equal(await mode(), 'collaboration\n500\n', 'pinned: a worse model is not demoted by the policy');
  t.match((await s.sh('cat models/p/stats')).stdout, /mode_policy manual\n/);
});

t.test('a worse model is demoted, not promoted', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const dir = `${s.mnt}/models/w`;
  await s.sh(`mkdir models/w && printf 'promote_dwell_ms=0\\ndemote_dwell_ms=0\\n' > models/w/config && echo commit > models/w/control &&
    echo init > models/w/control && echo collaboration > models/w/mode && echo auto > models/w/mode`);
  await io('write', `${dir}/feedback`, feedback(60, -0.08, 5));
  t.equal((await s.sh('cat models/w/mode')).stdout, 'learning\n', 'collaboration drops one step to learning');
  await io('write', `${dir}/feedback`, feedback(200, -0.08, 6));
  t.equal((await s.sh('cat models/w/mode')).stdout, 'learning\n', 'learning is the floor for a model that is merely worse');
});

// The recommendation transaction file and the feedback file, including scale, batches, faults and errnos.
import t from 'tap';
import { startServer, io, parseStats } from '../helpers/server.js';

t.test('recommendation and feedback', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m && printf "inputs=2\\noutputs=2\\nhidden=4\\n" > models/m/config && echo commit > models/m/control');
  const dir = `${s.mnt}/models/m`;
  const stats = async () => parseStats((await s.sh('cat models/m/stats')).stdout);

  t.equal(await io('txn', `${dir}/recommendation`, '1 2\n'), 'err ENODATA', 'a created model has no network');
  t.equal(await io('read', `${dir}/recommendation`), 'err ENODATA', 'no recommendation yet');
  await io('write', `${dir}/control`, 'init');
  t.equal(await io('read', `${dir}/recommendation`), 'err ENODATA', 'still none before the first query');

  const one = await io('txn', `${dir}/recommendation`, '1 2\n');
  t.match(one, /^ok -?[\d.e-]+ -?[\d.e-]+$/, 'one line of outputs');
  t.equal(await io('read', `${dir}/recommendation`), one, 'a read without a write returns the latest');
  const shell = await s.sh('exec 3<>models/m/recommendation; echo "1 2" >&3; cat <&3');
  t.equal('ok ' + shell.stdout.trim(), one, 'a shell reading on the same fd after its write gets the answer');

  const batch = await io('txn', `${dir}/recommendation`, '1 2\n3 4\n5 6\n');
  const rows = batch.slice(3).split('\n');
  t.equal(rows.length, 3, 'one output line per input line');
  t.equal('ok ' + rows[0], one, 'same inputs, same outputs');

  for (const bad of ['1\n', '1 2 3\n', 'a b\n', '\n', 'NaN 1\n']) {
    t.equal(await io('txn', `${dir}/recommendation`, bad), 'err EINVAL', `query ${JSON.stringify(bad)} is refused`);
  }
  let st = await stats();
  t.equal(st.inferences, '5', 'inferences counted per query line');
  t.equal(st.inferences_in_emergency, '5', 'emergency mode still answers, and it is counted');

  // Fixed point: integers in, integers out.
  await s.sh('echo scale=1000 > models/m/config && echo commit > models/m/control');
  const fixed = await io('txn', `${dir}/recommendation`, '1000 2000\n');
  t.match(fixed, /^ok -?\d+ -?\d+$/, 'integers when scale is set');
  const [a, b] = fixed.slice(3).split(' ').map(Number);
  const [fa, fb] = one.slice(3).split(' ').map(Number);
  t.ok(Math.abs(a - fa * 1000) <= 1 && Math.abs(b - fb * 1000) <= 1, 'the same answer, scaled');

  // Faults for the kernel module's tests.
  await io('write', `${dir}/fault`, 'garbage');
  t.equal(await io('txn', `${dir}/recommendation`, '1000 2000\n'), 'ok zz?!#');
  await io('write', `${dir}/fault`, 'out_of_range');
  t.equal(await io('txn', `${dir}/recommendation`, '1000 2000\n'), 'ok 999999999999 999999999999');
  t.equal(await io('write', `${dir}/fault`, 'sometimes'), 'err EINVAL');
  await io('write', `${dir}/fault`, 'none');
  t.equal(await io('txn', `${dir}/recommendation`, '1000 2000\n'), fixed);

  // Feedback.
  t.equal(await io('write', `${dir}/feedback`, 'ml 850\n'), 'ok');
  t.equal(await io('write', `${dir}/feedback`, 'default 700\nml 900\n'), 'ok');
  t.equal(await io('write', `${dir}/feedback`, 'critical\n'), 'ok');
  t.equal(await io('write', `${dir}/feedback`, 'fallback 3\nfallback 2\n'), 'ok', 'the kernel reports its own fallbacks');
  for (const bad of [
    'ml\n',
    'ml x\n',
    'mlx 5\n',
    'ML 5\n',
    'default 1 2\n',
    'ml 5 1 2 3\n',
    'critical 5\n',
    '\n',
    'ml 5\nbogus 1\n',
    'fallback\n',
    'fallback -1\n',
    'fallback 1.5\n',
  ]) {
    t.equal(await io('write', `${dir}/feedback`, bad), 'err EINVAL', `feedback ${JSON.stringify(bad)} is refused`);
  }
  st = await stats();
  t.equal(st.feedback_ml, '2', 'a refused write counted nothing, not even its good lines');
  t.equal(st.feedback_default, '1');
  t.equal(st.feedback_critical, '1');
  t.equal(st.feedback_fallback, '2');
  t.equal(st.kernel_fallbacks, '5');
  t.match((await s.sh('cat models/m/events')).stdout, /kernel_fallback count=2 total=5/);
  t.match(await s.log(), /"level":"warn","message":"kernel_fallback","model":"m","source":"fallback","efficiency":3/);
  const before = Number(st.samples_total);
  t.match(await io('txn', `${dir}/recommendation`, '3000 4000\n-7000 8000\n'), /^ok /);
  t.equal(await io('write', `${dir}/feedback`, 'ml 500 1500 -2500\n'), 'ok', 'corrected outputs');
  st = await stats();
  t.equal(st.samples_corrected, '1');
  t.equal(Number(st.samples_total), before + 2, 'a correction becomes a training sample, stored twice (its weight)');
  t.match((await s.sh('tail -n 1 models/m/dataset')).stdout, /^-7000 8000 1500 -2500\n$/, "paired with the last query: the last write's last line");
  t.match(await io('txn', `${dir}/recommendation`, '1000 2000\n'), /^ok /);
  t.equal(await io('write', `${dir}/feedback`, 'ml 500 100 200\n'), 'ok');
  t.equal(
    (await s.sh('tail -n 4 models/m/dataset')).stdout,
    '-7000 8000 1500 -2500\n-7000 8000 1500 -2500\n1000 2000 100 200\n1000 2000 100 200\n',
    'a later query pairs with the later correction and leaves the stored ones as they were',
  );
});

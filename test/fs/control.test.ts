// The control file: every verb, the state machine, exact matching and the errno of every refusal.
import t from 'tap';
import { startServer, io } from '../helpers/server.js';

t.test('control verbs and states', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m');
  const ctl = `${s.mnt}/models/m/control`;
  const state = async () => (await s.sh('cat models/m/state')).stdout.trim();

  t.equal((await s.sh('cat models/m/control')).stdout, 'none\n', 'no verb yet');
  for (const junk of ['st', 'start2', '\n', 'START', 'start\n\n', ' start', 'start now', 'init\nstart']) {
    t.equal(await io('write', ctl, junk), 'err EINVAL', `junk ${JSON.stringify(junk)} is EINVAL`);
  }
  t.equal(await state(), 'created', 'junk changed nothing');

  t.equal(await io('write', ctl, 'start'), 'err EINVAL', 'start before init');
  t.match((await s.sh('cat models/m/control')).stdout, /^start EINVAL start: not allowed in state created/);
  t.equal(await io('write', ctl, 'stop'), 'err EINVAL', 'stop before start');
  t.equal(await io('write', ctl, 'reinit'), 'err EINVAL', 'reinit before init');
  t.equal(await io('write', ctl, 'prepare_dataset'), 'err EINVAL');
  t.equal(await io('write', ctl, 'discard_dataset'), 'err EINVAL');

  const r = await s.sh('echo init > models/m/control');
  t.equal(r.code, 0, 'echo with a newline works');
  t.equal(await state(), 'initialized');
  t.equal((await s.sh('cat models/m/control')).stdout, 'init ok\n');
  t.equal(await io('write', ctl, 'reinit'), 'ok');
  t.equal(await state(), 'initialized', 'reinit keeps the state');
  t.equal(await io('write', ctl, 'start'), 'ok');
  t.equal(await state(), 'started');
  t.equal(await io('write', ctl, 'start'), 'ok', 'start is idempotent');
  t.equal(await io('write', ctl, 'init'), 'err EINVAL', 'init while started');
  t.equal(await io('write', ctl, 'prepare_dataset'), 'ok');
  t.equal(await state(), 'running');
  t.equal(await io('write', ctl, 'prepare_dataset'), 'ok', 'prepare is idempotent');
  await s.sh('echo "1 2" > models/m/dataset');
  t.match((await s.sh('cat models/m/stats')).stdout, /samples_buffered 1\n/);
  t.equal(await io('write', ctl, 'discard_dataset'), 'ok');
  t.equal(await state(), 'started');
  t.match((await s.sh('cat models/m/stats')).stdout, /samples_buffered 0\n/, 'discard drops the buffered samples');
  await s.sh('echo "1 2" > models/m/dataset');
  t.equal(await io('write', ctl, 'reset'), 'ok');
  t.match((await s.sh('cat models/m/stats')).stdout, /samples_buffered 0\n/, 'reset clears the buffer');
  t.equal(await state(), 'started', 'reset keeps the state');
  t.equal(await io('write', ctl, 'stop'), 'ok');
  t.equal(await state(), 'stopped');
  t.equal(await io('write', ctl, 'stop'), 'ok', 'stop is idempotent');
  t.equal(await io('write', ctl, 'prepare_dataset'), 'err EINVAL', 'prepare needs a started model');
  t.equal(await io('write', ctl, 'commit'), 'ok', 'commit with nothing staged is a no-op');
  t.equal(await io('write', ctl, 'init'), 'ok', 'init again from stopped');
  t.equal(await state(), 'initialized');
  t.equal(await io('write', ctl, 'start'), 'ok');

  const events = (await s.sh('cat models/m/events')).stdout;
  t.match(events, /verb start failed EINVAL/, 'refused verbs are in the events file');
  t.match(events, /rejected file=control/, 'junk is in the events file');
  t.match(await s.log(), /"message":"input_rejected".*"file":"control"/, 'and in the server log');
  t.equal(await io('read', `${s.mnt}/models/m/feedback`), 'err EACCES', 'write-only files refuse reads, even for root');
  t.equal(await io('write', `${s.mnt}/models/m/state`, 'running'), 'err EACCES', 'read-only files refuse writes, even for root');
});

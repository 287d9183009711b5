// `training_pause=on` (config) stops new training rounds while samples, queries and the mode policy go on,
// and the paused time is not counted as staleness; `training_pause=off` resumes training.
// Real parts: a Session with the real training process (it runs from dist/, so this imports the build).
import t from 'tap';
import type { Session } from '../../dist/engine/session/session.js';
import { runningSession, sleep, until, feed as feedRows } from '../helpers/engine-session.js';

const setUp = (t: Tap.Test) => runningSession(t, 'inputs=2\noutputs=1\nhidden=8\nbatch_size=8\n');

function feed(session: Session, rows: number): Promise<void> {
  return feedRows(
    session,
    Array.from({ length: rows }, (_, i) => `${i % 7} ${i % 11} ${i % 5}`),
  );
}

t.test('paused: samples are taken in, queries answered, no round runs; off: training resumes', async (t) => {
  const session = setUp(t);
  session.stageConfig('training_pause=on\n');
  session.control('commit');
  t.equal(session.config.training_pause, 'on');
  const generation = session.learner.generation;
  await feed(session, 200);
  t.equal(session.ring.size, 200, 'the samples are buffered while paused');
  await sleep(1500);
  t.equal(session.learner.trainRounds, 0, 'no training round while paused');
  t.equal(session.learner.training, false, 'nothing is training');
  t.equal(session.learner.generation, generation, 'the weights did not move');
  t.match(session.transact(Buffer.from('1 2\n')).toString(), /^-?[0-9.e+-]+\n$/, 'a query is answered from the weights in force');
  t.match(session.events.render(), /config_committed training_pause=on/, 'the events file says training was paused');

  session.stageConfig('training_pause=off\n');
  session.control('commit');
  await until('a training round after the resume', () => session.learner.trainRounds > 0);
  t.ok(session.learner.generation > generation, `training resumed (generation ${generation} -> ${session.learner.generation})`);
});

t.test('the paused time is not staleness, before or after the resume', async (t) => {
  const session = setUp(t);
  session.stageConfig('training_pause=on\n');
  session.control('commit');
  session.setMode('learning');
  session.setMode('auto');
  await feed(session, 200);
  const fed = Date.now();
  // an hour later, still paused: data waits, but no worker is failing
  session.modes.tick(fed + 3_600_000);
  t.equal(session.modes.mode, 'learning', 'no stale emergency while paused');
  await sleep(1200);
  session.stageConfig('training_pause=off\n');
  session.control('commit');
  // 29.5 s after the resume, with the data waiting since before the pause (over 30 s in all): the
  // stale clock counts from the resume, so this is not stale yet
  session.modes.tick(Date.now() + 29_500);
  t.equal(session.modes.mode, 'learning', 'the stale clock restarts at the resume');
});

t.test('a bad value is refused and stages nothing', async (t) => {
  const session = setUp(t);
  t.throws(() => session.stageConfig('training_pause=yes\n'), { code: 'EINVAL' });
  t.same(session.staged, {}, 'nothing staged');
  t.equal(session.config.training_pause, 'off', 'the default is off');
});

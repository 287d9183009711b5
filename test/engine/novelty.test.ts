// The novelty check wired into a real Session with the real training process: samples unlike those of the
// last training round begin an episode in the events file, and a model in recommendation under auto falls
// back to collaboration with the reason; training on them makes them familiar and the episode ends.
import t from 'tap';
import { runningSession, sleep, until, feed } from '../helpers/engine-session.js';

/** Two phases: inputs near (0, 0) or near (10, 10), each output its own. */
function familiar(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i % 2 ? `${(i % 7) / 10} ${(i % 5) / 10} 1` : `${10 + (i % 7) / 10} ${10 + (i % 5) / 10} 2`));
}

t.test('unfamiliar inputs: an episode in the events file, recommendation -> collaboration, then familiar again', async (t) => {
  const session = runningSession(t, 'inputs=2\noutputs=1\nhidden=8\nbatch_size=8\nbuffer_capacity=20000\n');
  await feed(session, familiar(4000));
  await until('a training round', () => session.learner.trainRounds > 0);
  // no round may take the new samples in before they are judged (judging waits up to 100 ms)
  session.stageConfig('training_pause=on\n');
  session.control('commit');
  session.setMode('recommendation');
  session.setMode('auto');

  await feed(session, familiar(64));
  await sleep(300);
  t.equal(session.modes.mode, 'recommendation', 'familiar samples change nothing');
  t.notMatch(session.events.render(), /novelty/, 'no novelty line for familiar samples');

  // the first input like one phase, the second like the other: a combination never trained on
  await feed(
    session,
    Array.from({ length: 8 }, (_, i) => `${i / 10} ${10 + i / 10} 3`),
  );
  await until('the novelty episode', () => /novelty began/.test(session.events.render()), 5000);
  const events = session.events.render();
  t.match(events, /novelty began 8 of the last 32 samples unfamiliar; input \d at /, 'the episode is in the events file');
  t.match(
    events,
    /mode recommendation -> collaboration cause=novel reason="inputs unlike the model's training data: 8 of the last 32 samples are unfamiliar/,
    'and the fall-back, with its reason',
  );
  t.equal(session.modes.mode, 'collaboration');
  t.equal(session.modes.applyPermil, 500, 'the default runs on half the operations again');

  // trained on them (they become a share of what rounds sample), the same inputs are familiar again
  session.stageConfig('training_pause=off\n');
  session.control('commit');
  await feed(
    session,
    Array.from({ length: 2000 }, (_, i) => `${(i % 8) / 10} ${10 + (i % 8) / 10} 3`),
  );
  const rounds = session.learner.trainRounds;
  await until('a round trained with the new phase', () => session.learner.trainRounds > rounds + 1);
  await feed(
    session,
    Array.from({ length: 32 }, (_, i) => `${(i % 8) / 10} ${10 + (i % 8) / 10} 3`),
  );
  await until('the episode to end', () => /novelty ended/.test(session.events.render()), 5000);
  t.match(session.events.render(), /novelty ended [0-4] of the last 32 samples unfamiliar/, 'the episode ended');
});

// The novelty check wired into a real Session with the real training process: samples unlike those of the
// last training round begin an episode in the events file, and a model in recommendation under auto falls
// back to collaboration with the reason; training on them makes them familiar and the episode ends.
import t from 'tap';
import { runningSession, sleep, until, feed } from '../helpers/engine-session.js';

/** Two phases: inputs near (0, 0) or near (10, 10), each output its own. */
function familiar(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i % 2 ? `${(i % 7) / 10} ${(i % 5) / 10} 1` : `${10 + (i % 7) / 10} ${10 + (i % 5) / 10} 2`));
}

/** Train on the two phases, pause training, and hand the model to auto in recommendation. */
async function trainThenRecommend(session: ReturnType<typeof runningSession>): Promise<void> {
  await feed(session, familiar(4000));
  await until('a training round', () => session.learner.trainRounds > 0);
  // no round may take the new samples in before they are judged (judging waits up to 100 ms)
  session.stageConfig('training_pause=on\n');
  session.control('commit');
  session.setMode('recommendation');
  session.setMode('auto');
}

t.test('unfamiliar inputs: an episode in the events file, recommendation -> collaboration, then familiar again', async (t) => {
  const session = runningSession(t, 'inputs=2\noutputs=1\nhidden=8\nbatch_size=8\nbuffer_capacity=20000\n');
  await trainThenRecommend(session);

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

t.test('novelty_inputs: only the context inputs are judged, so an untried candidate in a familiar context is not new', async (t) => {
  // input 0 is the context, input 1 a candidate the subsystem asks about (as the readahead module's window)
  const session = runningSession(t, 'inputs=2\noutputs=1\nhidden=8\nbatch_size=8\nbuffer_capacity=20000\nnovelty_inputs=0\n');
  t.throws(
    () => {
      session.stageConfig('novelty_inputs=0,2\n');
      session.control('commit');
    },
    /novelty_inputs: input 2 does not exist/,
    'an input the model does not have is refused at commit',
  );
  session.stageConfig('novelty_inputs=0\n');
  session.control('commit');
  await trainThenRecommend(session);

  // a familiar context (input 0 near 0) with a candidate tried only in the other context (input 1 near 10):
  // the very samples that begin an episode when every input is judged (the test above)
  await feed(
    session,
    Array.from({ length: 32 }, (_, i) => `${(i % 8) / 10} ${10 + (i % 8) / 10} 3`),
  );
  await sleep(400);
  t.notMatch(session.events.render(), /novelty began/, 'no episode: the context is familiar');
  t.equal(session.modes.mode, 'recommendation', 'the mode stays');

  // a context never trained on (input 0 at 5, between the two phases) is new whatever the candidate
  await feed(
    session,
    Array.from({ length: 8 }, (_, i) => `${5 + i / 100} ${i / 10} 3`),
  );
  await until('the novelty episode', () => /novelty began/.test(session.events.render()), 5000);
  t.match(session.events.render(), /novelty began 8 of the last 32 samples unfamiliar; input 0 at 5\.0/, 'names the context input');
  t.equal(session.modes.mode, 'collaboration', 'and falls back');
});

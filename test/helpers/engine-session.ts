// A real Session with the real training process, for engine tests that need no mount (imports the build:
// the training worker runs from dist/). Cleans up on the test's teardown.
import { createBus } from '../../dist/events.js';
import { Session } from '../../dist/engine/session/session.js';
import { TrainingWorker } from '../../dist/engine/train/trainer.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `test` every 50 ms; throw naming `what` after `ms`. */
export async function until(what: string, test: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A session configured with `config` (key=value lines), initialised, started and receiving data. */
export function runningSession(t: { teardown(fn: () => Promise<void>): void }, config: string): Session {
  const worker = new TrainingWorker();
  const session = new Session('m', createBus(), worker);
  t.teardown(async () => {
    await session.destroy();
    await worker.close();
  });
  session.stageConfig(config);
  for (const verb of ['commit', 'init', 'start', 'prepare_dataset']) session.control(verb);
  return session;
}

/** One dataset batch of text rows, stored when the promise settles. */
export async function feed(session: Session, rows: string[]): Promise<void> {
  const batch = session.openBatch();
  batch.feed(Buffer.from(rows.join('\n') + '\n'));
  await batch.commit();
}

// Bulk dataset work runs one job per event-loop turn while someone is waiting on other requests, so work already
// waiting (a transaction) runs between jobs; with no one waiting it runs at once.
import t from 'tap';
import { BulkQueue, INTERACTIVE_QUIET_MS } from '../../src/fs/bulk-queue.js';

/** A queue on a clock the test moves, that has just seen an interactive request. */
function busyQueue() {
  const clock = { now: 1000 };
  const q = new BulkQueue(() => clock.now);
  q.sawInteractive(clock.now);
  return { q, clock };
}

t.test('jobs run one per turn, with other waiting work in between, and settle their promises', async (t) => {
  const { q } = busyQueue();
  const order: string[] = [];
  // While queueing, run returns a promise (the second test checks the type).
  const jobs = [1, 2, 3].map((i) => q.run(() => (order.push(`job${i}`), i)) as Promise<number>);
  t.equal(q.waiting, 3, 'nothing runs at once');
  setImmediate(() => order.push('waiting request'));
  t.same(await Promise.all(jobs), [1, 2, 3], 'each job settles with its result');
  t.same(order, ['job1', 'waiting request', 'job2', 'job3'], 'the waiting request ran before the second job, not after the batch');
  const failed = q.run(() => {
    throw new Error('bad sample');
  });
  await t.rejects(failed as Promise<never>, /bad sample/, "a job's error rejects its promise");
  t.equal(await (q.run(() => 'next') as Promise<string>), 'next', 'the queue keeps going after an error');
});

t.test('with no interactive request lately a job runs at once; after one it queues for the quiet time', async (t) => {
  const clock = { now: 0 };
  const q = new BulkQueue(() => clock.now);
  t.equal(
    q.run(() => 'lone'),
    'lone',
    'a lone writer is not made to wait a turn',
  );
  t.throws(
    () =>
      q.run(() => {
        throw new Error('bad sample');
      }),
    /bad sample/,
    'an error of a job run at once is thrown to its caller',
  );
  q.sawInteractive(clock.now);
  clock.now += INTERACTIVE_QUIET_MS;
  const queued = q.run(() => 'queued');
  t.type(queued, Promise, 'within the quiet time after an interactive request, jobs queue');
  clock.now += 1;
  const behind = q.run(() => 'behind');
  t.type(behind, Promise, 'past the quiet time a job still queues behind one waiting, keeping the order');
  t.same(await Promise.all([queued as Promise<string>, behind as Promise<string>]), ['queued', 'behind']);
  t.equal(
    q.run(() => 'quiet again'),
    'quiet again',
    'once the queue is empty and the quiet time passed, at once again',
  );
});

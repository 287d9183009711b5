// Bulk dataset work runs one job per event-loop turn, so work already waiting (a transaction) runs between jobs.
import t from 'tap';
import { BulkQueue } from '../../src/fs/bulk-queue.js';

t.test('jobs run one per turn, with other waiting work in between, and settle their promises', async (t) => {
  const q = new BulkQueue();
  const order: string[] = [];
  const jobs = [1, 2, 3].map((i) => q.run(() => (order.push(`job${i}`), i)));
  t.equal(q.waiting, 3, 'nothing runs at once');
  setImmediate(() => order.push('waiting request'));
  t.same(await Promise.all(jobs), [1, 2, 3], 'each job settles with its result');
  t.same(order, ['job1', 'waiting request', 'job2', 'job3'], 'the waiting request ran before the second job, not after the batch');
  const failed = q.run(() => {
    throw new Error('bad sample');
  });
  await t.rejects(failed, /bad sample/, "a job's error rejects its promise");
  t.equal(await q.run(() => 'next'), 'next', 'the queue keeps going after an error');
});

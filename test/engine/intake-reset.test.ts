// reset and discard_dataset empty the buffer and the dataset log: under durability=strict the verb's answer waits
// until the log is empty on disk (as a batch's close waits for its record) and fails with EIO if it could not be;
// under durability=batch it does not wait.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus } from '../../src/events.js';
import { Intake } from '../../src/engine/session/intake.js';
import { Reporter } from '../../src/engine/session/reporter.js';
import { DEFAULT_CONFIG, type ModelConfig } from '../../src/engine/session/config.js';
import { ModelStore } from '../../src/engine/store/store.js';

async function setup(t: { teardown(fn: () => unknown): void }, durability: ModelConfig['durability']) {
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-intake-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await ModelStore.open(dir, durability);
  t.teardown(() => store.close('m'));
  const config: ModelConfig = { ...DEFAULT_CONFIG, inputs: 2, outputs: 1, durability };
  const report = new Reporter('m', createBus());
  const intake = new Intake({ name: 'm', bus: createBus(), store, config: () => config, report, newData: () => {} });
  await intake.ingest([new Float32Array([1, 2, 3, 4, 5, 6])], 24);
  // The log's reset, held until the test lets it go (or fails it).
  let settle: { resolve(): void; reject(err: Error): void } | undefined;
  const realReset = store.resetLog.bind(store);
  store.resetLog = () =>
    new Promise<void>((resolve, reject) => {
      settle = {
        resolve: () => {
          realReset().then(resolve, reject);
        },
        reject,
      };
    });
  return { intake, report, release: () => settle?.resolve(), fail: (err: Error) => settle?.reject(err) };
}

const turns = () => new Promise((resolve) => setTimeout(resolve, 20));

t.test('strict: the verb waits for the emptied log', async (t) => {
  const s = await setup(t, 'strict');
  const pending = s.intake.clear('reset');
  t.ok(pending instanceof Promise, 'clear hands the verb a promise');
  let done = false;
  void pending?.then(() => (done = true));
  await turns();
  t.equal(s.intake.buffer.size, 0, 'the buffer is empty at once');
  t.equal(done, false, 'the answer waits while the log is not yet empty on disk');
  s.release();
  await pending;
  t.pass('and comes once it is');
});

t.test('strict: a log that cannot be emptied fails the verb with EIO and says so', async (t) => {
  const s = await setup(t, 'strict');
  const pending = s.intake.clear('discard_dataset');
  await turns();
  s.fail(new Error('ENOSPC: no space left on device'));
  await t.rejects(pending as Promise<void>, {
    code: 'EIO',
    message: /^discard_dataset: the buffer is empty, but the dataset log could not be emptied on disk: ENOSPC/,
  });
  t.match(s.report.events.render(), /store_error dataset log reset: ENOSPC/, 'a store_error event');
});

t.test('batch: the verb does not wait for the disk', async (t) => {
  const s = await setup(t, 'batch');
  t.equal(s.intake.clear('reset'), undefined, 'answered at once');
  s.release();
});

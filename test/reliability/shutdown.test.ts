// SIGTERM during heavy ingest and training: the server unmounts, every batch is stored whole or its close
// fails (never half), every acknowledged batch survives into the next start, and the process exits 0
// within src/shutdown.ts's bound (enforced by the server itself: past it, it exits 1). A second SIGTERM
// forces the exit and still leaves no mount behind.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, waitFor, parseStats, ROOT, isMounted as mounted, testDir, type Server } from '../helpers/server.js';
import { FORCED_EXIT_CODE, SHUTDOWN_BOUND_MS } from '../../src/shutdown.js';

const WRITER = join(ROOT, 'test/helpers/batch-writer.mjs');
const BATCH = 50;

function exitOf(proc: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve({ code: proc.exitCode, signal: proc.signalCode });
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Two trained models, each fed by two writers in their own processes; resolves once batches flow. */
async function busyServer(t: Test, state: string) {
  const s = await startServer({ args: ['--state-dir', state] });
  t.teardown(() => s.stop());
  const models = ['a', 'b'];
  for (const m of models) {
    await s.sh(`mkdir models/${m} && printf 'inputs=2\\noutputs=1\\nhidden=16,16\\nbatch_size=16\\nbuffer_capacity=1000000\\n' > models/${m}/config &&
      echo commit > models/${m}/control && echo init > models/${m}/control && echo start > models/${m}/control`);
  }
  const writers: { model: string; proc: ChildProcess; acks: string; out: string }[] = [];
  models.forEach((model, i) => {
    for (let w = 0; w < 2; w++) {
      const acks = join(s.dir, `acks-${model}-${w}`);
      const proc = spawn(process.execPath, [WRITER, `${s.mnt}/models/${model}/dataset`, acks, String(i * 10 + w), String(BATCH)]);
      const entry = { model, proc, acks, out: '' };
      proc.stdout?.on('data', (d) => (entry.out += d));
      t.teardown(() => proc.kill('SIGKILL'));
      writers.push(entry);
    }
  });
  await waitFor(
    async () => {
      const counts = await Promise.all(writers.map(async (w) => (await readFile(w.acks, 'utf8').catch(() => '')).split('\n').length));
      return counts.every((n) => n > 20);
    },
    60000,
    'every writer to have batches acknowledged',
  );
  await waitFor(async () => parseStats((await s.sh('cat models/a/stats')).stdout).train_rounds !== '0', 60000, 'training');
  return { s, models, writers };
}
type Test = typeof t;

/** After a restart: every acknowledged batch is there, and every batch there is whole. */
async function checkBatches(t: Test, s: Server, model: string, acked: Set<string>, inFlight: number) {
  const rows = (await s.sh(`cat models/${model}/dataset`)).stdout.trim().split('\n').filter(Boolean);
  const perBatch = new Map<string, number>();
  for (const r of rows) {
    const [w, b] = r.split(' ');
    perBatch.set(`${w} ${b}`, (perBatch.get(`${w} ${b}`) ?? 0) + 1);
  }
  const partial = [...perBatch].filter(([, n]) => n !== BATCH);
  t.same(partial, [], `${model}: no batch is stored in part (${perBatch.size} batches)`);
  const missing = [...acked].filter((k) => !perBatch.has(k));
  t.same(missing, [], `${model}: all ${acked.size} acknowledged batches are back`);
  t.ok(perBatch.size <= acked.size + inFlight, `${model}: at most the ${inFlight} batches in flight came back unacknowledged (${perBatch.size - acked.size})`);
}

t.test('SIGTERM under heavy ingest and training: clean exit 0, no mount, no half batch, nothing acknowledged lost', async (t) => {
  const state = await testDir(t, 'mlproxy-shutdown-');
  const { s, models, writers } = await busyServer(t, state);
  const began = Date.now();
  s.proc.kill('SIGTERM');
  const { code, signal } = await exitOf(s.proc);
  t.comment(`SIGTERM to exit: ${Date.now() - began} ms (bound ${SHUTDOWN_BOUND_MS} ms)`);
  t.equal(signal, null, 'not killed by the signal');
  t.equal(code, 0, 'exit status 0: the clean stop finished within its bound');
  t.notOk(await mounted(s.mnt), 'nothing is left mounted');
  const outcomes = await Promise.all(writers.map(async (w) => (await exitOf(w.proc), w.out.trim())));
  t.ok(
    outcomes.every((o) => /^(open|write|close) E[A-Z]+$/.test(o)),
    `every writer saw its next operation fail: ${outcomes.join(', ')}`,
  );
  const acks = await Promise.all(writers.map(async (w) => ({ model: w.model, keys: (await readFile(w.acks, 'utf8')).trim().split('\n') })));
  await s.stop();

  const again = await startServer({ args: ['--state-dir', state] });
  t.teardown(() => again.stop());
  for (const model of models) {
    const acked = new Set<string>();
    for (const w of acks.filter((x) => x.model === model)) for (const k of w.keys) acked.add(k);
    await checkBatches(t, again, model, acked, 2);
  }
});

t.test('a second SIGTERM forces the exit, and so does the bound; neither leaves a mount behind', async (t) => {
  for (const how of ['second SIGTERM', 'bound']) {
    // The test-only delay holds the clean stop back longer than the bound, so only forcing can end it.
    const s = await startServer({ env: { MLPROXY_TEST_STOP_DELAY_MS: String(SHUTDOWN_BOUND_MS + 5000) } });
    t.teardown(() => s.stop());
    await s.sh('mkdir models/m && echo init > models/m/control');
    s.proc.kill('SIGTERM');
    await waitFor(async () => /SIGTERM: unmounting/.test(await s.log()), 10000, 'the first SIGTERM to be handled');
    if (how === 'second SIGTERM') s.proc.kill('SIGTERM');
    const { code, signal } = await exitOf(s.proc);
    t.equal(signal, null, `${how}: the process ended itself rather than dying of the signal`);
    t.equal(code, FORCED_EXIT_CODE, `${how}: exit status ${FORCED_EXIT_CODE}, forced`);
    t.notOk(await mounted(s.mnt), `${how}: nothing is left mounted`);
    t.match(await s.log(), how === 'bound' ? /clean stop took over \d+ ms: forcing exit/ : /second SIGTERM: forcing exit/);
  }
});

// MLDS batches through the mount: what `cat dataset` shows, across text batches, a scale change and a restart,
// is each value divided by the scale in force at its write (the buffer keeps MLDS rows as int32s until read).
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, parseStats, testDir, type Server } from '../helpers/server.js';
import { mldsBatch } from '../helpers/mlds.js';

let seed = 3;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const value = () => Math.trunc((random() - 0.5) * (random() < 0.7 ? 20_000 : 2e9));

const mlds = (rows: number[][]) => mldsBatch(2, 1, rows.flat());

/** How `cat dataset` prints a value stored as `raw / writtenScale` (a float32) when the model's scale is `shownScale`. */
const shown = (raw: number, writtenScale: number, shownScale: number) => String(Math.round(Math.fround(raw / writtenScale) * shownScale));
const lines = (rows: number[][], writtenScale: number, shownScale: number) =>
  rows.map((r) => r.map((v) => shown(v, writtenScale, shownScale)).join(' ') + '\n').join('');
const batch = (n: number) => Array.from({ length: n }, () => [value(), value(), value()]);

async function model(s: Server, name: string): Promise<void> {
  await s.sh(
    `mkdir models/${name} && printf "inputs=2\\noutputs=1\\nscale=1000\\nbuffer_capacity=5000\\n" > models/${name}/config && echo commit > models/${name}/control`,
  );
}

async function writeBatch(s: Server, name: string, bytes: Buffer | string): Promise<void> {
  const file = join(s.dir, 'batch');
  await writeFile(file, bytes);
  const r = await s.sh(`cat ${file} > models/${name}/dataset`);
  if (r.code !== 0) throw new Error(`batch refused: ${r.stderr}`);
}

t.test('MLDS rows read back as their values divided by the scale at their write, among text rows and after a scale change', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await model(s, 'm');
  const first = batch(3000); // 64 KiB writes: records straddle them
  await writeBatch(s, 'm', mlds(first));
  t.equal((await s.sh('cat models/m/dataset')).stdout, lines(first, 1000, 1000), 'the first MLDS batch');
  const second = batch(1500);
  await writeBatch(s, 'm', mlds(second));
  await writeBatch(s, 'm', '1 2 3\n-4 5.5 6\n');
  const text = [
    [1, 2, 3],
    [-4, 5.5, 6],
  ];
  await s.sh('printf "scale=8\\n" > models/m/config && echo commit > models/m/control');
  const third = batch(1000);
  await writeBatch(s, 'm', mlds(third));
  // The buffer holds 5000: the oldest 502 of the first batch went.
  const want = lines(first.slice(502), 1000, 8) + lines(second, 1000, 8) + lines(text, 1000, 8) + lines(third, 8, 8);
  t.equal((await s.sh('cat models/m/dataset')).stdout, want, 'each batch divided by its own scale, shown at the new one');
  const stats = parseStats((await s.sh('cat models/m/stats')).stdout);
  t.equal(stats.samples_total, String(3000 + 1500 + 2 + 1000));
  t.equal(stats.samples_dropped, '502');
});

t.test('MLDS rows written with --state-dir come back after a restart as they were read before it', async (t) => {
  // The server's directory is the test's, so it outlives the first server; the state dir sits inside it.
  const dir = await testDir(t, 'mlproxy-mlds-');
  const state = join(dir, 'state');
  let s = await startServer({ args: ['--state-dir', state], dir });
  t.teardown(() => s.stop()); // registered after the directory's removal, so it runs before it
  await model(s, 'p');
  const rows = batch(2000);
  await writeBatch(s, 'p', mlds(rows));
  const before = (await s.sh('cat models/p/dataset')).stdout;
  t.equal(before, lines(rows, 1000, 1000), 'read before the restart');
  await s.stop();
  s = await startServer({ args: ['--state-dir', state], dir });
  t.equal((await s.sh('cat models/p/dataset')).stdout, before, 'the same after it');
});

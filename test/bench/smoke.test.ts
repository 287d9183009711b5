// The benchmarks against the floor (bench/ceilings.mjs), the suite's plotted ones (fuse-latency, memory) and the
// plot-drawing tools run end to end at tiny sizes, so they never rot:
// baselines built, all servers mounted and driven, JSON and the report written, every mount and process gone.
// No timing assertions: the numbers only have to exist.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server.js';

const execFileP = promisify(execFile);

const mountsUnder = async (dir: string) => (await readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.split(' ')[1]?.startsWith(dir));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A directory for one benchmark run: its TMPDIR (where the servers mount) and the file the benchmark lists the
 * servers it started in; at the end of the test, anything still mounted under it is lazily unmounted and it is removed.
 */
async function benchRun(t: { teardown(fn: () => unknown): void }, prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const pids = join(dir, 'servers');
  t.teardown(async () => {
    // Whatever happened, nothing of ours stays mounted (a lazy unmount is the last resort).
    for (const line of await mountsUnder(dir)) await execFileP('fusermount', ['-uz', line.split(' ')[1]]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  await execFileP('mkdir', ['-p', join(dir, 'tmp')]);
  await execFileP('touch', [pids]);
  return {
    dir,
    env: { ...process.env, TMPDIR: join(dir, 'tmp'), MLPROXY_BENCH_PIDS: pids },
    /** The pids of the servers the benchmark started. */
    started: async () =>
      (await readFile(pids, 'utf8'))
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split(' ')[0])),
  };
}

t.test('bench/ceilings.mjs --quick runs every measure on every server and leaves nothing behind', async (t) => {
  const { dir, env, started: startedPids } = await benchRun(t, 'mlproxy-smoke-');
  const results = join(dir, 'results');
  await execFileP('mkdir', ['-p', results]);
  const { stdout } = await execFileP(process.execPath, [join(ROOT, 'bench/ceilings.mjs'), '--quick', '--out', join(results, 'ceilings.json')], {
    env,
    cwd: ROOT,
    timeout: 150_000,
  });
  t.match(stdout, /## Against the floor/, 'the section is printed');

  const out = JSON.parse(await readFile(join(results, 'ceilings.json'), 'utf8'));
  for (const placement of ['same', 'split']) {
    for (const measure of ['perWrite', 'text', 'binary', 'txn', 'cat', 'flood', 'floodAt0']) {
      const byServer = out.data.results[placement][measure];
      const servers = measure.startsWith('flood') ? ['mlproxy', 'fuseNative', 'c', 'strict'] : ['mlproxy', 'fuseNative', 'c'];
      t.same(Object.keys(byServer).sort(), servers.sort(), `${placement} ${measure}: every server measured`);
      for (const s of servers)
        t.ok(
          Object.values(byServer[s][0]).every((v) => Number.isFinite(v)),
          `${placement} ${measure} ${s}: finite numbers`,
        );
    }
  }
  t.equal(out.data.results.same.flood.mlproxy[0].failedWrites, 0, 'mlproxy took every flood batch (none refused)');
  t.equal(out.data.results.same.floodAt0.mlproxy[0].failedWrites, 0, 'and every batch of the flood with queries by pwrite');
  t.ok(out.data.scale.length >= 2 && out.data.scale.every((s: { rss: number }) => s.rss > 0), 'model counts measured with RSS');
  t.ok(out.goals.length >= 11, 'every goal is judged');
  t.same(
    out.plots.map((p: { file: string }) => p.file),
    ['performance-ceilings.svg'],
    "the ratio plot is in the result, for the suite's report to write beside the doc",
  );
  t.match(out.section, '](performance-ceilings.svg)', 'and the section links it');

  const { stdout: doc } = await execFileP(process.execPath, [join(ROOT, 'bench/report.mjs'), results], { cwd: ROOT });
  t.match(doc, /## Against the floor/, 'bench/report.mjs renders the section');

  const json = join(results, 'ceilings.json');
  const { stdout: pooled } = await execFileP(process.execPath, [join(ROOT, 'bench/ceilings-pool.mjs'), json, json], { cwd: ROOT });
  const verdicts = pooled.split('\n').filter((l) => / (yes|\*\*no\*\*) \|$/.test(l));
  t.equal(verdicts.length, 11, 'bench/ceilings-pool.mjs gives every goal a verdict over the runs given');
  t.match(pooled, /\(2 of 2 rounds meet it\)|\(0 of 2 rounds meet it\)/, 'the same run twice pools two rounds');
  const { stdout: split } = await execFileP(process.execPath, [join(ROOT, 'bench/ceilings-pool.mjs'), '--split', json], { cwd: ROOT });
  t.equal(split.split('\n').filter((l) => / (yes|\*\*no\*\*) \|$/.test(l)).length, 11, '--split: every goal judged with the client on the other core');
  t.match(split, /\| measure \(different cores;/, '--split: the table says which placement');

  t.same(await mountsUnder(dir), [], 'no mount left');
  const started = await startedPids();
  t.equal(started.length, 4, 'four servers were started (mlproxy twice, two baselines)');
  t.same(started.filter(alive), [], 'every server process is gone');
});

t.test('bench/ceilings.mjs whose reader stops early (| head) still finishes and cleans up', async (t) => {
  const { dir, env, started: startedPids } = await benchRun(t, 'mlproxy-smoke-pipe-');
  const child = spawn(process.execPath, [join(ROOT, 'bench/ceilings.mjs'), '--quick'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  // The first progress line read, both pipes close: every later write of the benchmark meets EPIPE.
  child.stderr.once('data', () => {
    child.stdout.destroy();
    child.stderr.destroy();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  t.equal(code, 0, 'it ran to its end');
  t.same(await readdir(join(dir, 'tmp')), [], 'its temporary directory is gone');
  t.same(await mountsUnder(dir), [], 'no mount left');
  const started = await startedPids();
  t.equal(started.length, 4, 'all four servers were started');
  t.same(started.filter(alive), [], 'every server process is gone');
});

/** Pids of the processes whose command line names something under `dir` (the benchmark's clients run from it). */
async function processesUnder(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) found.push(Number(entry));
  }
  return found;
}

t.test('bench/ceilings.mjs stopped by SIGTERM in its warm-up stops there and cleans up', async (t) => {
  const { dir, env, started: startedPids } = await benchRun(t, 'mlproxy-smoke-term-');
  const child = spawn(process.execPath, [join(ROOT, 'bench/ceilings.mjs'), '--quick'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  // SIGTERM as the warm-up starts, while the C client runs against the servers.
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
    if (stderr.includes('warm-up')) child.kill('SIGTERM');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  t.equal(code, 143, 'it exits as stopped by SIGTERM');
  t.notMatch(stdout, /## Against the floor/, 'it stopped where it was: no round ran to the report');
  t.notMatch(stderr, /round 1\//, 'no round was measured after the signal');
  t.same(await readdir(join(dir, 'tmp')), [], 'its temporary directories are gone');
  t.same(await mountsUnder(dir), [], 'no mount left');
  const started = await startedPids();
  t.equal(started.length, 4, 'all four servers had been started');
  // Killed as the benchmark exits, the servers may take a moment to go.
  for (let waited = 0; waited < 10_000 && started.some(alive); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(started.filter(alive), [], 'every server process is gone');
  t.same(await processesUnder(dir), [], 'no client left running');
});

t.test('bench/warm-up.mjs draws its curve for two batches and leaves nothing behind', async (t) => {
  const { dir, env, started: startedPids } = await benchRun(t, 'mlproxy-smoke-warm-');
  const svg = join(dir, 'warm-up.svg');
  const { stdout } = await execFileP(process.execPath, [join(ROOT, 'bench/warm-up.mjs'), '--batches', '2', '--kind', 'text', '--svg', svg], {
    env,
    cwd: ROOT,
    timeout: 60_000,
  });
  t.match(stdout, /\| 1–2 \| [\d.]+ \| [\d.]+ \| [\d.]+× \|/, 'one row of medians for the two batches');
  const drawn = await readFile(svg, 'utf8');
  t.equal((drawn.match(/<polyline /g) ?? []).length, 2, 'one line per server');
  t.match(drawn, /points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/, 'two points on a line');
  t.same(await mountsUnder(dir), [], 'no mount left');
  const started = await startedPids();
  t.equal(started.length, 2, 'two servers were started');
  t.same(started.filter(alive), [], 'every server process is gone');
});

t.test('bench/idle-after-floods.mjs runs one flood on both bindings, draws both, and leaves nothing behind', async (t) => {
  const { dir, env, started: startedPids } = await benchRun(t, 'mlproxy-smoke-idle-');
  const svg = join(dir, 'idle.svg');
  const { stdout } = await execFileP(process.execPath, [join(ROOT, 'bench/idle-after-floods.mjs'), '--floods', '1', '--seconds', '1', '--svg', svg], {
    env,
    cwd: ROOT,
    timeout: 90_000,
  });
  t.match(stdout, /\| 0 \| [\d.,]+ \/ [\d.,]+ \| [\d.,]+ \| [\d.,]+ \/ [\d.,]+ \| [\d.,]+ \|/, 'before the flood: both servers idle, then flooded');
  t.match(stdout, /\| 1 \| [\d.,]+ \/ [\d.,]+ \| — \| [\d.,]+ \/ [\d.,]+ \| — \|/, 'after it: idle again');
  const drawn = await readFile(svg, 'utf8');
  t.equal((drawn.match(/<polyline /g) ?? []).length, 2, 'one line per binding');
  t.same(await mountsUnder(dir), [], 'no mount left');
  const started = await startedPids();
  t.equal(started.length, 2, 'two servers were started');
  t.same(started.filter(alive), [], 'every server process is gone');
});

t.test('bench/fuse-latency.mjs and bench/memory.mjs --quick: plots in their results, drawn beside the doc by bench/report.mjs', async (t) => {
  const { dir, env, started: startedPids } = await benchRun(t, 'mlproxy-smoke-suite-');
  const results = join(dir, 'results');
  const plots = join(dir, 'plots');
  await execFileP('mkdir', ['-p', results, plots]);
  for (const bench of ['fuse-latency', 'memory'])
    await execFileP(process.execPath, [join(ROOT, `bench/${bench}.mjs`), '--quick', '--out', join(results, `${bench}.json`)], {
      env,
      cwd: ROOT,
      timeout: 120_000,
    });

  const expected: Record<string, { file: string; lines: number }> = {
    'fuse-latency': { file: 'performance-fuse-latency.svg', lines: 4 },
    memory: { file: 'performance-memory-flood.svg', lines: 3 },
  };
  for (const [bench, { file, lines }] of Object.entries(expected)) {
    const out = JSON.parse(await readFile(join(results, `${bench}.json`), 'utf8'));
    t.same(
      out.plots.map((p: { file: string }) => p.file),
      [file],
      `${bench}: one plot, named as its section links it`,
    );
    t.match(out.section, `](${file})`, `${bench}: the section links the plot`);
    const svg: string = out.plots[0].svg;
    t.equal((svg.match(/<polyline /g) ?? []).length, lines, `${bench}: one line per series`);
    t.notMatch(svg, /NaN|undefined/, `${bench}: every coordinate is a number`);
  }

  const { stdout: doc } = await execFileP(process.execPath, [join(ROOT, 'bench/report.mjs'), results, '--plots', plots], { cwd: ROOT });
  t.same(
    (await readdir(plots)).sort(),
    Object.values(expected)
      .map((e) => e.file)
      .sort(),
    'report.mjs --plots writes both plots',
  );
  // The doc's other sections are carried over where they stood: before, between and after the regenerated ones.
  const at = (title: string) => doc.indexOf(`\n## ${title}\n`);
  const order = [
    'Goals',
    'Training backend: tfjs cpu vs wasm',
    'FUSE latency: recommendation transactions, idle vs training',
    'Memory: per model and under a flood',
    'Bulk dataset write: 10 MB cat > dataset',
  ];
  t.ok(
    order.every((title) => at(title) >= 0),
    'every section is there',
  );
  t.same(
    [...order].sort((a, b) => at(a) - at(b)),
    order,
    'the carried sections keep their places around the regenerated ones',
  );

  t.same(await mountsUnder(dir), [], 'no mount left');
  const started = await startedPids();
  t.equal(started.length, 3, 'three servers were started (fuse-latency one, memory two)');
  t.same(started.filter(alive), [], 'every server process is gone');
});

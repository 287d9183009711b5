#!/usr/bin/env node
// kill -9 in a loop: a server with --state-dir and durability=strict takes dataset batches from writer
// processes (test/helpers/batch-writer.mjs, which acknowledge a batch only after close() returned 0) while
// it trains; it is killed with SIGKILL at a random moment and started again from the state dir, K times.
// After every restart each acknowledged batch must be back, and every batch back must be whole.
// Usage (after npm run build): node bench/kill-loop.mjs [--kills 20] [--seed 1] [--json FILE]
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readAll } from './read-all.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRITER = join(ROOT, 'test/helpers/batch-writer.mjs');
const BATCH = 50;
const WRITERS = 3;

function start(dir, state) {
  const mnt = join(dir, 'mnt');
  const err = openSync(join(dir, 'server.stderr'), 'a');
  const proc = spawn(
    process.execPath,
    [join(ROOT, 'bin/mlproxy.js'), 'serve', '--mountpoint', mnt, '--state-dir', state, '--metrics-listen', 'off', '--log-file', join(dir, 'server.log')],
    { stdio: ['ignore', err, err] },
  );
  closeSync(err);
  const deadline = Date.now() + 30000;
  while (!existsSync(join(mnt, 'version'))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('server did not come up');
    execFileSync('sleep', ['0.05']);
  }
  return { proc, mnt };
}

const exited = (proc) => new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', r)));

export async function runKillLoop({ kills = 20, seed = 1, say = () => {} } = {}) {
  let s = seed >>> 0 || 1;
  const random = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-kill-'));
  const state = join(dir, 'state');
  mkdirSync(state);
  const acked = new Set();
  const report = { kills: 0, batchesAcknowledged: 0, samplesAcknowledged: 0, samplesLost: 0, partialBatches: 0, unacknowledgedBack: 0, problems: [] };
  const ackLines = () => (existsSync(join(dir, 'acks')) ? readFileSync(join(dir, 'acks'), 'utf8').trim().split('\n').filter(Boolean) : []);
  let server = start(dir, state);
  try {
    mkdirSync(join(server.mnt, 'models', 'k'));
    const file = (f, text) => writeFileSync(join(server.mnt, 'models', 'k', f), text);
    file('config', 'inputs=2\noutputs=1\nhidden=8\nbatch_size=16\nbuffer_capacity=10000000\n');
    file('control', 'commit\n');
    file('control', 'init\n');
    file('control', 'start\n');
    for (let round = 0; round < kills; round++) {
      const writers = Array.from({ length: WRITERS }, (_, w) =>
        spawn(process.execPath, [WRITER, join(server.mnt, 'models/k/dataset'), join(dir, 'acks'), String(round * 10 + w), String(BATCH)], { stdio: 'ignore' }),
      );
      // Kill once this round's writers have had batches acknowledged, at a random moment after that.
      const before = ackLines().length;
      for (const until = Date.now() + 30000; ackLines().length <= before + WRITERS && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, random() * 1500));
      server.proc.kill('SIGKILL');
      await exited(server.proc);
      await Promise.all(writers.map(exited));
      execFileSync('fusermount', ['-uz', server.mnt]);
      report.kills++;
      server = start(dir, state);
      for (const line of ackLines()) acked.add(line);
      const perBatch = new Map();
      for (const row of readAll(join(server.mnt, 'models/k/dataset')).trim().split('\n').filter(Boolean)) {
        const [w, b] = row.split(' ');
        perBatch.set(`${w} ${b}`, (perBatch.get(`${w} ${b}`) ?? 0) + 1);
      }
      const missing = [...acked].filter((k) => !perBatch.has(k)).length;
      const partial = [...perBatch.values()].filter((n) => n !== BATCH).length;
      report.samplesLost += missing * BATCH;
      report.partialBatches += partial;
      report.unacknowledgedBack = perBatch.size - acked.size;
      if (missing || partial) report.problems.push(`kill ${round + 1}: ${missing} acknowledged batches missing, ${partial} partial`);
      say(`kill ${round + 1}: ${acked.size} batches acknowledged, ${perBatch.size} back`);
    }
    report.batchesAcknowledged = acked.size;
    report.samplesAcknowledged = acked.size * BATCH;
    return report;
  } finally {
    server.proc.kill('SIGTERM');
    await exited(server.proc);
    if (readFileSync('/proc/mounts', 'utf8').includes(` ${server.mnt} `)) execFileSync('fusermount', ['-uz', server.mnt]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { kills: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' }, json: { type: 'string' } } });
  const report = await runKillLoop({ kills: Number(values.kills), seed: Number(values.seed), say: (l) => process.stderr.write(`kill-loop: ${l}\n`) });
  const text = JSON.stringify(report, null, 1);
  if (values.json) writeFileSync(values.json, text + '\n');
  process.stdout.write(text + '\n');
  process.exitCode = report.problems.length ? 1 : 0;
}

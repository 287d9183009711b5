#!/usr/bin/env node
// Load: W dataset writers and R recommendation readers over M models of one server with --state-dir and
// durability=strict, for a fixed time, while every model trains. Checks: no operation fails, every
// acknowledged sample is counted (samples_total), the server's RSS (with its training process) stays
// bounded; reports transaction latency p50/p99 and throughput. Usage (after npm run build):
//   node bench/load.mjs [--seconds 60] [--writers 16] [--readers 16] [--models 4] [--json FILE]
// Clients run as async loops in two child processes (writers, readers) with a thread pool as wide as
// their loops, so 32 clients need 2 processes rather than 32 on a small machine.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readAll } from './read-all.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const BATCH = 50;

/** RSS in KiB of a process and all its descendants (the server and its training process). */
function treeRssKb(pid) {
  // Threads and children come and go while we look: whatever vanished meanwhile counts as 0.
  const read = (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  let kb = Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`))?.[1] ?? 0);
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {}
  for (const task of tasks) {
    const children = read(`/proc/${pid}/task/${task}/children`).trim();
    for (const child of children ? children.split(' ') : []) kb += treeRssKb(Number(child));
  }
  return kb;
}

function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN;
}

export async function runLoad({ seconds = 60, writers = 16, readers = 16, models = 4, say = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-load-'));
  const mnt = join(dir, 'mnt');
  const state = join(dir, 'state');
  mkdirSync(state);
  const err = openSync(join(dir, 'server.stderr'), 'a');
  const server = spawn(
    process.execPath,
    [join(ROOT, 'bin/mlproxy.js'), 'serve', '--mountpoint', mnt, '--state-dir', state, '--metrics-listen', 'off', '--log-file', join(dir, 'server.log')],
    { stdio: ['ignore', err, err] },
  );
  closeSync(err);
  try {
    const deadline = Date.now() + 30000;
    while (!existsSync(join(mnt, 'version'))) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error('server did not come up');
      execFileSync('sleep', ['0.05']);
    }
    const names = Array.from({ length: models }, (_, i) => `load${i}`);
    for (const name of names) {
      mkdirSync(join(mnt, 'models', name));
      const file = (f, text) => writeFileSync(join(mnt, 'models', name, f), text);
      file('config', 'inputs=2\noutputs=1\nhidden=16,16\nbuffer_capacity=100000\ndurability=strict\n');
      file('control', 'commit\n');
      file('control', 'init\n');
      file('control', 'start\n');
    }
    const rssKb = [];
    const sampler = setInterval(() => rssKb.push(treeRssKb(server.pid)), 500);
    const role = (kind, loops) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [SELF, '--client', kind, mnt, names.join(','), String(loops), String(seconds)], {
          env: { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, loops)) },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${kind} client exited ${code}`))));
      });
    say(`${writers} writers and ${readers} readers on ${models} models for ${seconds} s`);
    const [w, r] = await Promise.all([role('writer', writers), role('reader', readers)]);
    clearInterval(sampler);
    const counted = {};
    for (const name of names) counted[name] = Number(/samples_total (\d+)/.exec(readAll(join(mnt, 'models', name, 'stats')))[1]);
    const latencies = Float64Array.from(r.latenciesUs).sort();
    const report = {
      seconds,
      writers,
      readers,
      models,
      errors: { writers: w.errors, readers: r.errors },
      batchesAcknowledged: w.batches,
      samplesAcknowledged: w.acked,
      samplesCounted: counted,
      samplesPerSecond: Math.round(Object.values(w.acked).reduce((a, b) => a + b, 0) / seconds),
      transactions: latencies.length,
      transactionP50Us: Math.round(percentile(latencies, 0.5)),
      transactionP99Us: Math.round(percentile(latencies, 0.99)),
      transactionMaxUs: Math.round(latencies[latencies.length - 1] ?? NaN),
      rssMaxMiB: Math.round(Math.max(...rssKb) / 1024),
      rssFirstMiB: Math.round((rssKb[0] ?? NaN) / 1024),
      rssLastMiB: Math.round((rssKb.at(-1) ?? NaN) / 1024),
    };
    return report;
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
    if (readFileSync('/proc/mounts', 'utf8').includes(` ${mnt} `)) execFileSync('fusermount', ['-uz', mnt]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A client process: `loops` async loops of one kind, until `seconds` pass; prints its tallies as JSON. */
async function client(kind, mnt, names, loops, seconds) {
  const until = Date.now() + seconds * 1000;
  const errors = {};
  const acked = Object.fromEntries(names.map((n) => [n, 0]));
  let batches = 0;
  const latenciesUs = [];
  const fail = (e) => (errors[e.code ?? String(e)] = (errors[e.code ?? String(e)] ?? 0) + 1);
  async function writer(i) {
    const name = names[i % names.length];
    for (let b = 0; Date.now() < until; b++) {
      const rows = Array.from({ length: BATCH }, (_, j) => `${i} ${b} ${(i * 7 + j) % 13}`).join('\n') + '\n';
      try {
        const fh = await open(join(mnt, 'models', name, 'dataset'), 'w');
        try {
          await fh.write(rows);
        } finally {
          await fh.close(); // with durability=strict this returns once the batch is on disk
        }
        acked[name] += BATCH;
        batches++;
      } catch (e) {
        fail(e);
      }
    }
  }
  async function reader(i) {
    const name = names[i % names.length];
    const buf = Buffer.alloc(4096);
    while (Date.now() < until) {
      try {
        const fh = await open(join(mnt, 'models', name, 'recommendation'), 'r+');
        try {
          const began = process.hrtime.bigint();
          await fh.write(`${i % 10} ${i % 3}\n`, 0);
          const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
          latenciesUs.push(Number(process.hrtime.bigint() - began) / 1000);
          if (bytesRead === 0) fail({ code: 'empty answer' });
        } finally {
          await fh.close();
        }
      } catch (e) {
        fail(e);
      }
    }
  }
  await Promise.all(Array.from({ length: loops }, (_, i) => (kind === 'writer' ? writer(i) : reader(i))));
  process.stdout.write(JSON.stringify({ errors, acked, batches, latenciesUs }));
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === '--client') {
    const [, , , kind, mnt, names, loops, seconds] = process.argv;
    await client(kind, mnt, names.split(','), Number(loops), Number(seconds));
  } else {
    const { values } = parseArgs({
      options: {
        seconds: { type: 'string', default: '60' },
        writers: { type: 'string', default: '16' },
        readers: { type: 'string', default: '16' },
        models: { type: 'string', default: '4' },
        json: { type: 'string' },
      },
    });
    const report = await runLoad({
      seconds: Number(values.seconds),
      writers: Number(values.writers),
      readers: Number(values.readers),
      models: Number(values.models),
      say: (l) => process.stderr.write(`load: ${l}\n`),
    });
    const text = JSON.stringify(report, null, 1);
    if (values.json) writeFileSync(values.json, text + '\n');
    process.stdout.write(text + '\n');
    const lost = Object.keys(report.samplesAcknowledged).some((m) => report.samplesCounted[m] !== report.samplesAcknowledged[m]);
    process.exitCode = Object.keys(report.errors.writers).length || Object.keys(report.errors.readers).length || lost ? 1 : 0;
  }
}

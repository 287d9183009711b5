// A long-running server's idle transaction latency as floods come and go: this checkout on the fixed FUSE binding
// (native/build-fuse-binding.mjs) beside the same checkout on fuse-native's prebuilt one, both with --state-dir
// (durability strict, where closes wait for fdatasync and libfuse starts and ends hundreds of workers a flood).
// Before every flood and after the last: 3,000 transactions on a held fd, nothing else running (p50, p99).
//   node bench/idle-after-floods.mjs [--floods N] [--seconds S] [--svg FILE]
// Servers on CPU 0, the client on CPU 1. Run under `flock /work/heavy.lock` on the shared machine.
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lineChart } from './svg.mjs';
import {
  ROOT,
  FLOOD,
  buildFuseClient,
  createModel,
  fixedPointText,
  floodArgs,
  fmt,
  queryText,
  runFuseClient,
  startServer,
  syntheticData,
  table,
  CEILINGS_MODEL,
  workDir,
} from './lib.mjs';

const { values: opts } = parseArgs({
  options: { floods: { type: 'string', default: '8' }, seconds: { type: 'string', default: '3' }, svg: { type: 'string' } },
});
const FLOODS = Number(opts.floods);
const { inputs: INPUTS, outputs: OUTPUTS, scale: SCALE, config: CONFIG } = CEILINGS_MODEL;

const work = workDir('idle-floods-');
const client = buildFuseClient(work);
const { xs, ys } = syntheticData(FLOOD.rows, INPUTS, OUTPUTS, 31);
const dataFile = join(work, 'data');
writeFileSync(dataFile, fixedPointText(xs, ys, INPUTS, OUTPUTS, SCALE));
const queryFile = join(work, 'queries');
writeFileSync(queryFile, queryText(INPUTS, OUTPUTS, SCALE));

/**
 * This checkout with fuse-native's prebuilt binding: its own copy of bin/, dist/ and fuse-native without build/
 * (where the fixed binding goes), the other packages linked. Node resolves packages from a script's real path, so
 * the copies are real files.
 */
function prebuiltCopy() {
  const dir = join(work, 'prebuilt');
  const modules = join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== 'fuse-native') symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  cpSync(join(ROOT, 'node_modules', 'fuse-native'), join(modules, 'fuse-native'), { recursive: true, filter: (src) => !src.includes('/fuse-native/build') });
  return dir;
}

/** The client runs on CPU 1, the servers on CPU 0. */
const client1 = (args) => runFuseClient(client, 1, args);
const servers = [];
try {
  for (const [name, root] of [
    ['fixed binding', ROOT],
    ['prebuilt binding', prebuiltCopy()],
  ]) {
    const s = await startServer({ name: `idle-${name.split(' ')[0]}`, cpus: '0', root, args: (dir) => ['--state-dir', join(dir, 'state')] });
    createModel(s, 'm', CONFIG);
    servers.push({ name, s, txn: s.path('models', 'm', 'recommendation'), sink: s.path('models', 'm', 'dataset'), idle: [], floods: [] });
  }
  for (let flood = 0; flood <= FLOODS; flood++) {
    for (const t of servers) {
      const r = await client1(['txn', t.txn, queryFile, '3000']);
      t.idle.push({ p50: r.latency.p50 / 1e3, p99: r.latency.p99 / 1e3 });
    }
    if (flood === FLOODS) break;
    for (const t of servers) {
      const r = await client1(floodArgs({ seconds: opts.seconds, txn: t.txn, queries: queryFile, sink: t.sink, data: dataFile }));
      t.floods.push(r.latency.p99 / 1e3);
    }
    console.error(`flood ${flood + 1} of ${FLOODS}: ${servers.map((t) => `${t.name} idle p50 ${fmt(t.idle.at(-1).p50)} µs`).join(', ')}`);
  }
} finally {
  for (const t of servers) await t.s.stop();
}

const rows = servers[0].idle.map((_, i) => [
  String(i),
  ...servers.flatMap((t) => [`${fmt(t.idle[i].p50)} / ${fmt(t.idle[i].p99)}`, i < FLOODS ? fmt(t.floods[i]) : '—']),
]);
console.log(table(['floods before', ...servers.flatMap((t) => [`${t.name}: idle p50 / p99 (µs)`, `${t.name}: p99 in the next flood (µs)`])], rows));
if (opts.svg) {
  const series = servers.map((t) => ({ name: `${t.name}, idle p50`, points: t.idle.map((r, i) => [i, r.p50]) }));
  writeFileSync(opts.svg, lineChart({ title: 'Idle transaction p50 of a --state-dir server after each flood', xLabel: 'floods so far', yLabel: 'µs', series }));
}

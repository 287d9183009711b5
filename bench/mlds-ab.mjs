// Interleaved A/B of bulk dataset ingest through FUSE: two or more mlproxy builds (and the bare fuse-native
// server for reference) mounted side by side, pinned to one CPU, the ceilings benchmark's C client writing
// the same batch (60,000 samples of 16 + 4, as MLDS or as the ceilings bench's text, 64 KiB writes) to each in
// rotated order, round after round.
//   node bench/mlds-ab.mjs [--kind binary|text] [--rounds N] [--batches N] [--warmup N] [--client-cpu C] [--cpu-prof DIR] [--no-bare] NAME=ROOT...
//     NAME=ROOT   an mlproxy checkout or copy with bin/ and dist/ built (e.g. base=/tmp/mlds-base new=.)
//     --cpu-prof  run the servers under node --cpu-prof (50 µs), NAME.cpuprofile written to DIR when they stop
// Prints per round MB/s per server, then each build's median and range and its per-round ratio to the first
// build and to the bare server. Run under `flock /work/heavy.lock` on the shared machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { syntheticData, datasetBinary, datasetText, buildFuseClient, startBareFuseNative, startServer, createModel, median, fmt } from './lib.mjs';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kind: { type: 'string', default: 'binary' },
    rounds: { type: 'string', default: '7' },
    batches: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '15' },
    'client-cpu': { type: 'string', default: '0' },
    'cpu-prof': { type: 'string' },
    'no-bare': { type: 'boolean', default: false },
  },
});
const SERVER_CPU = '0';
const INPUTS = 16;
const OUTPUTS = 4;
const SCALE = 1000;
const ROWS = 60_000;
const CHUNK = 65536;
const MODEL_CONFIG = `inputs=${INPUTS}\noutputs=${OUTPUTS}\nhidden=64,64\nscale=${SCALE}\nbuffer_capacity=100000\n`;

const work = mkdtempSync(join(tmpdir(), 'mlds-ab-'));
const clientBin = buildFuseClient(work);
const { xs, ys } = syntheticData(ROWS, INPUTS, OUTPUTS, 31);
if (!['binary', 'text'].includes(opts.kind)) throw new Error(`--kind must be binary or text, not ${opts.kind}`);
const dataFile = join(work, `data.${opts.kind}`);
// The text is the ceilings bench's: the same samples in fixed point, as integers.
const fixedPoint = (a) => a.map((v) => Math.round(v * SCALE));
writeFileSync(
  dataFile,
  opts.kind === 'binary' ? datasetBinary(xs, ys, INPUTS, OUTPUTS, SCALE) : datasetText(fixedPoint(xs), fixedPoint(ys), INPUTS, OUTPUTS).replace(/\.00000/g, ''),
);

/** node flags for a server: under --cpu-prof, a profile per server named after it. */
const profFlags = (name) =>
  opts['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', opts['cpu-prof'], '--cpu-prof-name', `${name}.cpuprofile`] : [];

async function startBuild(name, root) {
  const s = await startServer({ name: `mlds-${name}`, cpus: SERVER_CPU, root, nodeArgs: profFlags(name) });
  createModel(s, 'm', MODEL_CONFIG);
  return { name, server: s, sink: s.path('models', 'm', 'dataset') };
}

async function startBare() {
  const s = await startBareFuseNative({ name: 'mlds-bare', cpus: SERVER_CPU, nodeArgs: profFlags('bare') });
  return { name: 'bare', server: s, sink: s.path('sink') };
}

/** One batch: open, 64 KiB writes, close; MB/s. */
function batch(target) {
  const out = execFileSync('taskset', ['-c', opts['client-cpu'], clientBin, 'write', target.sink, dataFile, String(CHUNK)], { encoding: 'utf8' });
  const r = JSON.parse(out);
  return (r.bytes / r.ns) * 1e3; // bytes per ns is GB/s
}

const builds = positionals.map((p) => {
  const [name, root] = p.split('=');
  return { name, root };
});
if (builds.length === 0) throw new Error('name at least one build: NAME=ROOT');
const targets = [];
try {
  for (const b of builds) targets.push(await startBuild(b.name, b.root));
  if (!opts['no-bare']) targets.push(await startBare());
  // Warm-up: the JIT, the spare blocks, and the first pass over each server's memory (the bare server's 64 MB
  // sink faults its pages in during its first 14 batches, at a quarter of its rate).
  for (const t of targets) for (let i = 0; i < Number(opts.warmup); i++) batch(t);
  const rounds = Number(opts.rounds);
  const perRound = [];
  for (let r = 0; r < rounds; r++) {
    const row = {};
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(r + k) % targets.length];
      const rates = Array.from({ length: Number(opts.batches) }, () => batch(t));
      row[t.name] = median(rates);
    }
    perRound.push(row);
    console.log(`round ${r + 1}: ` + targets.map((t) => `${t.name} ${fmt(row[t.name])} MB/s`).join(', '));
  }
  const first = targets[0].name;
  for (const t of targets) {
    const rates = perRound.map((row) => row[t.name]);
    const vs = (other) => {
      const ratios = perRound.map((row) => row[t.name] / row[other]);
      return `${fmt(median(ratios))}x (${fmt(Math.min(...ratios))}-${fmt(Math.max(...ratios))})`;
    };
    const parts = [`${t.name}: ${fmt(median(rates))} MB/s (${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))})`];
    if (t.name !== first) parts.push(`÷ ${first} ${vs(first)}`);
    if (!opts['no-bare'] && t.name !== 'bare') parts.push(`÷ bare ${vs('bare')}`);
    console.log(parts.join(', '));
  }
} finally {
  for (const t of targets) await t.server.stop();
  rmSync(work, { recursive: true, force: true });
}

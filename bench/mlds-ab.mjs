// Interleaved A/B through FUSE of two or more mlproxy builds (and the bare fuse-native server for reference)
// mounted side by side, pinned to one CPU, the ceilings benchmark's C client running the same work on each in
// rotated order, round after round: bulk dataset ingest (60,000 samples of 16 + 4, as MLDS or as the ceilings
// bench's text, 64 KiB writes; MB/s), one sample per write (the ceilings bench's 5,000 lines of that text, a
// write each, on one open file; writes/s) or recommendation transactions (the ceilings bench's 3,000 on a held
// fd; p50 and p99 in µs), or the ceilings bench's flood (16 writers sending 4,000-sample text batches in 64 KiB
// writes while 16 threads run transactions; the transactions' p50 and p99 in µs, the writers' MB/s and the
// server's CPU seconds on its JavaScript thread and on all its other threads together).
//   node bench/mlds-ab.mjs [--kind binary|text|line|txn|flood] [--rounds N] [--batches N] [--warmup N] [--client-cpu C] [--seconds S] [--state-dir] [--cpu-prof DIR] [--no-bare] [--metrics on|off] NAME=ROOT...
//     NAME=ROOT   an mlproxy checkout or copy with bin/ and dist/ built (e.g. base=/tmp/mlds-base new=.)
//     --cpu-prof  run the servers under node --cpu-prof (50 µs), NAME.cpuprofile written to DIR when they stop
//     --metrics   mlproxy's /metrics endpoint, on (a free port, as it runs by default) or off
//     --batches, --warmup   batches a build runs each round (default 3; a flood 1), and before the rounds (15; a flood 1)
//     --seconds   how long each flood runs (default 3)
//     --state-dir every mlproxy build runs with a --state-dir (durability strict, the default with one)
//     --serve-args NAME:FLAGS   more serve flags for build NAME (space-separated; repeatable), e.g. to A/B one
//                 build against itself: off=. on=. --serve-args 'off:--fuse-nice-boost 0'
//     --serve-env NAME:KEY=VALUE   more environment for build NAME's server (repeatable)
//     --bare-nice-boost N   raise the bare server's FUSE threads as mlproxy raises its own (default 0: as any
//                 fuse-native server runs)
//     --bare-parallel-writes   the bare server allows parallel direct writes as mlproxy does (default: as any
//                 fuse-native server, it does not)
//     --bare-hot-dispatch   the bare server answers its hot ops through mlproxy's handlers (src/fs/dispatch.ts)
//                 instead of fuse-native's own wrapper (default: as any fuse-native server)
//     --pwrite    transactions (txn, flood) write their queries with pwrite at offset 0, not at the file offset
//                 (bench/baselines/fuse-client.c says why that differs)
// Prints per round each server's figure (txn: p50, the median of the batches' p50s, and likewise p99), then each
// build's median and range and its per-round ratio to the first build and to the bare server. Run under `flock /work/heavy.lock` on the shared machine.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  syntheticData,
  datasetBinary,
  fixedPointText,
  queryText,
  buildFuseClient,
  startBareFuseNative,
  startServer,
  createModel,
  median,
  fmt,
  parseBuilds,
  processTicks,
  runFuseClient,
  FLOOD,
  floodArgs,
  CEILINGS_MODEL,
  workDir,
} from './lib.mjs';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kind: { type: 'string', default: 'binary' },
    rounds: { type: 'string', default: '7' },
    batches: { type: 'string' },
    warmup: { type: 'string' },
    'client-cpu': { type: 'string', default: '0' },
    'cpu-prof': { type: 'string' },
    'no-bare': { type: 'boolean', default: false },
    metrics: { type: 'string', default: 'on' },
    seconds: { type: 'string', default: '3' },
    'state-dir': { type: 'boolean', default: false },
    'serve-args': { type: 'string', multiple: true, default: [] },
    'serve-env': { type: 'string', multiple: true, default: [] },
    'bare-nice-boost': { type: 'string', default: '0' },
    'bare-parallel-writes': { type: 'boolean', default: false },
    'bare-hot-dispatch': { type: 'boolean', default: false },
    pwrite: { type: 'boolean', default: false },
  },
});
const SERVER_CPU = '0';
const { inputs: INPUTS, outputs: OUTPUTS, scale: SCALE, config: MODEL_CONFIG } = CEILINGS_MODEL;
const ROWS = 60_000;
const CHUNK = 65536;

const work = workDir('mlds-ab-');
const clientBin = buildFuseClient(work);
const { xs, ys } = syntheticData(ROWS, INPUTS, OUTPUTS, 31);
if (!['on', 'off'].includes(opts.metrics)) throw new Error(`--metrics must be on or off, not ${opts.metrics}`);
if (!['binary', 'text', 'line', 'txn', 'flood'].includes(opts.kind)) throw new Error(`--kind must be binary, text, line, txn or flood, not ${opts.kind}`);
const TXNS = 3000;
const LINE_WRITES = 5000;
// A flood batch lasts --seconds (3 s), so a flood takes one batch a round and one warm-up batch unless told otherwise.
const BATCHES = Number(opts.batches ?? (opts.kind === 'flood' ? 1 : 3));
const WARMUP = Number(opts.warmup ?? (opts.kind === 'flood' ? 1 : 15));
const dataFile = join(work, `data.${opts.kind}`);
// The text and the queries are the ceilings bench's: the same samples in fixed point, as integers.
const queryFile = join(work, 'queries');
writeFileSync(queryFile, queryText(INPUTS, OUTPUTS, SCALE));
/** The first `rows` samples as the ceilings bench's text. */
const textOf = (rows) => fixedPointText(xs.subarray(0, rows * INPUTS), ys.subarray(0, rows * OUTPUTS), INPUTS, OUTPUTS, SCALE);
const DATA = {
  binary: () => datasetBinary(xs, ys, INPUTS, OUTPUTS, SCALE),
  txn: () => queryText(INPUTS, OUTPUTS, SCALE),
  line: () => textOf(LINE_WRITES),
  flood: () => textOf(FLOOD.rows),
  text: () => textOf(ROWS),
};
writeFileSync(dataFile, DATA[opts.kind]());

/** node flags for a server: under --cpu-prof, a profile per server named after it. */
const profFlags = (name) =>
  opts['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', opts['cpu-prof'], '--cpu-prof-name', `${name}.cpuprofile`] : [];

async function startBuild(name, root) {
  const s = await startServer({
    name: `mlds-${name}`,
    cpus: SERVER_CPU,
    root,
    nodeArgs: profFlags(name),
    metricsListen: opts.metrics === 'off' ? 'off' : '127.0.0.1:0',
    args: (dir) => [...(opts['state-dir'] ? ['--state-dir', join(dir, 'state')] : []), ...(serveArgs.get(name) ?? [])],
    env: serveEnv.get(name) ?? {},
  });
  createModel(s, 'm', MODEL_CONFIG);
  return { name, server: s, sink: s.path('models', 'm', 'dataset'), txn: s.path('models', 'm', 'recommendation') };
}

async function startBare() {
  const s = await startBareFuseNative({
    name: 'mlds-bare',
    cpus: SERVER_CPU,
    nodeArgs: profFlags('bare'),
    env: {
      BARE_FUSE_NICE_BOOST: opts['bare-nice-boost'],
      BARE_PARALLEL_WRITES: opts['bare-parallel-writes'] ? '1' : '0',
      BARE_HOT_DISPATCH: opts['bare-hot-dispatch'] ? '1' : '0',
    },
  });
  return { name: 'bare', server: s, sink: s.path('sink'), txn: s.path('txn') };
}

/** The server's CPU seconds since `before` (processTicks): on its JavaScript thread and on all its other threads. */
function cpuSeconds(pid, before) {
  const now = processTicks(pid);
  const main = (now.main - before.main) / TICKS_PER_SECOND;
  return { main, other: (now.all - before.all) / TICKS_PER_SECOND - main };
}
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/**
 * One batch: open, writes of 64 KiB (MB/s) or of a line each (writes/s), close; the transactions on a held fd
 * (p50 and p99, µs); or one flood (its transactions' p50 and p99, the writers' MB/s, the server's CPU seconds).
 */
async function batch(target) {
  const args =
    opts.kind === 'txn'
      ? ['txn', target.txn, dataFile, String(TXNS)]
      : opts.kind === 'flood'
        ? floodArgs({ seconds: opts.seconds, txn: target.txn, queries: queryFile, sink: target.sink, data: dataFile })
        : ['write', target.sink, dataFile, opts.kind === 'line' ? 'lines' : String(CHUNK)];
  const ticks = processTicks(target.server.pid);
  const r = await runFuseClient(clientBin, opts['client-cpu'], [...(opts.pwrite ? ['--pwrite'] : []), ...args]);
  if (opts.kind === 'txn') return { p50: r.latency.p50 / 1e3, p99: r.latency.p99 / 1e3 }; // the client's ns
  if (opts.kind === 'flood') {
    const cpu = cpuSeconds(target.server.pid, ticks);
    return { p50: r.latency.p50 / 1e3, p99: r.latency.p99 / 1e3, mbs: r.bytes / 1e6 / Number(opts.seconds), js: cpu.main, rest: cpu.other };
  }
  if (opts.kind === 'line') return { wps: r.writes / (r.ns / 1e9) };
  return { mbs: (r.bytes / r.ns) * 1e3 }; // bytes per ns is GB/s
}
const FIGURES = { txn: ['p50', 'p99'], line: ['wps'], flood: ['p50', 'p99', 'mbs', 'js', 'rest'] }[opts.kind] ?? ['mbs'];
const UNIT = { mbs: 'MB/s', wps: 'writes/s', p50: 'µs p50', p99: 'µs p99', js: 's on the JS thread', rest: 's on other threads' };

const builds = parseBuilds(positionals);
/** Build name → its extra serve flags (--serve-args NAME:FLAGS). */
const serveArgs = new Map(
  opts['serve-args'].map((arg) => {
    const at = arg.indexOf(':');
    if (at < 1 || !builds.some((b) => b.name === arg.slice(0, at))) throw new Error(`--serve-args wants NAME:FLAGS for a named build, got ${arg}`);
    return [
      arg.slice(0, at),
      arg
        .slice(at + 1)
        .split(' ')
        .filter(Boolean),
    ];
  }),
);
/** Build name → more environment for its server (--serve-env NAME:KEY=VALUE, repeatable). */
const serveEnv = new Map();
for (const arg of opts['serve-env']) {
  const m = /^([^:]+):([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(arg);
  if (!m || !builds.some((b) => b.name === m[1])) throw new Error(`--serve-env wants NAME:KEY=VALUE for a named build, got ${arg}`);
  serveEnv.set(m[1], { ...serveEnv.get(m[1]), [m[2]]: m[3] });
}
const targets = [];
try {
  for (const b of builds) targets.push(await startBuild(b.name, b.root));
  if (!opts['no-bare']) targets.push(await startBare());
  // Warm-up: the JIT, the spare blocks, and the first pass over each server's memory (the bare server's 64 MB
  // sink faults its pages in during its first 14 batches, at a quarter of its rate).
  for (const t of targets) for (let i = 0; i < WARMUP; i++) await batch(t);
  const rounds = Number(opts.rounds);
  const perRound = [];
  for (let r = 0; r < rounds; r++) {
    const row = {};
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(r + k) % targets.length];
      const results = [];
      for (let i = 0; i < BATCHES; i++) results.push(await batch(t));
      row[t.name] = Object.fromEntries(FIGURES.map((f) => [f, median(results.map((x) => x[f]))]));
    }
    perRound.push(row);
    console.log(`round ${r + 1}: ` + targets.map((t) => `${t.name} ${FIGURES.map((f) => `${fmt(row[t.name][f])} ${UNIT[f]}`).join(' ')}`).join(', '));
  }
  const first = targets[0].name;
  for (const f of FIGURES) {
    for (const t of targets) {
      const values = perRound.map((row) => row[t.name][f]);
      const vs = (other) => {
        const ratios = perRound.map((row) => row[t.name][f] / row[other][f]);
        return `${fmt(median(ratios))}x (${fmt(Math.min(...ratios))}-${fmt(Math.max(...ratios))})`;
      };
      const parts = [`${t.name}: ${fmt(median(values))} ${UNIT[f]} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})`];
      if (t.name !== first) parts.push(`÷ ${first} ${vs(first)}`);
      if (!opts['no-bare'] && t.name !== 'bare') parts.push(`÷ bare ${vs('bare')}`);
      console.log(parts.join(', '));
    }
  }
} finally {
  for (const t of targets) await t.server.stop();
}

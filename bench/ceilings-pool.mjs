// Judges issue 12's goals over several runs of bench/ceilings.mjs at once (their --out JSON files): one run's
// median of five rounds moves by more than some goals' margins from run to run on this shared machine, so the
// per-round ratios of all runs are pooled and their median is judged, beside each run's own verdict.
//   node bench/ceilings-pool.mjs [--split] RUN.json RUN.json...
//     --split  the rounds with the client on the other core (default: the same core, where the goals are judged)
// Prints a markdown table. The 256-model figure is measured on the same core only.
import { readFileSync } from 'node:fs';
import { GOALS } from './ceilings-goals.mjs';
import { fmt, median } from './lib.mjs';

const split = process.argv.includes('--split');
const files = process.argv.slice(2).filter((a) => a !== '--split');
if (files.length === 0 || files.some((f) => f.startsWith('-'))) {
  console.error('usage: node bench/ceilings-pool.mjs [--split] RUN.json RUN.json...');
  process.exit(2);
}
const PLACEMENT = split ? { key: 'split', label: 'different cores' } : { key: 'same', label: 'same core' };
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')).data);

const atLeast = (goal) => ({ met: (x) => x >= goal, text: `≥ ${fmt(goal)}×` });
const atMost = (goal) => ({ met: (x) => x <= goal, text: `≤ ${fmt(goal)}×` });

/** [label, measure, field, the server judged against the bare fuse-native server, goal] */
const RATIOS = [
  ['one sample per write (writes/s)', 'perWrite', 'writesPerSecond', 'mlproxy', atLeast(GOALS.perWrite)],
  ['text in 64 KiB writes (MB/s)', 'text', 'mbPerSecond', 'mlproxy', atLeast(GOALS.textBandwidth)],
  ['MLDS in 64 KiB writes (MB/s)', 'binary', 'mbPerSecond', 'mlproxy', atLeast(GOALS.binary)],
  ['transaction p50', 'txn', 'p50', 'mlproxy', atMost(GOALS.txnP50)],
  ['transaction p99', 'txn', 'p99', 'mlproxy', atMost(GOALS.txnP99)],
  ['transaction p99 under the flood', 'flood', 'p99', 'mlproxy', atMost(GOALS.flood)],
  ['the same, --state-dir strict', 'flood', 'p99', 'strict', atMost(GOALS.flood)],
  ['the same flood, queries by pwrite at 0', 'floodAt0', 'p99', 'mlproxy', atMost(GOALS.flood)],
  ['the same, --state-dir strict', 'floodAt0', 'p99', 'strict', atMost(GOALS.flood)],
];

const mark = (ok) => (ok ? '' : ' (missed)');
// Runs from before a measure existed (the pwrite flood came in the seventeenth pass) do not judge it.
const measured = ([, measure]) => runs.every((run) => run.results[PLACEMENT.key][measure]);
const rows = RATIOS.filter(measured).map(([label, measure, field, who, g]) => {
  const perRun = runs.map((run) => {
    const byServer = run.results[PLACEMENT.key][measure];
    return byServer[who].map((x, i) => x[field] / byServer.fuseNative[i][field]);
  });
  const pooled = perRun.flat();
  const p = median(pooled);
  const runMedians = perRun
    .map(median)
    .map((m) => `${fmt(m)}×${mark(g.met(m))}`)
    .join(', ');
  return `| ${label} | ${g.text} | ${runMedians} | **${fmt(p)}×** (${pooled.filter(g.met).length} of ${pooled.length} rounds meet it) | ${g.met(p) ? 'yes' : '**no**'} |`;
});

// Absolute text rate, and the 256-model growth (one figure per run: the median of the runs is judged).
const samples = runs.map((run) => median(run.results[PLACEMENT.key].text.mlproxy.map((x) => x.samplesPerSecond)));
const pooledSamples = median(runs.flatMap((run) => run.results[PLACEMENT.key].text.mlproxy.map((x) => x.samplesPerSecond)));
rows.splice(
  2,
  0,
  `| text in 64 KiB writes (samples/s) | ≥ ${fmt(GOALS.textSamples)} | ${samples.map((s) => `${fmt(s)}${mark(s >= GOALS.textSamples)}`).join(', ')} | **${fmt(pooledSamples)}** | ${pooledSamples >= GOALS.textSamples ? 'yes' : '**no**'} |`,
);
const growth = runs.map((run) => run.scale[run.scale.length - 1].p99 / run.scale[0].p99);
const models = runs[0].scale[runs[0].scale.length - 1].models;
rows.push(
  `| transaction p99, ${models} models ÷ 1${split ? ' (same core: measured there only)' : ''} | ≤ ${fmt(GOALS.models)}× | ${growth.map((x) => `${fmt(x)}×${mark(x <= GOALS.models)}`).join(', ')} | **${fmt(median(growth))}×** (median of the runs) | ${median(growth) <= GOALS.models ? 'yes' : '**no**'} |`,
);

const dates = runs.map((r) => r.machine.date).join(', ');
console.log(`${runs.length} runs (${dates}); ratios to the bare fuse-native server of the same round, ${PLACEMENT.label}.\n`);
console.log(`| measure (${PLACEMENT.label}; ratios: mlproxy ÷ bare fuse-native) | goal | each run (median of its rounds) | all rounds pooled (median) | met |`);
console.log('| --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);

// Owns the warm-up curve: how many bulk batches a fresh mlproxy takes before its ingest rate settles, beside a
// fresh bare fuse-native server (batches alternate between the two, both pinned to one CPU with the client).
//   node bench/warm-up.mjs [--batches N] [--kind binary|text] [--svg FILE]
// Prints the median batch time of each ten batches per server and their ratio (bare ÷ mlproxy, as the ceilings
// bench reports rates); --svg draws every batch's time. The ceilings bench's warm-up (WARM_BATCHES) rests on
// this curve. Run under `flock /work/heavy.lock` on the shared machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { syntheticData, datasetText, datasetBinary, buildFuseClient, startBareFuseNative, startServer, createModel, median, fmt } from './lib.mjs';
import { lineChart } from './svg.mjs';

const { values: opts } = parseArgs({
  options: {
    batches: { type: 'string', default: '80' },
    kind: { type: 'string', default: 'binary' },
    svg: { type: 'string' },
  },
});
if (!['binary', 'text'].includes(opts.kind)) throw new Error(`--kind is binary or text, not ${opts.kind}`);
const CPU = '0';
const [INPUTS, OUTPUTS, SCALE, ROWS, CHUNK] = [16, 4, 1000, 60_000, 65536];
const MODEL_CONFIG = `inputs=${INPUTS}\noutputs=${OUTPUTS}\nhidden=64,64\nscale=${SCALE}\nbuffer_capacity=100000\n`;
const GROUP = 10;
const LABEL = opts.kind === 'binary' ? 'MLDS' : 'text';

const work = mkdtempSync(join(tmpdir(), 'mlproxy-warm-up-'));
const clientBin = buildFuseClient(work);
const { xs, ys } = syntheticData(ROWS, INPUTS, OUTPUTS, 31);
const scaled = (a) => a.map((v) => Math.round(v * SCALE));
const dataFile = join(work, 'data');
writeFileSync(
  dataFile,
  opts.kind === 'text' ? datasetText(scaled(xs), scaled(ys), INPUTS, OUTPUTS).replace(/\.00000/g, '') : datasetBinary(xs, ys, INPUTS, OUTPUTS, SCALE),
);

/** One batch: open, 64 KiB writes, close; milliseconds. */
function batchMs(sink) {
  const out = execFileSync('taskset', ['-c', CPU, clientBin, 'write', sink, dataFile, String(CHUNK)], { encoding: 'utf8' });
  return JSON.parse(out).ns / 1e6;
}

const servers = [];
try {
  const mlproxy = await startServer({ name: 'warm-up-mlproxy', cpus: CPU });
  servers.push(mlproxy);
  createModel(mlproxy, 'm', MODEL_CONFIG);
  const bare = await startBareFuseNative({ name: 'warm-up-bare', cpus: CPU });
  servers.push(bare);
  const times = { mlproxy: [], bare: [] };
  for (let i = 0; i < Number(opts.batches); i++) {
    times.mlproxy.push(batchMs(mlproxy.path('models', 'm', 'dataset')));
    times.bare.push(batchMs(bare.path('sink')));
  }
  console.log(`${LABEL} batches of ${fmt(ROWS)} samples in 64 KiB writes, fresh servers, CPU ${CPU}:`);
  console.log('| batches | mlproxy (ms, median) | bare fuse-native (ms, median) | bare ÷ mlproxy |');
  console.log('| --- | --- | --- | --- |');
  for (let i = 0; i < times.mlproxy.length; i += GROUP) {
    const [m, b] = [median(times.mlproxy.slice(i, i + GROUP)), median(times.bare.slice(i, i + GROUP))];
    console.log(`| ${i + 1}–${Math.min(i + GROUP, times.mlproxy.length)} | ${fmt(m)} | ${fmt(b)} | ${fmt(b / m)}× |`);
  }
  if (opts.svg) {
    const points = (list) => list.map((ms, i) => [i + 1, ms]);
    const title = `${LABEL} batch time from a fresh server (${fmt(ROWS)} samples, 64 KiB writes, one CPU)`;
    writeFileSync(
      opts.svg,
      lineChart({
        title,
        xLabel: 'batch',
        yLabel: 'ms',
        series: [
          { name: 'mlproxy', points: points(times.mlproxy) },
          { name: 'bare fuse-native', points: points(times.bare) },
        ],
      }),
    );
    console.log(`wrote ${opts.svg}`);
  }
} finally {
  for (const s of servers) await s.stop();
  rmSync(work, { recursive: true, force: true });
}

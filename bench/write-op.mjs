// In-process A/B of the dataset write op: createOps called directly (no FUSE, no mount), as the server wires it
// (metrics listening, log at warn), a model of 16 + 4 inputs and outputs taking the ceilings bench's MLDS batch (or
// its samples as text with five decimals each, "1234.00000", not the ceilings bench's bare integers) in 64 KiB
// writes, batch after batch. Each build runs in its own process, the builds alternating, and each
// run reports the median and mean of its later half of writes; the table gives the median over runs.
//   node bench/write-op.mjs [--kind binary|text] [--runs N] [--batches N] NAME=ROOT...
//     NAME=ROOT   an mlproxy checkout or copy with dist/ built (e.g. base=/tmp/base new=.)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { syntheticData, datasetBinary, datasetText, median, fmt, parseBuilds } from './lib.mjs';
// Which events the server does not log, from this checkout, so that every build is wired alike.
import { UNLOGGED_EVENTS } from '../dist/serve.js';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kind: { type: 'string', default: 'binary' },
    runs: { type: 'string', default: '8' },
    batches: { type: 'string', default: '120' },
    child: { type: 'string' },
  },
});

if (opts.child) await child(opts.child);
else parent();

function parent() {
  const builds = parseBuilds(positionals).map((b) => ({ ...b, medians: [], means: [] }));
  for (let run = 0; run < Number(opts.runs); run++) {
    for (const b of builds) {
      const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname, '--child', b.root, '--kind', opts.kind, '--batches', opts.batches], {
        encoding: 'utf8',
      });
      const { median: m, mean } = JSON.parse(out);
      b.medians.push(m);
      b.means.push(mean);
      console.log(`run ${run + 1}: ${b.name} median ${fmt(m)} µs, mean ${fmt(mean)} µs a write`);
    }
  }
  const base = median(builds[0].medians);
  for (const b of builds) {
    const m = median(b.medians);
    console.log(
      `${b.name}: median of runs ${fmt(m)} µs a write (runs ${fmt(Math.min(...b.medians))}–${fmt(Math.max(...b.medians))}), mean ${fmt(median(b.means))} µs; ÷ ${builds[0].name} ${fmt(m / base)}×`,
    );
  }
}

async function child(root) {
  const load = (path) => import(pathToFileURL(join(root, 'dist', path)).href);
  const [{ createBus, listenAll }, { Registry }, { createOps }, { createMetrics }, { createLogger }] = await Promise.all(
    ['events.js', 'engine/registry.js', 'fs/ops.js', 'metrics/register.js', 'log.js'].map(load),
  );
  const { log } = createLogger(undefined, 'warn');
  const bus = createBus();
  listenAll(bus, (name, event) => log('info', name, event), UNLOGGED_EVENTS);
  const registry = new Registry(bus);
  createMetrics(bus, registry, { log });
  const ops = createOps({ registry, bus, log, version: 'bench', testFiles: false });
  const call = (op, ...args) =>
    new Promise((resolve, reject) => op(...args, (code, ...rest) => (code < 0 ? reject(new Error(`errno ${code}`)) : resolve(rest))));
  const write = (fd, file, data, n) => new Promise((resolve) => ops.write(`/models/m/${file}`, fd, data, n, 0, resolve));
  const put = async (file, text) => {
    const [fd] = await call(ops.open, `/models/m/${file}`, 1);
    const data = Buffer.from(text);
    await write(fd, file, data, data.length);
    await call(ops.flush, `/models/m/${file}`, fd);
    await call(ops.release, `/models/m/${file}`, fd);
  };
  await call(ops.mkdir, '/models/m', 0o755);
  await put('config', 'inputs=16\noutputs=4\nhidden=64,64\nscale=1000\nbuffer_capacity=100000\n');
  await put('control', 'commit\n');
  await put('control', 'init\n');
  const { xs, ys } = syntheticData(60_000, 16, 4, 31);
  const fixed = (a) => a.map((v) => Math.round(v * 1000));
  const file = opts.kind === 'binary' ? datasetBinary(xs, ys, 16, 4, 1000) : Buffer.from(datasetText(fixed(xs), fixed(ys), 16, 4));
  const chunk = Buffer.alloc(65_536);
  const times = [];
  for (let b = 0; b < Number(opts.batches); b++) {
    const [fd] = await call(ops.open, '/models/m/dataset', 1);
    for (let at = 0; at < file.length; at += 65_536) {
      const n = Math.min(65_536, file.length - at);
      file.copy(chunk, 0, at, at + n); // the binding hands every write over in one reused buffer
      const began = performance.now();
      if ((await write(fd, 'dataset', chunk, n)) !== n) throw new Error('a write was refused');
      times.push((performance.now() - began) * 1000);
    }
    await call(ops.flush, '/models/m/dataset', fd);
    await call(ops.release, '/models/m/dataset', fd);
  }
  const later = times.slice(times.length >> 1); // V8 has optimised the write path by then
  process.stdout.write(JSON.stringify({ median: median(later), mean: later.reduce((a, b) => a + b, 0) / later.length }));
  process.exit(0);
}

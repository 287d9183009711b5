// Builds docs/performance.md from the JSON results bench/run-all.sh collects: the machine, a summary of
// every goal, and each benchmark's own section, with the benchmarks' plots.
// Usage: node bench/report.mjs RESULTS_DIR [--plots DIR] > docs/performance.md
//   --plots DIR  also writes the plots the sections link to into DIR (docs/, beside the doc they belong to)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, table, fmt, writePlots, ROOT } from './lib.mjs';

export const ORDER = ['backends', 'inference', 'training', 'fuse-latency', 'memory', 'dataset-write', 'ceilings', 'qnet-accuracy', 'qnet-kernel'];

const { values: opts, positionals } = parseArgs({ options: { plots: { type: 'string' } }, allowPositionals: true });
const dir = positionals[0];
if (!dir || positionals.length > 1) {
  process.stderr.write('usage: node bench/report.mjs RESULTS_DIR [--plots DIR]\n');
  process.exit(2);
}
const results = ORDER.map((name) => {
  const file = join(dir, `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { name, failed: true };
});
const m = results.find((r) => r.data?.machine)?.data.machine ?? machine();
let commit = 'unknown';
try {
  commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
  if (dirty) commit += ' with uncommitted changes in src/';
} catch {}
const tfjs = JSON.parse(readFileSync(join(ROOT, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8')).version;

const goals = results.flatMap((r) => (r.goals ?? []).map((g) => ({ ...g, bench: r.title ?? r.name })));
const missed = goals.filter((g) => !g.met);
const findings = results.flatMap((r) => r.findings ?? []);
const before = results.find((r) => r.load)?.load.start.loadavg ?? NaN;

let out = `# Performance

Speed and memory goals live here, not in the tests: a test checks that mlproxy is right, a benchmark
measures how fast and how big it is on one machine, and the numbers below are from one run of the whole
suite. Every comparison (fast path vs TensorFlow.js, wasm vs cpu, training idle vs serving, latency idle vs
training) is made side by side in that one run, so the ratios hold even where the absolute numbers move
from machine to machine. The training and latency benchmarks also repeat their cases with one competing
process spinning on a CPU, standing in for the other work a real machine does, so the doc shows both the
quiet case the goals are judged on and what contention does to it.

To rerun and rewrite this file:

\`\`\`sh
npm run build && sudo bench/run-all.sh      # root: the FUSE benchmarks mount a private server
# BENCH_WAIT_QUIET=600 … waits up to 600 s for a quiet machine first; --print prints instead of writing
\`\`\`

Each benchmark also runs alone and prints its section: \`node bench/<name>.mjs\` (${ORDER.map((n) => `\`${n}\``).join(', ')});
\`--svg-dir DIR\` writes its plots there too (the suite writes them into docs/, beside the tables that link them).
The suite takes about ${fmt(results.reduce((s, r) => s + (r.seconds ?? 0), 0) / 60, 2)} minutes here; the FUSE benchmarks start their own server on a
temporary mountpoint and unmount it however they end.

## Machine

${table(
  ['', ''],
  [
    ['date', m.date],
    ['CPU', `${m.cpu}, nproc ${m.nproc}`],
    ['RAM', `${m.ramGiB} GiB`],
    ['Node', m.node],
    ['kernel', m.kernel],
    ['TensorFlow.js', tfjs],
    ['mlproxy', `commit ${commit}`],
    ['load average (1 min) before the suite', String(before)],
    [
      'load average per benchmark, start → end (includes the benchmark itself)',
      results
        .filter((r) => r.load)
        .map((r) => `${r.name} ${r.load.start.loadavg} → ${r.load.end.loadavg}`)
        .join('; '),
    ],
  ],
)}
${
  before > 0.5 * m.nproc
    ? `
Other work was running when the suite started (load average ${before} on ${m.nproc} CPUs), so absolute numbers
and tail latencies are pessimistic; the ratios come from interleaved runs and are the figures to trust.
`
    : ''
}
## Goals

${table(
  ['benchmark', 'metric', 'goal', 'measured', 'met'],
  goals.map((g) => [g.bench, g.metric, g.goal, g.measured, g.met ? 'yes' : '**no**']),
)}
${results
  .filter((r) => r.failed)
  .map((r) => `\n**${r.name} failed in this run; it has no numbers here.**\n`)
  .join('')}
${
  missed.length
    ? `### Misses and what would fix them

${missed.map((g) => `- **${g.metric}** (${g.measured}, goal ${g.goal}): ${g.fix ?? 'see its section.'}`).join('\n')}
`
    : results.some((r) => r.failed)
      ? 'Every goal that was measured was met.\n'
      : 'Every goal was met.\n'
}${
  findings.length
    ? `
### Other findings

${findings.map((f) => `- ${f}`).join('\n')}
`
    : ''
}`;

// Sections other tools write into docs/performance.md (the kernel's view from the qemu guest, notes written
// by hand) are carried over from the current file: this report regenerates only its own. Each carried section
// stays after the section it followed, so notes on a benchmark stay beside its tables.
const own = new Set(['Machine', 'Goals', ...results.map((r) => r.title).filter(Boolean)]);
const carriedAfter = new Map(); // title of the own section before them (or '' for the top) -> carried sections
const current = join(ROOT, 'docs/performance.md');
if (existsSync(current)) {
  let after = '';
  for (const part of readFileSync(current, 'utf8')
    .split(/\n(?=## )/)
    .slice(1)) {
    const title = part.slice(3, part.indexOf('\n')).trim();
    if (own.has(title)) after = title;
    else carriedAfter.set(after, [...(carriedAfter.get(after) ?? []), part.trim()]);
  }
}
const carried = (after) => (carriedAfter.get(after) ?? []).map((part) => `\n${part}\n`).join('');
out += carried('Machine') + carried('Goals');
for (const r of results) {
  if (r.failed) continue;
  out += `\n## ${r.title}\n\n\`node bench/${r.name}.mjs\`, ${fmt(r.seconds)} s.\n\n${r.section.trim()}\n`;
  out += carried(r.title);
}
// Carried sections whose benchmark failed this time, or that came before every regenerated one, go last.
const placed = new Set(['Machine', 'Goals', ...results.filter((r) => !r.failed).map((r) => r.title)]);
for (const [after] of carriedAfter) if (!placed.has(after)) out += carried(after);
if (opts.plots) for (const r of results) if (!r.failed) for (const path of writePlots(r, opts.plots)) process.stderr.write(`report: wrote ${path}\n`);
process.stdout.write(out);

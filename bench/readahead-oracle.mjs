// Does per-phase tuning beat the best fixed readahead on a device model? Reads the console logs of
// `mount-scripts/qemu/ra-run.sh bench DEV` (the same RUN lines bench/readahead-report.mjs reads) and compares,
// per device, the per-phase oracle with the best single fixed value for that device (both workloads), two ways:
//   in-sample: as the report does (oracle = the fastest candidate of each phase in the same repetition; best
//     fixed = the lowest geometric mean over the device's cells of median totals); the minimum over four noisy
//     times is biased low, so this flatters the oracle;
//   leave-one-out: for each repetition r, the oracle's candidate for each phase and the device's best fixed
//     value are chosen on the other repetitions (by median) and timed on r, so noise cannot pick the winner.
// Prints a markdown table and writes a bar chart (SVG) of the leave-one-out ratio per device and cell.
//
//   node bench/readahead-oracle.mjs hdd=LOG cloud=LOG seek=LOG [--svg docs/readahead-oracle.svg]
import fs from 'node:fs';

const FIXED = ['f16', 'def', 'f512', 'f2048'];
const KB = { f16: 16, def: 128, f512: 512, f2048: 2048 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const sum = (xs) => xs.reduce((s, x) => s + x, 0);

/** times[work][variant][rep] = { total, phases[] } for the fixed variants, complete repetitions only */
function fixedRuns(text) {
  const times = {};
  for (const line of text.replace(/\r/g, '').split('\n')) {
    const m = /^RUN rep=(\d+) work=(\w+) variant=(\w+) .*?(?:phase=(\d+) .*?)?ms=([\d.]+)/.exec(line.trim());
    if (!m || !FIXED.includes(m[3])) continue;
    const r = (((times[m[2]] ??= {})[m[3]] ??= {})[m[1]] ??= { phases: [] });
    if (m[4] === undefined) r.total = Number(m[5]);
    else r.phases[Number(m[4])] = Number(m[5]);
  }
  for (const byVariant of Object.values(times)) {
    const complete = Object.keys(byVariant.def ?? {}).filter((rep) => FIXED.every((v) => Number.isFinite(byVariant[v]?.[rep]?.total)));
    for (const v of FIXED) byVariant[v] = Object.fromEntries(complete.map((rep) => [rep, byVariant[v][rep]]));
  }
  return times;
}

/** The best fixed value for a device, judged on the given repetitions: lowest geometric mean over its cells. */
function bestFixed(times, reps) {
  const score = (v) => geomean(Object.values(times).map((byVariant) => median(reps.map((r) => byVariant[v][r].total))));
  return FIXED.reduce((b, v) => (score(v) < score(b) ? v : b), 'def');
}

/** Per-phase choice judged on the given repetitions: the candidate with the lowest median time of that phase. */
const phaseChoice = (byVariant, reps, i) =>
  FIXED.reduce((b, v) => (median(reps.map((r) => byVariant[v][r].phases[i])) < median(reps.map((r) => byVariant[b][r].phases[i])) ? v : b), 'def');

function compare(times) {
  const works = Object.keys(times);
  const reps = Object.keys(times[works[0]]?.def ?? {}).filter((r) => works.every((w) => times[w].def[r]));
  const inFixed = bestFixed(times, reps);
  const cells = {};
  for (const w of works) {
    const byVariant = times[w];
    const nPhases = byVariant.def[reps[0]].phases.length;
    const inOracle = median(reps.map((r) => sum(byVariant.def[r].phases.map((_, i) => Math.min(...FIXED.map((v) => byVariant[v][r].phases[i]))))));
    // leave-one-out needs at least two repetitions to choose on
    const loo = (reps.length < 2 ? [] : reps).map((r) => {
      const others = reps.filter((x) => x !== r);
      const fixed = byVariant[bestFixed(times, others)][r].total;
      const oracle = sum(Array.from({ length: nPhases }, (_, i) => byVariant[phaseChoice(byVariant, others, i)][r].phases[i]));
      return { fixed, oracle, ratio: fixed / oracle };
    });
    const choices = Array.from({ length: nPhases }, (_, i) => `${byVariant.def[reps[0]].kinds?.[i] ?? i}:${KB[phaseChoice(byVariant, reps, i)]}`);
    cells[w] = {
      reps: reps.length,
      inFixed: median(reps.map((r) => byVariant[inFixed][r].total)),
      inOracle,
      loo,
      looRatio: median(loo.map((x) => x.ratio)),
      looRange: [Math.min(...loo.map((x) => x.ratio)), Math.max(...loo.map((x) => x.ratio))],
      choices,
    };
  }
  return { inFixed, cells };
}

function chart(rows) {
  const W = 640,
    rowH = 26,
    L = 130,
    R = 40,
    T = 30,
    H = T + rowH * rows.length + 40;
  const max = Math.max(1.5, ...rows.map((r) => r.range[1])) * 1.05;
  const x = (v) => L + ((W - L - R) * v) / max;
  const bars = rows.map((r, k) => {
    const y = T + k * rowH;
    return `<text x="${L - 6}" y="${y + 15}" font-size="11" text-anchor="end">${r.label}</text>
<rect x="${L}" y="${y + 4}" width="${(x(r.ratio) - L).toFixed(1)}" height="${rowH - 10}" fill="${r.ratio >= 1.05 ? '#2ca02c' : '#999'}" opacity="0.6"/>
<line x1="${x(r.range[0]).toFixed(1)}" y1="${y + rowH / 2}" x2="${x(r.range[1]).toFixed(1)}" y2="${y + rowH / 2}" stroke="#000"/>
<text x="${(x(r.range[1]) + 4).toFixed(1)}" y="${y + 15}" font-size="10">${r.ratio.toFixed(2)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<title>Per-phase oracle vs the best fixed readahead per device (leave-one-out, time ratio; above 1: per-phase tuning is faster)</title>
<text x="${L}" y="16" font-size="12">best fixed time / per-phase oracle time, leave-one-out (bar: median; line: range over repetitions)</text>
${bars.join('\n')}
<line x1="${x(1).toFixed(1)}" y1="${T}" x2="${x(1).toFixed(1)}" y2="${H - 34}" stroke="#d62728" stroke-dasharray="4 3"/>
<text x="${x(1).toFixed(1)}" y="${H - 20}" font-size="10" text-anchor="middle">1.0 (no gain)</text>
</svg>
`;
}

const args = process.argv.slice(2);
const svgPath = args.includes('--svg') ? args[args.indexOf('--svg') + 1] : null;
const out = [
  '| device / cell | reps | best fixed for the device (KiB) | in-sample: best fixed s / oracle s (ratio) | leave-one-out ratio, median (range) | oracle per phase (kind:KiB, by median) |',
  '|---|---|---|---|---|---|',
];
const rows = [];
for (const spec of args.filter((a) => a.includes('='))) {
  const [dev, file] = spec.split('=');
  const text = fs.readFileSync(file, 'utf8');
  const times = fixedRuns(text);
  // the phase kinds, for the choices column
  for (const m of text.matchAll(/^RUN rep=\d+ work=(\w+) variant=def .*?phase=(\d+) kind=(\w+)/gm)) {
    for (const r of Object.values(times[m[1]]?.def ?? {})) (r.kinds ??= [])[Number(m[2])] = m[3];
  }
  const { inFixed, cells } = compare(times);
  for (const [w, c] of Object.entries(cells)) {
    out.push(
      `| ${dev} / ${w} | ${c.reps} | ${KB[inFixed]} | ${(c.inFixed / 1000).toFixed(2)} / ${(c.inOracle / 1000).toFixed(2)} (${(c.inFixed / c.inOracle).toFixed(2)}) | ${c.loo.length ? `**${c.looRatio.toFixed(2)}** (${c.looRange.map((v) => v.toFixed(2)).join('-')})` : '- (one repetition)'} | ${c.choices.join(', ')} |`,
    );
    if (Number.isFinite(c.looRatio)) rows.push({ label: `${dev} / ${w}`, ratio: c.looRatio, range: c.looRange });
  }
  const g = geomean(Object.values(cells).map((c) => c.looRatio));
  if (Number.isFinite(g)) out.push(`| **${dev}** (geometric mean of its cells) | | | | **${g.toFixed(2)}** | |`);
}
console.log(out.join('\n'));
if (svgPath && rows.length) fs.writeFileSync(svgPath, chart(rows));

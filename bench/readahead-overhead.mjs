// Readahead module overhead report: reads the console log of `mount-scripts/qemu/ra-run.sh overhead DEV` and
// prints, per variant, the time to finish the fixed work (median and range) and its ratio to the run without the
// module in the same repetition (median and range of the paired ratios), per phase too, plus the module's probe
// hits per run; writes the paired ratios as a dot plot (SVG) when --svg is given.
//
//   node bench/readahead-overhead.mjs LOG [--skip REP,...] [--svg docs/readahead-overhead-cloud.svg] [--title TEXT]
//
// --skip leaves repetitions out (logs from before the guest job made a throwaway run first: a boot's first run
// is slow whatever it runs, and it was always the first variant's).
import fs from 'node:fs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const logPath = args.find((a, i) => !a.startsWith('--') && !['--svg', '--title', '--skip'].includes(args[i - 1]));
const skipped = new Set((opt('--skip') ?? '').split(',').filter(Boolean));
if (!logPath) {
  console.error('usage: node bench/readahead-overhead.mjs LOG [--svg FILE] [--title TEXT]');
  process.exit(2);
}

const fields = (line) => Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(q * (s.length - 1))] : NaN;
};
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : '-');

/** runs[variant][rep] = { total, phases: [ms], kinds: [kind] }; hits[variant] = [{name: n}] */
const runs = {};
const hits = {};
const order = [];
for (const raw of fs.readFileSync(logPath, 'utf8').replace(/\r/g, '').split('\n')) {
  const line = raw.trim();
  if (line.startsWith('RUN rep=')) {
    const f = fields(line);
    if (skipped.has(f.rep)) continue;
    if (!runs[f.variant]) {
      runs[f.variant] = {};
      order.push(f.variant);
    }
    const r = (runs[f.variant][f.rep] ??= { phases: [], kinds: [] });
    if (line.includes(' total ms=')) r.total = Number(f.ms);
    else {
      r.phases[Number(f.phase)] = Number(f.ms);
      r.kinds[Number(f.phase)] = f.kind;
    }
  } else if (line.startsWith('HITS variant=')) {
    const v = fields(line).variant;
    const counts = {};
    for (const m of line.matchAll(/(\w+) (\d+)(?:\/(\d+))?/g)) counts[m[1]] = Number(m[2]);
    (hits[v] ??= []).push(counts);
  }
}
if (!runs.none) {
  console.error('no runs without the module (variant none) in the log');
  process.exit(1);
}

const reps = Object.keys(runs.none);

/**
 * 95% interval of the ratio of medians (variant / none) by resampling the repetitions (paired: one draw takes
 * both runs of a repetition), 2000 draws from a fixed seed so a report reads the same every time.
 */
function bootstrapRatio(v) {
  const both = reps.filter((r) => runs[v][r]?.total > 0 && runs.none[r].total > 0);
  let seed = 12345;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const draws = [];
  for (let d = 0; d < 2000; d++) {
    const pick = both.map(() => both[Math.floor(random() * both.length)]);
    draws.push(median(pick.map((r) => runs[v][r].total)) / median(pick.map((r) => runs.none[r].total)));
  }
  return [quantile(draws, 0.025), quantile(draws, 0.975)];
}
const paired = (v, pick) => reps.filter((r) => runs[v][r] && pick(runs[v][r]) > 0 && pick(runs.none[r]) > 0).map((r) => pick(runs[v][r]) / pick(runs.none[r]));

const kinds = runs.none[reps[0]].kinds;
// Interference from other work on the host only ever adds time, so the fastest quarter of each variant's runs
// (its lower quartile) is printed beside the median: the ratio of lower quartiles is the least disturbed estimate.
console.log(
  `| variant | runs | seconds, median (range) | vs no module: ratio of medians [95% interval] | lower quartile s, vs no module | vs no module: median of paired ratios (range) | per phase, median of paired ratios (${kinds.join(', ')}) |`,
);
console.log('|---|---|---|---|---|---|---|');
const noneMedian = median(
  Object.values(runs.none)
    .map((r) => r.total)
    .filter((t) => t > 0),
);
const noneQ = quantile(
  Object.values(runs.none)
    .map((r) => r.total)
    .filter((t) => t > 0),
  0.25,
);
const ratios = {};
for (const v of order) {
  const totals = Object.values(runs[v])
    .map((r) => r.total)
    .filter((t) => t > 0);
  ratios[v] = paired(v, (r) => r.total);
  const phase = kinds.map((_, i) => f2(median(paired(v, (r) => r.phases[i])))).join(' / ');
  const range = v === 'none' ? '' : ` (${f3(Math.min(...ratios[v]))}-${f3(Math.max(...ratios[v]))})`;
  console.log(
    `| ${v} | ${totals.length} | ${f2(median(totals) / 1000)} (${f2(Math.min(...totals) / 1000)}-${f2(Math.max(...totals) / 1000)}) | ` +
      `${v === 'none' ? '1' : `${f3(median(totals) / noneMedian)} [${bootstrapRatio(v).map(f3).join('-')}]`} | ` +
      `${f2(quantile(totals, 0.25) / 1000)}, ${f3(quantile(totals, 0.25) / noneQ)} | ` +
      `${v === 'none' ? '1 (reference)' : f3(median(ratios[v])) + range} | ${v === 'none' ? '' : phase} |`,
  );
}

const hitVariants = Object.keys(hits);
if (hitVariants.length) {
  console.log('\nProbe hits per run (median over the runs of each variant; kretprobes: entries/returns handled):\n');
  const names = Object.keys(hits[hitVariants[0]][0] ?? {}).filter((n) => n !== 'groups');
  console.log(`| variant | ${names.join(' | ')} |`);
  console.log(`|---|${names.map(() => '---').join('|')}|`);
  for (const v of hitVariants) console.log(`| ${v} | ${names.map((n) => median(hits[v].map((h) => h[n] ?? 0))).join(' | ')} |`);
}

const svgPath = opt('--svg');
if (svgPath) {
  const vs = order.filter((v) => v !== 'none');
  const all = vs.flatMap((v) => ratios[v]);
  const lo = Math.min(0.95, ...all);
  const hi = Math.max(1.1, ...all);
  const W = 640;
  const rowH = 28;
  const left = 110;
  const right = 20;
  const top = 40;
  const H = top + rowH * vs.length + 40;
  const x = (r) => left + ((r - lo) / (hi - lo)) * (W - left - right);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${opt('--title') ?? 'time with the module / time without, per repetition'}</text>`,
  ];
  for (const t of [1, 1.02, 1.05, 1.1, 1.2, 1.3].filter((t) => t >= lo && t <= hi)) {
    out.push(
      `<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${H - 30}" stroke="${t === 1 ? '#000' : t === 1.02 ? '#c00' : '#ccc'}" stroke-dasharray="${t === 1 ? '' : '3,3'}"/>`,
    );
    out.push(`<text x="${x(t)}" y="${H - 14}" text-anchor="middle">${t === 1 ? '1' : t.toFixed(2)}x</text>`);
  }
  vs.forEach((v, i) => {
    const y = top + rowH * i + rowH / 2;
    out.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end">${v}</text>`);
    for (const r of ratios[v]) out.push(`<circle cx="${x(r).toFixed(1)}" cy="${y}" r="3.5" fill="#36c" fill-opacity="0.55"/>`);
    const m = median(ratios[v]);
    out.push(`<line x1="${x(m).toFixed(1)}" y1="${y - 9}" x2="${x(m).toFixed(1)}" y2="${y + 9}" stroke="#000" stroke-width="2"/>`);
  });
  out.push('</svg>');
  fs.writeFileSync(svgPath, out.join('\n') + '\n');
  console.log(`\nwrote ${svgPath}`);
}

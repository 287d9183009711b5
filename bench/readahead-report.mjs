// Readahead use case report: reads the console logs of `mount-scripts/qemu/ra-run.sh bench DEV` and prints
// the per-cell and per-phase tables (medians and ranges), the per-phase oracle, the best fleet-wide fixed
// value, the emergency overhead, and, with --svg-dir, writes the learning curve of each device as an SVG there
// (without it none is written: the docs link the curves of the rounds they report, which a re-read of another
// round's logs must not overwrite).  Since round 12 the bench also runs the per-phase oracle's windows set phase
// by phase in one run (variant sched), and logs of `ra-run.sh sched DEV` add the hand-set schedules s1 and s2.
// Logs of `ra-run.sh search DEV` (round 28) have s1 as the best schedule a local search found (SEARCH-BEST lines),
// timed afresh beside the default, the fixed values and the oracle's windows; the report says what share of the
// oracle's saving it keeps.
//
//   node bench/readahead-report.mjs hdd=/path/hdd.log cloud=/path/cloud.log [--svg-dir DIR] [--tag TAG] [--out FILE]
// --tag names the curves readahead-learning-<dev>-TAG.svg (one boot's, kept beside the others); --out writes the
// report to FILE instead of stdout, with the curves linked relative to it.
import fs from 'node:fs';
import path from 'node:path';

const FIXED = ['f16', 'def', 'f512', 'f2048']; // def is the kernel default, 128 KiB
const LABEL = {
  f16: '16',
  def: '128 (default)',
  f512: '512',
  f2048: '2048',
  emerg: 'emergency',
  auto: 'mlproxy auto',
  sched: 'oracle schedule, one run',
  s1: 'schedule 1',
  s2: 'schedule 2',
};
// the variants shown, in order, where a log has them
const SHOWN = [...FIXED, 'emerg', 'auto', 'sched', 's1', 's2'];

function fields(line) {
  const o = {};
  for (const m of line.matchAll(/(\w+)=(\S+)/g)) o[m[1]] = m[2];
  return o;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const fmt = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '-');
const range = (xs) => (xs.length ? `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}` : '-');
const ratio = (a, b) => (Number.isFinite(a / b) ? (a / b).toFixed(2) : '-');
const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

/** runs[work][variant][rep] = { total, phases: [ms...] , kinds: [...] } */
function parse(text) {
  const runs = {};
  const curve = [];
  const events = [];
  // seconds sampled in each mode while the measured auto runs were loaded (the CURVE lines after the
  // warm-up); a RUN line's own mode= is read right after insmod, before the module's first round. A sample
  // taken while the module was being unloaded (mode=unknown) says nothing about a run (round 13: the warm-up
  // sampler's last tick fell after the warm-up's end once).
  const autoModes = {};
  const searchBest = {};
  let measured = false;
  for (const raw of text.replace(/\r/g, '').split('\n')) {
    const line = raw.trim();
    if (line.includes('bench: warm-up done')) measured = true;
    if (line.startsWith('CURVE ')) {
      const c = fields(line);
      curve.push(c);
      if (measured && c.mode !== 'unknown') autoModes[c.mode] = (autoModes[c.mode] ?? 0) + 1;
    } else if (line.startsWith('EVENT ')) events.push(line.slice(6));
    else if (line.startsWith('SEARCH-BEST ')) {
      const f = fields(line);
      searchBest[f.work] = f;
    } else if (line.startsWith('RUN rep=')) {
      const f = fields(line);
      const cell = ((runs[f.work] ??= {})[f.variant] ??= {});
      const r = (cell[f.rep] ??= { phases: [], kinds: [], mode: f.mode });
      if (line.includes(' total ms=')) r.total = Number(f.ms);
      else {
        r.phases[Number(f.phase)] = Number(f.ms);
        r.kinds[Number(f.phase)] = f.kind;
      }
    }
  }
  return { runs, curve, events: [...new Set(events)], autoModes, searchBest };
}

function cellStats(cell) {
  const reps = Object.keys(cell.def ?? {}).filter((rep) => FIXED.every((v) => cell[v]?.[rep]?.total));
  const out = { reps, variant: {}, oracle: [] };
  for (const [v, byRep] of Object.entries(cell)) {
    const totals = Object.values(byRep)
      .map((r) => r.total)
      .filter(Number.isFinite);
    out.variant[v] = { totals, median: median(totals), modes: [...new Set(Object.values(byRep).map((r) => r.mode))] };
  }
  // per-phase oracle: the best fixed candidate of each phase, measured in the same repetition
  for (const rep of reps) {
    const nPhases = cell.def[rep].phases.length;
    let sum = 0;
    for (let i = 0; i < nPhases; i++) sum += Math.min(...FIXED.map((v) => cell[v][rep].phases[i]));
    out.oracle.push(sum);
  }
  out.oracleMedian = median(out.oracle);
  return out;
}

function phaseTable(cell, label) {
  const variants = SHOWN.filter((v) => cell[v]);
  const any = Object.values(cell.def ?? {})[0];
  if (!any) return '';
  const rows = [`| phase | ${variants.map((v) => label[v]).join(' | ')} | best fixed |`, `|---|${variants.map(() => '---').join('|')}|---|`];
  any.phases.forEach((_, i) => {
    const med = variants.map((v) =>
      median(
        Object.values(cell[v])
          .map((r) => r.phases[i])
          .filter(Number.isFinite),
      ),
    );
    const best = FIXED.reduce((b, v) => (med[variants.indexOf(v)] < med[variants.indexOf(b)] ? v : b), 'def');
    rows.push(`| ${i} ${any.kinds[i]} | ${med.map(fmt).join(' | ')} | ${LABEL[best]} |`);
  });
  return rows.join('\n');
}

function curveSvg(dev, curve) {
  const W = 720,
    H = 300,
    L = 50,
    R = 20,
    T = 20,
    B = 40;
  const t0 = Number(curve[0]?.t ?? 0);
  const pts = curve.map((c) => ({ t: Number(c.t) - t0, eff: Number(c.eff) / 1000, mode: c.mode, ra: Number(c.ra_kb) })).filter((p) => Number.isFinite(p.t));
  if (!pts.length) return null;
  const tMax = Math.max(...pts.map((p) => p.t), 1);
  const eMax = Math.max(...pts.map((p) => p.eff), 1);
  const x = (t) => L + ((W - L - R) * t) / tMax;
  const y = (e) => H - B - ((H - T - B) * e) / eMax;
  const modeColor = { emergency: '#d62728', learning: '#ff7f0e', collaboration: '#1f77b4', recommendation: '#2ca02c' };
  const bands = [];
  for (let i = 0; i < pts.length - 1; i++) {
    bands.push(
      `<rect x="${x(pts[i].t).toFixed(1)}" y="${T}" width="${Math.max(0.5, x(pts[i + 1].t) - x(pts[i].t)).toFixed(1)}" height="${H - T - B}" fill="${modeColor[pts[i].mode] ?? '#999'}" opacity="0.15"/>`,
    );
  }
  const line = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.eff).toFixed(1)}`).join(' ');
  const legend = Object.entries(modeColor).map(
    ([m, c], i) =>
      `<rect x="${L + i * 150}" y="${H - 18}" width="10" height="10" fill="${c}" opacity="0.5"/><text x="${L + 14 + i * 150}" y="${H - 9}" font-size="11">${m}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<title>mlp_ra learning curve on ${dev}: efficiency of the last interval (log2 KiB/s per reading task) and mode in force, from an empty model</title>
${bands.join('\n')}
<path d="${line}" fill="none" stroke="#333" stroke-width="1"/>
<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#000"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#000"/>
<text x="${W / 2}" y="${H - 24}" font-size="11" text-anchor="middle">guest seconds from the warm-up's start (${dev}; gaps: module not loaded); background: mode in force</text>
<text x="12" y="${H / 2}" font-size="11" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">efficiency, log2(KiB/s)</text>
<text x="${L - 4}" y="${y(eMax) + 4}" font-size="10" text-anchor="end">${eMax.toFixed(1)}</text><text x="${L - 4}" y="${H - B}" font-size="10" text-anchor="end">0</text>
<text x="${W - R}" y="${H - B + 12}" font-size="10" text-anchor="end">${tMax.toFixed(0)}</text>
${legend.join('\n')}
</svg>
`;
}

const args = process.argv.slice(2);
const optionOf = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
const svgDir = optionOf('--svg-dir');
const tag = optionOf('--tag');
const outFile = optionOf('--out');
const logs = args.filter((a) => a.includes('='));
const all = {};
const out = [];
const summary = [];
for (const spec of logs) {
  const [dev, file] = spec.split('=');
  const { runs, curve, events, autoModes, searchBest } = parse(fs.readFileSync(file, 'utf8'));
  const autoModesSeen = Object.entries(autoModes)
    .map(([m, n]) => `${m} ${n} s`)
    .join(', ');
  all[dev] = {};
  out.push(`### ${dev}\n`);
  for (const work of Object.keys(runs)) {
    const st = cellStats(runs[work]);
    all[dev][work] = st;
    const found = searchBest[work];
    const label = found ? { ...LABEL, s1: `best schedule found (${found.windows})` } : LABEL;
    const def = st.variant.def?.median;
    const auto = st.variant.auto?.median;
    const bestFixed = FIXED.reduce((b, v) => (st.variant[v]?.median < st.variant[b]?.median ? v : b), 'def');
    out.push(`**${dev} / ${work}** (${st.reps.length} complete repetitions; seconds to finish the fixed work, median and range)\n`);
    out.push('| variant | median s | range s | vs default | modes seen (auto: sampled each second over all its runs) |', '|---|---|---|---|---|');
    for (const v of SHOWN) {
      const s = st.variant[v];
      if (s)
        out.push(
          `| ${label[v]} | ${fmt(s.median)} | ${range(s.totals)} | ${ratio(def, s.median)}x | ${v === 'auto' ? autoModesSeen || s.modes.join(', ') : v === 'emerg' ? s.modes.join(', ') : ''} |`,
        );
    }
    out.push(`| per-phase oracle | ${fmt(st.oracleMedian)} | ${range(st.oracle)} | ${ratio(def, st.oracleMedian)}x | |`);
    const sched = st.variant.sched?.median;
    const pct = (x) => (Number.isFinite(x) ? (100 * x).toFixed(0) + '%' : '-');
    if (auto)
      out.push(
        '',
        `Saving kept by mlproxy auto: ${pct((def - auto) / (def - st.oracleMedian))} of the oracle's saving over the default` +
          // The issue's oracle adds up phases from different runs, each with its own page cache; its windows set phase by
          // phase in one run are what a per-phase policy can reach. Where their share is under 85%, goal 1 is out of
          // reach of better choices among these windows (round 15).
          (sched
            ? `, ${pct((def - auto) / (def - sched))} of the saving of the oracle's windows set in one run` +
              ` (the oracle's windows set in one run keep ${pct((def - sched) / (def - st.oracleMedian))} of its saving)`
            : '') +
          `; auto vs default ${ratio(def, auto)}x; emergency (module loaded, nothing applied) vs no module ${ratio(st.variant.emerg?.median, def)}x the time.\n`,
      );
    if (found) {
      const kept = (v) => pct((def - st.variant[v]?.median) / (def - st.oracleMedian));
      out.push(
        '',
        `Saving kept, of the oracle's over the default: the best schedule found by the search (${found.windows}, ` +
          `${found.evaluated} schedules evaluated) ${kept('s1')}, the oracle's windows set in one run ${kept('sched')}, ` +
          `the best fixed value (${LABEL[bestFixed]}) ${kept(bestFixed)}.\n`,
      );
    }
    out.push('Per phase (median seconds):\n', phaseTable(runs[work], label), '');
    summary.push(
      `| ${dev} / ${work} | ${fmt(def)} (${range(st.variant.def?.totals ?? [])}) | ${fmt(st.variant[bestFixed]?.median)} (${LABEL[bestFixed]}) | ${fmt(st.oracleMedian)} | ${fmt(st.variant.sched?.median)} | ${fmt(auto)} (${range(st.variant.auto?.totals ?? [])}), ${ratio(def, auto)}x | ${fmt(st.variant.emerg?.median)}, ${ratio(st.variant.emerg?.median, def)}x the time |`,
    );
  }
  if (events.length) out.push('Mode transitions (events file):\n', '```', ...events.slice(-20), '```', '');
  const svg = svgDir ? curveSvg(dev, curve) : null;
  if (svg) {
    const p = path.join(svgDir, `readahead-learning-${dev}${tag ? `-${tag}` : ''}.svg`);
    fs.mkdirSync(svgDir, { recursive: true });
    fs.writeFileSync(p, svg);
    const link = outFile ? path.relative(path.dirname(outFile), p) : path.basename(p);
    out.push(`Learning curve: [${path.basename(p)}](${link})\n`);
  }
}
// fleet-wide: the one fixed value with the best geometric mean over all cells
const cells = Object.values(all).flatMap((d) => Object.values(d));
if (cells.length) {
  const gm = Object.fromEntries(FIXED.map((v) => [v, geomean(cells.map((c) => c.variant[v]?.median ?? NaN))]));
  const best = FIXED.reduce((b, v) => (gm[v] < gm[b] ? v : b), 'def');
  const gAuto = geomean(cells.map((c) => c.variant.auto?.median ?? NaN));
  const gDef = geomean(cells.map((c) => c.variant.def?.median ?? NaN));
  const gOracle = geomean(cells.map((c) => c.oracleMedian));
  out.push(`### Over the ${cells.length} cells (geometric mean of median times)\n`);
  out.push(
    `Best single fixed value for the fleet: ${LABEL[best]} KiB.` +
      (Number.isFinite(gAuto) ? ` mlproxy auto vs it: ${ratio(gm[best], gAuto)}x; vs the default: ${ratio(gDef, gAuto)}x;` : '') +
      ` per-phase oracle vs it: ${ratio(gm[best], gOracle)}x.\n`,
  );
}
if (summary.length) {
  out.unshift(
    '| cell | default 128 | best fixed | per-phase oracle | its windows in one run | mlproxy auto, vs default | emergency, vs default |',
    '|---|---|---|---|---|---|---|',
    ...summary,
    '',
  );
}
if (outFile) fs.writeFileSync(outFile, `${out.join('\n')}\n`);
else console.log(out.join('\n'));

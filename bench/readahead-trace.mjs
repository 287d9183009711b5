#!/usr/bin/env node
// Owns the reading of an interval trace (ra-run.sh RA_TRACE=1): each interval cut by ra-work's phase marks, and what it scored.
//
//   node bench/readahead-trace.mjs LOG[.gz] [--json OUT]
//
// LOG is ra-run.sh's console log (RA_LOG) of a bench run with RA_TRACE=1: KMSG lines "iv ..." from the module's
// trace_intervals and "ra-work: phase=I kind=K start|end" marks, both with the kernel's timestamps. An interval is
// the dt ms before its line. Prints, per phase kind and window in force for that kind of access, how the intervals
// inside a phase (no mark within them) scored, and how many of them became evidence or training samples; how often
// the module's context changes inside a phase (each change ends a context's run, where carry_intervals starts its
// charge); and, per pair of phases one after the other, what the second paid after the first's window (round 27).
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const KINDS = ['small', 'large', 'fault'];
const BITS = 10;
const PAGE_KB = 4;
const DEFAULT_KB = 128;

function usage(msg) {
  if (msg) console.error(`readahead-trace: ${msg}`);
  console.error('usage: node bench/readahead-trace.mjs LOG[.gz] [--json OUT]');
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length !== 1 && !(args.length === 3 && args[1] === '--json')) usage();
const [logPath, , jsonOut] = args;

const IV = /\[\s*([\d.]+)\] mlp_ra_kmod: iv (.*)$/;
const MARK = /\[\s*([\d.]+)\] ra-work: phase=(\d+) kind=(\w+) (start|end)$/;

/** The windows in force per kind, KiB, from the packed word (0: the device's own). */
function windows(packed) {
  return KINDS.map((_, k) => ((packed >> (k * BITS)) & ((1 << BITS) - 1)) * PAGE_KB || DEFAULT_KB);
}

const intervals = [];
const marks = [];
// a log kept in bench/results may be gzipped (a trace of minutes is megabytes)
const raw = readFileSync(logPath);
const text = (logPath.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
for (const line of text.split(/\r?\n/)) {
  let m = IV.exec(line);
  if (m) {
    const f = Object.fromEntries(m[2].split(' ').map((kv) => kv.split('=')));
    const t = Number(m[1]);
    intervals.push({
      t0: t - Number(f.dt) / 1000,
      t1: t,
      ctx: Number(f.ctx),
      prev: Number(f.prev),
      win: windows(Number.parseInt(f.kinds, 16)),
      blk: f.blk,
      settle: f.settle === '1',
      scored: f.scored === '1',
      eff: Number(f.eff),
      rel: Number(f.rel),
      faultKiB: Number(f.fault) / 1024,
      readKiB: Number(f.read) / 1024,
      dt: Number(f.dt),
    });
    continue;
  }
  m = MARK.exec(line);
  if (m) marks.push({ t: Number(m[1]), phase: Number(m[2]), kind: m[3], what: m[4] });
}
if (!intervals.length) usage(`no "iv" lines in ${logPath} (was it run with RA_TRACE=1?)`);

// phases as [start, end, kind]
const phases = [];
const open = new Map();
for (const mk of marks) {
  if (mk.what === 'start') open.set(mk.phase, mk);
  else if (open.has(mk.phase)) {
    phases.push({ t0: open.get(mk.phase).t, t1: mk.t, kind: mk.kind });
    open.delete(mk.phase);
  }
}
phases.sort((a, b) => a.t0 - b.t0);
// the intervals wholly inside each phase, found once for the tables below (kept apart from phases, which --json writes)
const innerOf = new Map(phases.map((p) => [p, intervals.filter((iv) => p.t0 <= iv.t0 && iv.t1 <= p.t1)]));

/** The phase an interval lies wholly inside, or null (it holds a mark, or falls between runs). */
function phaseOf(iv) {
  for (const p of phases) if (p.t0 <= iv.t0 && iv.t1 <= p.t1) return p;
  return null;
}

const kindOfPhase = { mmap: 2, rstride: 2, seq: 1, runs: 0, mix: 1 };
// The module's own rule is ra_queue_feedback (kmod/mlp_ra.c); this mirrors it, without the mix (off by default).
const evidence = (iv) => iv.scored && iv.rel >= 0 && iv.blk !== 'explore' && !iv.settle && iv.ctx === iv.prev;
const groups = new Map();
let inside = 0;
for (const iv of intervals) {
  const p = phaseOf(iv);
  const key = p ? `${p.kind} @${iv.win[kindOfPhase[p.kind] ?? 2]}` : 'boundary or idle';
  if (p) inside++;
  let g = groups.get(key);
  if (!g) groups.set(key, (g = { n: 0, scored: 0, effSum: 0, kibps: 0, evidence: 0, ml: 0, relSum: 0, relN: 0 }));
  g.n++;
  if (iv.scored) {
    g.scored++;
    g.effSum += iv.eff;
    g.kibps += ((iv.faultKiB + iv.readKiB) * 1000) / iv.dt;
  }
  if (evidence(iv)) {
    g.evidence++;
    if (iv.blk === 'ml') g.ml++;
    g.relSum += iv.rel;
    g.relN++;
  }
}

console.log(`${intervals.length} intervals, ${phases.length} phases; ${inside} intervals wholly inside a phase\n`);
console.log(
  '| phase kind @ window of its access (KiB) | intervals | scored | mean score | mean KiB/s delivered | evidence (of it ml) | mean relative score of the evidence |',
);
console.log('|---|---|---|---|---|---|---|');
const rows = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
for (const [key, g] of rows) {
  const mean = (s, n) => (n ? Math.round(s / n) : '-');
  console.log(
    `| ${key} | ${g.n} | ${g.scored} | ${mean(g.effSum, g.scored)} | ${mean(g.kibps, g.scored)} | ${g.evidence} (${g.ml}) | ${mean(g.relSum, g.relN)} |`,
  );
}

// per phase: how many intervals it spans, and how many of them became evidence
console.log('\n| phase kind | phases | mean length ms | intervals touching it per phase | of them evidence |');
console.log('|---|---|---|---|---|');
const perKind = new Map();
let j = 0;
for (const p of phases) {
  while (j < intervals.length && intervals[j].t1 <= p.t0) j++;
  let touching = 0;
  let ev = 0;
  for (let k = j; k < intervals.length && intervals[k].t0 < p.t1; k++) {
    touching++;
    if (evidence(intervals[k]) && intervals[k].t0 >= p.t0 && intervals[k].t1 <= p.t1) ev++;
  }
  let s = perKind.get(p.kind);
  if (!s) perKind.set(p.kind, (s = { n: 0, ms: 0, touching: 0, ev: 0 }));
  s.n++;
  s.ms += (p.t1 - p.t0) * 1000;
  s.touching += touching;
  s.ev += ev;
}
for (const [kind, s] of perKind) {
  console.log(`| ${kind} | ${s.n} | ${(s.ms / s.n).toFixed(0)} | ${(s.touching / s.n).toFixed(1)} | ${(s.ev / s.n).toFixed(2)} |`);
}

// Inside a phase the context should hold still; each change ends a run of it, and the carry (carry_intervals)
// charges that run with the intervals after, which are then the same phase's.
console.log('\n| phase kind | phases | context changes inside a phase, mean | its contexts (intervals) |');
console.log('|---|---|---|---|');
const flicker = new Map();
for (const p of phases) {
  const inner = innerOf.get(p).filter((iv) => iv.scored);
  let f = flicker.get(p.kind);
  if (!f) flicker.set(p.kind, (f = { n: 0, changes: 0, ctx: new Map() }));
  f.n++;
  for (let k = 0; k < inner.length; k++) {
    if (k && inner[k].ctx !== inner[k - 1].ctx) f.changes++;
    f.ctx.set(inner[k].ctx, (f.ctx.get(inner[k].ctx) ?? 0) + 1);
  }
}
for (const [kind, f] of flicker) {
  const ctx = [...f.ctx.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} (${n})`)
    .join(', ');
  console.log(`| ${kind} | ${f.n} | ${(f.changes / f.n).toFixed(1)} | ${ctx} |`);
}

// What a phase leaves the next: pairs of phases of one run (the second starts within 100 ms of the first's end),
// by the window in force for the first's access over most of its intervals and the second's over most of its own;
// the second's time, and the sums the carry would charge over its first CARRY_K scored intervals: their shortfall
// against their context's default alone, and net (surpluses subtracted).
const CARRY_K = 8;
const REL_BASE = 5000; // the module's RA_REL_BASE: a relative score as good as the default
// the window in force for each phase's access over most of its intervals
const windowOf = new Map();
for (const p of phases) {
  const count = new Map();
  for (const iv of innerOf.get(p)) {
    const w = iv.win[kindOfPhase[p.kind] ?? 2];
    count.set(w, (count.get(w) ?? 0) + 1);
  }
  windowOf.set(p, [...count.entries()].sort((a, b) => b[1] - a[1])[0]?.[0]);
}
const pairs = new Map();
for (let k = 0; k + 1 < phases.length; k++) {
  const [p, q] = [phases[k], phases[k + 1]];
  if (q.t0 - p.t1 > 0.1) continue;
  const [pw, qw] = [windowOf.get(p), windowOf.get(q)];
  if (pw === undefined || qw === undefined) continue;
  const after = intervals.filter((iv) => iv.t0 >= q.t0 && iv.scored && iv.rel >= 0).slice(0, CARRY_K);
  const net = after.reduce((a, iv) => a + REL_BASE - iv.rel, 0);
  const short = after.reduce((a, iv) => a + Math.max(0, REL_BASE - iv.rel), 0);
  const key = `${p.kind} @${pw} → ${q.kind} @${qw}`;
  let g = pairs.get(key);
  if (!g) pairs.set(key, (g = { n: 0, ms: [], net: 0, short: 0 }));
  g.n++;
  g.ms.push((q.t1 - q.t0) * 1000);
  g.net += net;
  g.short += short;
}
console.log(
  `\n| first phase @ its window → second @ its window (KiB) | pairs | second's ms, median | shortfall over its first ${CARRY_K} intervals, mean | net, mean |`,
);
console.log('|---|---|---|---|---|');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [key, g] of [...pairs.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
  console.log(`| ${key} | ${g.n} | ${median(g.ms).toFixed(0)} | ${Math.round(g.short / g.n)} | ${Math.round(g.net / g.n)} |`);
}

if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ intervals, phases }, null, 0));

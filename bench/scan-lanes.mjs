// Experiment behind docs/ceilings-passes.md ("What was left after each pass"): is the text scan bound by the chain from one number's
// end to the next number's start? A stripped integer parser (the word-at-a-time digits of scanLines, no
// validation) over each 64 KiB chunk in one lane, against two lanes over its two halves in one loop, and the real
// scanLines for reference. The ceilings bench's data (60,000 lines of 16 + 4 integers, scale 1000).
//   node bench/scan-lanes.mjs
import { syntheticData, datasetText } from './lib.mjs';
import { scanLines } from '../dist/engine/data/text-scan.js';

const { xs, ys } = syntheticData(60_000, 16, 4, 31);
const scaled = (a) => a.map((v) => Math.round(v * 1000));
const buf = Buffer.from(datasetText(scaled(xs), scaled(ys), 16, 4).replace(/\.00000/g, ''), 'latin1');
const CH = 65536;
const chunks = [];
for (let from = 0; from < buf.length;) {
  const end = Math.min(from + CH, buf.length);
  const nl = buf.lastIndexOf(10, end - 1);
  chunks.push(buf.subarray(from, nl + 1));
  from = nl + 1;
}
const out = new Float32Array(20000);
const out2 = new Float32Array(20000);
const R = 1 / 1000;
/** One lane: each number's first load waits for the previous number's length. */
function one(b, dv, p, end, out, o) {
  while (p < end) {
    const c = b[p];
    const neg = +(c === 45);
    p += neg;
    const w = dv.getUint32(p, true);
    const nd = ((w & 0xf0f0f0f0) ^ 0x30303030) | (((w + 0x06060606) & 0xf0f0f0f0) ^ 0x30303030);
    const k = (32 - Math.clz32((nd & -nd) - 1)) >> 3;
    const a = (w & 0x0f0f0f0f) << (32 - 8 * k);
    const pr = Math.imul(a, 10) + (a >>> 8);
    const v = (pr & 0xff) * 100 + ((pr >>> 16) & 0xff);
    out[o++] = v * (1 - 2 * neg) * R;
    p += k + 1; // the separator: a space or a newline
  }
  return o;
}
/** The same steps for two positions in one loop (from 0 and from `mid`): neither lane's loads wait for the other's. */
function two(b, dv, p, mid, end, out, out2) {
  let q = mid,
    o = 0,
    o2 = 0;
  while (p < mid && q < end) {
    const c = b[p];
    const neg = +(c === 45);
    p += neg;
    const c2 = b[q];
    const neg2 = +(c2 === 45);
    q += neg2;
    const w = dv.getUint32(p, true);
    const w2 = dv.getUint32(q, true);
    const nd = ((w & 0xf0f0f0f0) ^ 0x30303030) | (((w + 0x06060606) & 0xf0f0f0f0) ^ 0x30303030);
    const nd2 = ((w2 & 0xf0f0f0f0) ^ 0x30303030) | (((w2 + 0x06060606) & 0xf0f0f0f0) ^ 0x30303030);
    const k = (32 - Math.clz32((nd & -nd) - 1)) >> 3;
    const k2 = (32 - Math.clz32((nd2 & -nd2) - 1)) >> 3;
    const a = (w & 0x0f0f0f0f) << (32 - 8 * k);
    const a2 = (w2 & 0x0f0f0f0f) << (32 - 8 * k2);
    const pr = Math.imul(a, 10) + (a >>> 8);
    const pr2 = Math.imul(a2, 10) + (a2 >>> 8);
    out[o++] = ((pr & 0xff) * 100 + ((pr >>> 16) & 0xff)) * (1 - 2 * neg) * R;
    out2[o2++] = ((pr2 & 0xff) * 100 + ((pr2 >>> 16) & 0xff)) * (1 - 2 * neg2) * R;
    p += k + 1;
    q += k2 + 1;
  }
  o = one(b, dv, p, mid, out, o);
  o2 = one(b, dv, q, end, out2, o2);
  return o + o2;
}
const best = { scanLines: 1e9, one: 1e9, two: 1e9 };
let lines = 0;
for (const c of chunks) for (let i = 0; i < c.length; i++) lines += +(c[i] === 10);
const cursor = { at: 0, rows: 0, lines: 0 };
const time = (name, fn) => {
  const t = process.hrtime.bigint();
  for (const c of chunks) fn(c, new DataView(c.buffer, c.byteOffset, c.byteLength));
  best[name] = Math.min(best[name], Number(process.hrtime.bigint() - t) / lines);
};
for (let rep = 0; rep < 30; rep++) {
  time('scanLines', (c) => {
    cursor.at = 0;
    scanLines(c, c.length - 1, 20, 1000, out, 0, 1000, 65536, cursor);
  });
  time('one', (c, dv) => one(c, dv, 0, c.length - 4, out, 0));
  time('two', (c, dv) => two(c, dv, 0, c.indexOf(10, c.length >> 1) + 1, c.length - 4, out, out2));
}
console.log(
  `ns per line, best of 30 (${lines} lines): scanLines ${best.scanLines.toFixed(0)}, stripped one lane ${best.one.toFixed(0)}, stripped two lanes ${best.two.toFixed(0)}`,
);

// The bulk text scan's three builds side by side in one process, interleaved: native/text-scan.c built natively
// (native/build-text-scan.mjs) and as WebAssembly (as the server calls them, copies in and out included), and the
// JavaScript scan they stand in for. The ceilings bench's text (60,000 lines of 16 + 4 integers, scale 1000) in
// 64 KiB pieces cut at line ends, as a dataset write hands them over; each build's best of --rounds passes.
//   node bench/text-scan-builds.mjs [--rounds N] [--decimals]
//     --decimals   the same samples with five decimals each ("1234.00000"), the form of the in-process bench
//                  (bench/write-op.mjs), which the sixteen-byte blocks do not take
import { parseArgs } from 'node:util';
import { syntheticData, fixedPointText, datasetText, fmt, CEILINGS_MODEL } from './lib.mjs';
import { scanLinesInJs } from '../dist/engine/data/text-scan.js';
import { nativeScanner } from '../dist/engine/data/native-scanner.js';
import { wasmScanner } from '../dist/engine/data/wasm-scanner.js';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '30' }, decimals: { type: 'boolean', default: false } } });
const { inputs: INPUTS, outputs: OUTPUTS, scale: SCALE } = CEILINGS_MODEL;
const { xs, ys } = syntheticData(60_000, INPUTS, OUTPUTS, 31);
const fixed = (a) => a.map((v) => Math.round(v * SCALE));
const text = opts.decimals ? datasetText(fixed(xs), fixed(ys), INPUTS, OUTPUTS) : fixedPointText(xs, ys, INPUTS, OUTPUTS, SCALE);
const bytes = Buffer.from(text, 'latin1');
const pieces = [];
for (let from = 0; from < bytes.length;) {
  const nl = bytes.lastIndexOf(10, Math.min(from + 65_536, bytes.length) - 1);
  pieces.push(bytes.subarray(from, nl + 1));
  from = nl + 1;
}
const width = INPUTS + OUTPUTS;
const out = new Float32Array(65_536 * width);
const builds = [
  { name: 'native', scanner: nativeScanner() },
  { name: 'WebAssembly', scanner: wasmScanner() },
  { name: 'JavaScript', scanner: { scanLines: scanLinesInJs } },
].filter((b) => {
  if (!b.scanner) console.log(`${b.name}: not here (native: node native/build-text-scan.mjs; WebAssembly: needs SIMD)`);
  return b.scanner;
});
const lines = 60_000;
for (const b of builds) b.best = Infinity;
for (let round = 0; round < Number(opts.rounds); round++) {
  for (const b of builds) {
    const began = process.hrtime.bigint();
    let rows = 0;
    for (const piece of pieces) {
      const cursor = { at: 0, rows: 0, lines: 0 };
      b.scanner.scanLines(piece, piece.length - 1, width, SCALE, out, 0, 65_536, 65_536, cursor);
      rows += cursor.rows;
    }
    const ns = Number(process.hrtime.bigint() - began);
    if (rows !== lines) throw new Error(`${b.name} took ${rows} of ${lines} lines`);
    b.best = Math.min(b.best, ns / lines);
  }
}
const first = builds[0];
console.log(
  `${lines} lines of ${INPUTS} + ${OUTPUTS} ${opts.decimals ? 'five-decimal numbers' : 'integers'} (${fmt(bytes.length / lines)} bytes a line) in ${pieces.length} pieces of up to 64 KiB, best of ${opts.rounds}:`,
);
console.log('| build | ns a line | MB/s | a 64 KiB write (µs) | ÷ ' + first.name + ' |');
console.log('| --- | --- | --- | --- | --- |');
for (const b of builds) {
  const mbs = (bytes.length / lines / b.best) * 1e3;
  console.log(`| ${b.name} | ${fmt(b.best)} | ${fmt(mbs)} | ${fmt(65_536 / mbs)} | ${fmt(b.best / first.best)}× |`);
}

// The bulk text scans, native/text-scan.c built as WebAssembly and natively, against the JavaScript one they stand in
// for; the committed WebAssembly bytes and the native build against their source.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { scanLines, scanLinesInJs, textScanEngine } from '../../src/engine/data/text-scan.js';
import type { BulkScanner, LineCursor } from '../../src/engine/data/bulk-scan.js';
import { wasmScanner } from '../../src/engine/data/wasm-scanner.js';
import { nativeScanner, TEXT_SCAN_ADDON } from '../../src/engine/data/native-scanner.js';
import { createRequire } from 'node:module';
import { xorshift32 } from '../helpers/prng.js';

const found = (name: string, scanner: BulkScanner | null, why: string): BulkScanner => {
  if (!scanner) throw new Error(`the ${name} scan does not run here: ${why}`);
  return scanner;
};
/** Both builds of native/text-scan.c (mount-scripts/setup.sh builds the native one, so CI always tests it). */
const SCANNERS = [
  { name: 'WebAssembly', scanner: found('WebAssembly', wasmScanner(), 'no WebAssembly SIMD') },
  ...(process.arch === 'x64' ? [{ name: 'native', scanner: found('native', nativeScanner(), 'run node native/build-text-scan.mjs') }] : []),
];

const next = xorshift32(11);
/** In [0, 1), the same buffers every run. */
const rand = () => next() / 4294967296;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');

/** Numbers the fast path takes, in every length and sign; at `oddRate`, one it must leave alone or send the long way. */
function numberText(oddRate: number): string {
  const sign = pick(['', '', '', '-', '-', '+']);
  const r = rand();
  if (r < oddRate / 2) return sign + digits(10 + Math.floor(rand() * 12)) + (rand() < 0.5 ? `.${digits(Math.floor(rand() * 25))}` : '');
  if (r < oddRate)
    return pick([
      '-0',
      '+0',
      '0.0',
      '-0.000',
      '007',
      '1000000000',
      '-1000000000',
      '1000000001',
      '999999999.99',
      '.5',
      '5.',
      '1e3',
      '2E-1',
      '12a',
      '--1',
      '+-1',
      '1.2.3',
      '-',
      '0x10',
      '١',
    ]);
  if (r < 0.55) return sign + digits(1 + Math.floor(rand() * 9));
  return `${sign}${digits(1 + Math.floor(rand() * 8))}.${digits(Math.floor(rand() * 8))}`;
}

function lineText(count: number, oddRate: number): string {
  const r = rand();
  if (r < oddRate) return pick(['', '  ', '\t', '# a comment', '1 2 # note']);
  const n = r < 2 * oddRate ? count + pick([-1, 1]) : count;
  const sep = () => (rand() < 0.9 ? ' ' : pick(['\t', '  ', ' \t ']));
  let line = Array.from({ length: Math.max(n, 0) }, () => numberText(oddRate)).reduce((acc, x, i) => (i ? acc + sep() + x : x), '');
  if (rand() < 0.02) line = pick([' ', '\t']) + line;
  if (rand() < oddRate) line += pick([' ', '\t', '\r', ' \r']);
  return line;
}

function scanBoth(scanner: BulkScanner, bytes: Buffer, last: number, count: number, scale: number, maxRows: number, maxLineBytes: number, at: number) {
  const js = new Float32Array(maxRows * count + 1);
  const bulk = new Float32Array(maxRows * count + 1);
  const jsCursor: LineCursor = { at, rows: 0, lines: 0 };
  const bulkCursor: LineCursor = { at, rows: 0, lines: 0 };
  scanLinesInJs(bytes, last, count, scale, js, 1, maxRows, maxLineBytes, jsCursor);
  scanner.scanLines(bytes, last, count, scale, bulk, 1, maxRows, maxLineBytes, bulkCursor);
  return { js, bulk, jsCursor, bulkCursor };
}

/** Where the two scans part, or null when they took the same lines with the same values and stopped alike. */
function apart(scans: ReturnType<typeof scanBoth>, count: number, bytes: Buffer): string | null {
  const { js, bulk, jsCursor, bulkCursor } = scans;
  const same =
    jsCursor.at === bulkCursor.at &&
    jsCursor.rows === bulkCursor.rows &&
    jsCursor.lines === bulkCursor.lines &&
    // Values of the rows taken (the JavaScript scan may have written part of the line it stopped on).
    js.every((v, k) => k > jsCursor.rows * count || Object.is(v, bulk[k]));
  if (same) return null;
  const k = js.findIndex((v, j) => j <= jsCursor.rows * count && !Object.is(v, bulk[j]));
  return (
    `JS at ${jsCursor.at} rows ${jsCursor.rows} lines ${jsCursor.lines}, bulk at ${bulkCursor.at} rows ${bulkCursor.rows} lines ${bulkCursor.lines}; ` +
    `first value apart: ${k} (${js[k]} vs ${bulk[k]}); line there: ${JSON.stringify(bytes.toString('latin1', jsCursor.at, bytes.indexOf(0x0a, jsCursor.at)))}`
  );
}

/**
 * A line of short integers, the form the scan takes sixteen bytes at a time; at `oddRate`, one flaw somewhere in
 * it. Dense lines (one digit, one space) fill the rows' room to its bound, where a row written past its end would
 * reach the other lane's; long blanks leave blocks with no whole number in them.
 */
function fixedPointLine(count: number, oddRate: number, dense: boolean): string {
  const n = rand() < oddRate ? count + pick([-1, 1, 2, 40]) : count;
  const number = () => (dense ? digits(1) : (rand() < 0.4 ? '-' : '') + digits(rand() < 0.97 ? 1 + Math.floor(rand() * 4) : 5));
  const numbers = Array.from({ length: Math.max(n, 0) }, number);
  const blank = () => (dense || rand() < 0.93 ? ' ' : pick(['\t', '  ', ' \t', '    ', ' '.repeat(9 + Math.floor(rand() * 12))]));
  let line = numbers.reduce((acc, x, i) => (i ? acc + blank() + x : x), '');
  if (rand() < 0.05) line = pick([' ', '\t', '   ']) + line;
  if (rand() < 0.05) line += pick([' ', '\t', '  ']);
  if (rand() < oddRate) {
    // Each flaw the reference turns away or reads otherwise, anywhere, so that it meets every place in a block.
    const at = Math.floor(rand() * (line.length + 1));
    line = line.slice(0, at) + pick(['-', '--', '- ', ' -', '+', '.', '5-', '-5', 'x', '\r', '\0', '\n', '00000', '12345']) + line.slice(at);
  }
  return line;
}

for (const { name, scanner } of SCANNERS) {
  t.test(`the ${name} scan takes what the JavaScript scan takes, with the same values, and stops where it stops`, (t) => {
    let mismatches = 0;
    let rows = 0;
    let stops = 0;
    let limits = 0;
    for (let i = 0; i < 2500; i++) {
      // Short lines and long ones (a 400-number line is longer than the scan's 16 KiB window).
      const count = rand() < 0.02 ? 400 : 1 + Math.floor(rand() * 6);
      // Some buffers run clean for many windows, some stop every few lines.
      const oddRate = pick([0, 0, 0.0005, 0.005, 0.03]);
      const lines = Array.from({ length: 1 + Math.floor(rand() * (count > 100 ? 60 : 600)) }, () => lineText(count, oddRate));
      const text = lines.join('\n') + '\n';
      // Bytes before the scan's start and after its last newline must not change what it takes.
      const bytes = Buffer.from(pick(['', '9 9\n', ' ']) + text + pick(['', '12', '3 4 5']), 'latin1');
      const start = bytes.indexOf(text, 0, 'latin1');
      const last = start + text.length - 1;
      const maxRows = rand() < 0.3 ? 1 + Math.floor(rand() * lines.length) : lines.length + 5;
      const maxLineBytes = rand() < 0.05 ? Math.floor(rand() * 40) : 65536;
      const scale = pick([1, 1000, 1000, 7, 0.5, 3.7, 1e8]);
      const scans = scanBoth(scanner, bytes, last, count, scale, maxRows, maxLineBytes, start);
      const { jsCursor } = scans;
      const why = apart(scans, count, bytes);
      if (why && mismatches++ < 3) t.fail(`buffer ${i} (count ${count}, scale ${scale}, maxRows ${maxRows}, maxLineBytes ${maxLineBytes}): ${why}`);
      rows += jsCursor.rows;
      if (jsCursor.rows === maxRows) limits++;
      else if (jsCursor.at <= last) stops++;
    }
    t.equal(mismatches, 0, 'every buffer alike');
    t.ok(rows > 100000 && stops > 300 && limits > 300, `${rows} rows taken; ${stops} stops on a line, ${limits} at the row limit`);
    t.end();
  });

  t.test(`${name}: lines of short integers, taken sixteen bytes at a time, read as the JavaScript scan reads them, flaws included`, (t) => {
    let mismatches = 0;
    let rows = 0;
    let stops = 0;
    for (let i = 0; i < 3000; i++) {
      const count = pick([1, 2, 3, 4, 5, 7, 8, 16, 20, 31]);
      const oddRate = pick([0, 0, 0.001, 0.01, 0.05, 0.3]);
      const dense = rand() < 0.15;
      const lines = Array.from({ length: 1 + Math.floor(rand() * (count > 10 ? 200 : 600)) }, () => fixedPointLine(count, oddRate, dense));
      const text = lines.join('\n') + '\n';
      const bytes = Buffer.from(pick(['', '9 9\n', ' ']) + text + pick(['', '12', '-3 4']), 'latin1');
      const start = bytes.indexOf(text, 0, 'latin1');
      const last = start + text.length - 1;
      const maxRows = rand() < 0.2 ? 1 + Math.floor(rand() * lines.length) : lines.length + 5;
      const maxLineBytes = rand() < 0.05 ? 2 * count + Math.floor(rand() * 4 * count) : 65536;
      const scale = pick([1000, 1000, 1, 7, 100000]);
      const scans = scanBoth(scanner, bytes, last, count, scale, maxRows, maxLineBytes, start);
      const { jsCursor } = scans;
      const why = apart(scans, count, bytes);
      if (why && mismatches++ < 3) t.fail(`buffer ${i} (count ${count}, scale ${scale}, maxRows ${maxRows}, maxLineBytes ${maxLineBytes}): ${why}`);
      rows += jsCursor.rows;
      if (jsCursor.rows < maxRows && jsCursor.at <= last) stops++;
    }
    t.equal(mismatches, 0, 'every buffer alike');
    t.ok(rows > 200000 && stops > 500, `${rows} rows taken; ${stops} stops on a line`);
    t.end();
  });

  t.test(`${name}: each flaw, at every offset in a block, is read as the JavaScript scan reads it`, (t) => {
    // Five numbers a line, a flaw among them, shifted across two blocks by the blanks before it; the plain lines
    // around it keep the blocks in use.
    const flaws = [
      '33-44',
      '33 -44',
      '33 - 44',
      '33 --44',
      '33- 44',
      '-33 44-',
      '33 44 -',
      '- 33 44',
      '3333 44',
      '33333 44',
      '-33333 4',
      '+33 44',
      '3.3 44',
      '33 4\r',
      '33\t-44',
      '-0 -0',
    ];
    let cases = 0;
    let mismatches = 0;
    // The row width of the line as blanks split it and as digit runs do, so that a flaw read as a sign is not
    // turned away only for its count.
    const widths = (flaw: string) => [flaw.trim().split(/\s+/).length, flaw.match(/\d+/g)?.length ?? 0];
    for (const flaw of flaws)
      for (const width of widths(flaw))
        for (let shift = 0; shift < 34; shift++) {
          const line = `${' '.repeat(shift)}1 -22 ${flaw}`;
          const count = 2 + width;
          const plain = Array.from({ length: count }, (_, i) => String(-i * 37)).join(' ');
          const text = `${plain}\n${plain}\n${line}\n${plain}\n${plain}\n${line}\n`.repeat(8);
          const bytes = Buffer.from(text, 'latin1');
          const why = apart(scanBoth(scanner, bytes, bytes.length - 1, count, 1000, 1000, 65536, 0), count, bytes);
          cases++;
          if (why && mismatches++ < 3) t.fail(`${JSON.stringify(line)}: ${why}`);
        }
    t.equal(mismatches, 0, `${cases} cases alike`);
    t.end();
  });

  t.test(`the ${name} scan rounds every integer and short decimal as Number() / scale stores it`, (t) => {
    const numbers: string[] = [];
    for (let v = -30000; v <= 30000; v++) numbers.push(String(v), `${v < 0 ? '-' : '+'}${Math.abs(v) % 977}.${String(Math.abs(v) % 1000).padStart(3, '0')}`);
    for (let i = 0; i < 20000; i++) numbers.push(`${rand() < 0.5 ? '-' : ''}${digits(1 + Math.floor(rand() * 7))}.${digits(Math.floor(rand() * 8))}`);
    const width = 4;
    const lines: string[] = [];
    for (let i = 0; i + width <= numbers.length; i += width) lines.push(numbers.slice(i, i + width).join(' '));
    const bytes = Buffer.from(lines.join('\n') + '\n', 'latin1');
    for (const scale of [1, 1000, 7, 0.001, 3.7]) {
      const out = new Float32Array(lines.length * width);
      const cursor: LineCursor = { at: 0, rows: 0, lines: 0 };
      scanner.scanLines(bytes, bytes.length - 1, width, scale, out, 0, lines.length, 65536, cursor);
      t.equal(cursor.rows, lines.length, `scale ${scale}: every line taken`);
      const want = Float32Array.from(lines.flatMap((line) => line.split(' ').map((tok) => Number(tok) / scale)));
      const k = out.findIndex((v, i) => !Object.is(v, want[i]));
      t.equal(k, -1, `scale ${scale}: each value as Number() / scale stores it${k < 0 ? '' : ` (${numbers[k]}: ${out[k]}, want ${want[k]})`}`);
    }
    t.end();
  });

  t.test(`${name}: lines of short integers (the sixteen-byte blocks) give every value from -9999 to 9999 as Number() / scale stores it`, (t) => {
    const width = 8;
    const values = Array.from({ length: 19999 + 1 }, (_, i) => (i < 19999 ? i - 9999 : -0));
    const lines: string[] = [];
    for (let i = 0; i < values.length; i += width) {
      lines.push(
        values
          .slice(i, i + width)
          .map((v) => (Object.is(v, -0) ? '-0' : String(v)))
          .join(' '),
      );
    }
    while (lines[lines.length - 1].split(' ').length < width) lines[lines.length - 1] += ' 1';
    const bytes = Buffer.from(lines.join('\n') + '\n', 'latin1');
    // Integer scales up to 2^24 are the ones the blocks take.
    for (const scale of [1, 3, 7, 1000, 9973, 65536, 999999, 2 ** 24]) {
      const out = new Float32Array(lines.length * width);
      const cursor: LineCursor = { at: 0, rows: 0, lines: 0 };
      scanner.scanLines(bytes, bytes.length - 1, width, scale, out, 0, lines.length, 65536, cursor);
      const want = Float32Array.from(lines.flatMap((line) => line.split(' ').map((tok) => Number(tok) / scale)));
      const k = out.findIndex((v, i) => !Object.is(v, want[i]));
      t.equal(
        k,
        -1,
        `scale ${scale}: ${cursor.rows} of ${lines.length} lines, each value as Number() / scale stores it${k < 0 ? '' : ` (${out[k]}, want ${want[k]})`}`,
      );
    }
    t.end();
  });
}

// mount-scripts/setup.sh --test installs clang and lld, so CI always runs this.
const noClang = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';
t.test('the committed WebAssembly bytes are the builds of native/*.c', { skip: noClang }, (t) => {
  const script = fileURLToPath(new URL('../../native/build-wasm.mjs', import.meta.url));
  t.doesNotThrow(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' }), 'node native/build-wasm.mjs --check');
  t.end();
});

t.test('a row width of 0 takes no line in bulk: the reference parser decides', (t) => {
  const bytes = Buffer.from('1 2\n'.repeat(400), 'latin1');
  const cursor: LineCursor = { at: 0, rows: 0, lines: 0 };
  scanLines(bytes, bytes.length - 1, 0, 1, new Float32Array(8), 0, 100, 65536, cursor);
  t.same(cursor, { at: 0, rows: 0, lines: 0 }, 'the first line is left to the reference parser');
  t.end();
});

t.test('the native scan is the build of its sources', { skip: process.arch !== 'x64' && 'x86-64 only' }, (t) => {
  const script = fileURLToPath(new URL('../../native/build-text-scan.mjs', import.meta.url));
  t.doesNotThrow(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' }), 'node native/build-text-scan.mjs --check');
  t.equal(textScanEngine(), 'native', 'text datasets are scanned natively');
  t.end();
});

t.test('the native scan turns away arguments that would take it outside them', { skip: process.arch !== 'x64' && 'x86-64 only' }, (t) => {
  const addon = createRequire(import.meta.url)(TEXT_SCAN_ADDON) as { scanLines: (...args: unknown[]) => void };
  const bytes = Buffer.from('1 2\n3 4\n', 'latin1');
  const cursor = new Uint32Array(3);
  const call = (over: Record<number, unknown>) => () => {
    const args: unknown[] = [bytes, 0, 7, 2, 1, 1, 2 ** 24, new Float32Array(4), 0, 2, 65536, cursor];
    for (const [i, v] of Object.entries(over)) args[Number(i)] = v;
    addon.scanLines(...args);
  };
  t.doesNotThrow(call({}), 'the arguments as scanLines passes them');
  t.same([...cursor], [8, 2, 2], 'both lines taken');
  t.throws(call({ 7: new Float32Array(3) }), RangeError, 'out without room for the rows taken');
  t.throws(call({ 8: 1 }), RangeError, 'outAt leaving no room for them');
  t.throws(call({ 2: 8 }), RangeError, 'last past the buffer');
  t.throws(call({ 2: 6 }), RangeError, 'buf[last] not a newline');
  t.throws(call({ 1: 9 }), RangeError, 'at beyond last + 1');
  t.throws(call({ 3: 0 }), RangeError, 'a row of no numbers');
  t.throws(call({ 0: 'text' }), TypeError, 'a string for the bytes');
  t.throws(call({ 7: new Float64Array(4) }), TypeError, 'a Float64Array for the rows');
  t.throws(call({ 11: new Uint32Array(2) }), TypeError, 'a cursor of two');
  t.throws(call({ 1: -1 }), TypeError, 'a negative offset');
  t.throws(call({ 9: 1.5 }), TypeError, 'a fractional row count');
  t.throws(() => addon.scanLines(bytes), TypeError, 'too few arguments');
  t.end();
});

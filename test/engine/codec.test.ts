// Pure wire formats: dataset decoding across chunk boundaries, numbers, queries, feedback and config text.
import t, { type Test } from 'tap';
import { DatasetDecoder, parseNumber, parseQueries, parseQueryBytes, parseFeedback, formatRows, formatRowsBytes } from '../../src/engine/data/codec.js';
import { parseConfigText, validateConfig, DEFAULT_CONFIG } from '../../src/engine/session/config.js';
import { SampleRing } from '../../src/engine/data/ring.js';
import { BlockBuilder, flatten } from '../../src/engine/data/row-blocks.js';
import { MlError } from '../../src/errors.js';
import { ROW, scanLines, scanRow } from '../../src/engine/data/text-scan.js';
import { scaleInts } from '../../src/engine/data/fixed-point.js';
import { xorshift32 } from '../helpers/prng.js';

const einval = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof MlError && err.code === 'EINVAL';
  }
  return false;
};

t.test('text lines may straddle chunks', (t) => {
  const d = new DatasetDecoder(1, 1, 1);
  for (const chunk of ['1 ', '2\n3', ' 4', '\n# c\n5 6']) d.feed(Buffer.from(chunk));
  d.finish();
  t.same([...flatten(d.rows())], [1, 2, 3, 4, 5, 6]);
  t.end();
});

t.test('binary records may straddle chunks; the magic may arrive a byte at a time', (t) => {
  const buf = Buffer.alloc(16 + 2 * 8);
  buf.writeUInt32LE(0x53444c4d, 0);
  buf.writeUInt16LE(1, 4);
  buf.writeUInt16LE(16, 6);
  buf.writeUInt16LE(1, 8);
  buf.writeUInt16LE(1, 10);
  [1500, -2500, 3000, 4000].forEach((v, i) => buf.writeInt32LE(v, 16 + i * 4));
  const d = new DatasetDecoder(1, 1, 1000);
  for (let i = 0; i < buf.length; i++) d.feed(buf.subarray(i, i + 1));
  d.finish();
  t.same([...flatten(d.rows())], [1.5, -2.5, 3, 4]);
  t.end();
});

t.test('numbers', (t) => {
  for (const good of ['0', '-1', '+2.5', '.5', '5.', '1e3', '-1E-3', '1000000000']) t.ok(Number.isFinite(parseNumber(good, 'x')), good);
  for (const bad of ['', '-', 'e3', '1e', '0x10', 'NaN', 'Infinity', '1,0', '1_000', '1000000001', '2e9'])
    t.ok(
      einval(() => parseNumber(bad, 'x')),
      bad,
    );
  t.end();
});

t.test('queries, feedback and formatting', (t) => {
  t.same([...parseQueries('1 2\n3 4\n', 2, 1, 10)], [1, 2, 3, 4]);
  t.ok(
    einval(() => parseQueries('1 2\n3 4\n', 2, 1, 1)),
    'too many lines',
  );
  const fb = parseFeedback('ml 5\ndefault 3 1000\ncritical\n', 1, 1000);
  t.same(
    fb.map((l) => l.source),
    ['ml', 'default', 'critical'],
  );
  t.same([...(fb[1].corrected as Float32Array)], [1]);
  t.equal(formatRows(Float32Array.of(1.5, -2.25), 2, 1000), '1500 -2250\n');
  t.equal(formatRows(Float32Array.of(1.5, -2.25), 1, 1), '1.5\n-2.25\n');
  t.end();
});

t.test('formatRowsBytes writes exactly formatRows text', (t) => {
  const edges = [0, -0, 0.0004, -0.0004, 0.0005, -0.0005, 1, -1, 9.999, 10, 99.9995, 1e6, -1e6, 2 ** 31, -(2 ** 31), 2 ** 53, 2 ** 60, -(2 ** 70)];
  const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3.4e38, -3.4e38, 1.17e-38];
  const next = xorshift32(2024);
  const random = Array.from({ length: 20000 }, () => {
    const r = next();
    // Values of every magnitude a float32 output can take, both signs, rounded to float32 as outputs are.
    return Math.fround((r & 1 ? -1 : 1) * (r / 2 ** 32) * 10 ** ((r >>> 3) % 40) * 10 ** -((r >>> 9) % 12));
  });
  // Every power of ten and its neighbours, where the digit count changes.
  const powers = Array.from({ length: 17 }, (_, k) => [10 ** k - 1, 10 ** k, 10 ** k + 1].map((v) => v / 1000)).flat();
  for (const scale of [1, 10, 1000, 1_000_000]) {
    for (const width of [1, 3, 4]) {
      const values = Float32Array.from([...edges, ...special, ...powers, ...random].slice(0, Math.floor(20060 / width) * width));
      t.equal(formatRowsBytes(values, width, scale).toString('latin1'), formatRows(values, width, scale), `scale ${scale}, width ${width}`);
    }
  }
  // Doubles too (the values are an ArrayLike<number>): beyond float32's range and precision.
  const doubles = [2 ** 53 - 1, 2 ** 53 + 2, 1e21, -1e21, 1.7976931348623157e308, -1.7976931348623157e308, 123456789012.5];
  t.equal(formatRowsBytes(doubles, 1, 1000).toString('latin1'), formatRows(doubles, 1, 1000), 'doubles');
  t.equal(formatRowsBytes(new Float32Array(0), 4, 1000).length, 0, 'no rows, no bytes');
  const first = formatRowsBytes(Float32Array.of(1, 2), 2, 1000);
  formatRowsBytes(Float32Array.of(7, 8), 2, 1000);
  t.equal(first.toString(), '1000 2000\n', 'an answer is its own copy: the next one does not overwrite it');
  t.end();
});

t.test('config text', (t) => {
  t.same(parseConfigText('inputs=3\nhidden=none\n'), { inputs: 3, hidden: [] });
  t.ok(
    einval(() => parseConfigText('# only a comment\n')),
    'empty',
  );
  t.ok(
    einval(() => parseConfigText('hidden=1,2,3,4,5,6,7,8,9')),
    'too many layers',
  );
  t.ok(einval(() => validateConfig({ ...DEFAULT_CONFIG, batch_size: 20000, buffer_capacity: 10000 })));
  t.end();
});

t.test('ring keeps the newest rows and exact column statistics', (t) => {
  const ring = new SampleRing(3, 2);
  t.equal(ring.pushRows(Float32Array.of(1, 10, 2, 20, 3, 30, 4, 40)), 1);
  t.same([...ring.row(0)], [2, 20]);
  const { mean } = ring.columnStats();
  t.same([...mean], [3, 30]);
  t.equal(ring.resize(2), 1);
  t.same([...ring.row(0)], [3, 30]);
  for (let i = 0; i < 1000; i++) ring.pushRows(Float32Array.of(i, -i));
  t.same([...ring.columnStats().mean], [998.5, -998.5], 'sums stay exact over many turnovers');
  t.end();
});

// ---- The byte-level text parser against the documented rules ---------------------------------------------
// The reference below is docs/protocol.md read literally: lines split at \n, '#' starts a comment, the line
// is trimmed, numbers are separated by spaces or tabs, each matches [+-]digits[.digits][e[+-]digits], is
// finite and within ±1e9 as written (Number() rounding), and is divided by scale into a Float32Array.

const DOC_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function referenceDecode(text: string, width: number, scale: number): number[] | 'EINVAL' {
  const out: number[] = [];
  for (const raw of text.split('\n')) {
    if (raw.length > 65536) return 'EINVAL';
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') continue;
    const tokens = line.split(/[ \t]+/);
    if (tokens.length !== width) return 'EINVAL';
    for (const tok of tokens) {
      if (!DOC_NUMBER.test(tok)) return 'EINVAL';
      const v = Number(tok);
      if (!Number.isFinite(v) || Math.abs(v) > 1e9) return 'EINVAL';
      out.push(Math.fround(v / scale));
    }
  }
  return out;
}

/** Feed `text` to a DatasetDecoder cut at the given offsets; the rows, or the errno it failed with. */
function decodeInChunks(text: string, cuts: number[], width: number, scale: number, inputs = 1): number[] | string {
  const bytes = Buffer.from(text, 'latin1');
  const d = new DatasetDecoder(inputs, width - inputs, scale);
  try {
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut > from) d.feed(bytes.subarray(from, cut));
      from = Math.max(from, cut);
    }
    d.finish();
  } catch (err) {
    return err instanceof MlError ? err.code : String(err);
  }
  return [...flatten(d.rows())];
}

const sameOutcome = (t: Test, text: string, width: number, scale: number, cuts: number[] = []) => {
  const want = referenceDecode(text, width, scale);
  const got = decodeInChunks(text, cuts, width, scale);
  const same = want === 'EINVAL' ? got === 'EINVAL' : Array.isArray(got) && got.length === want.length && got.every((v, i) => Object.is(v, want[i]));
  if (!same) t.fail(`${JSON.stringify(text)} cut at ${cuts}: got ${JSON.stringify(got)}, documented ${JSON.stringify(want)}`);
  return same;
};

t.test('fast text parser: edge cases decode exactly as documented', (t) => {
  const cases = [
    '1 2\n',
    '1 2',
    '+1 -2\n',
    '-0 +0\n',
    '.5 5.\n',
    '1.e3 -1E-3\n',
    '1e+3 1e-0\n',
    '0e999 -0e-999\n',
    '1e9 -1e9\n',
    '1000000000 -1000000000.0\n',
    '1000000001 1\n',
    '1e10 1\n',
    '1.0000000001e9 0\n',
    '0.000000001e18 1\n',
    '1e400 1\n',
    '1e-400 1\n',
    '123456789012345678 1\n',
    '0.123456789012345678 1\n',
    '0.1 0.2\n',
    '0.3 1.7976931348623157\n',
    '9007199254740993e-7 1\n',
    '1 2\r\n',
    '1 2\r\r\n',
    '1\r2\n',
    '1 \r 2\n',
    '  1 2  \n',
    '\t1\t2\t\n',
    '\v1 2\f\n',
    '1 2\xa0\n',
    '\xa01 2\n',
    '1\xa02\n',
    '1  \t 2\n',
    '1 2 # comment\n',
    '1 2#c\n',
    '#only\n',
    '   \n',
    '\n\n1 2\n\n',
    '1 2 3\n',
    '1\n',
    '\n',
    '',
    'NaN 1\n',
    'Infinity 1\n',
    '-Infinity 1\n',
    'nan 1\n',
    'inf 1\n',
    '0x10 1\n',
    '1,5 1\n',
    '1_0 1\n',
    '- 1\n',
    '+ 1\n',
    '. 1\n',
    'e3 1\n',
    '1e 1\n',
    '1e+ 1\n',
    '1..2 1\n',
    '1.2.3 1\n',
    '++1 1\n',
    '1- 1\n',
    '1e3.5 1\n',
    '٣ 1\n',
    '1 2\x00\n',
    '1 2\x85\n',
    '00000000000000000000001 0001\n',
    '1 2\n3 4\n5',
    '1 2\n3 x\n',
    `${'1'.repeat(10)} 1\n`,
    `1 ${' '.repeat(70000)}2\n`,
    `1 2 #${'c'.repeat(70000)}\n`,
  ];
  for (const text of cases) for (const scale of [1, 1000, 3]) sameOutcome(t, text, 2, scale);
  t.end();
});

t.test('fast text parser: a number split across two writes, and every other cut', (t) => {
  const text = '12.5e-1 -3.25\n  4 5 # c\n\r\n6e2\t-7.000001\n8 9';
  for (let a = 0; a <= text.length; a++) for (let b = a; b <= text.length; b += 3) sameOutcome(t, text, 2, 1000, [a, b]);
  t.same(decodeInChunks('1.2', [], 2, 1), 'EINVAL', 'a lone number for a width-2 config is a wrong count');
  t.same(decodeInChunks('1.2 3\n4', [2], 2, 1), 'EINVAL', 'a partial line at the end with a wrong count fails at the close');
  t.same(decodeInChunks(`1 2\n${'3'.repeat(65537)}`, [10, 40000], 2, 1), 'EINVAL', 'a line growing past 64 KiB across writes');
  t.end();
});

t.test('fast text parser: random lines agree with the documented rules', (t) => {
  const rand = (() => {
    let s = 12345;
    return () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  })();
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(rand() * 10))).join('');
  const number = () => {
    let s = pick(['', '', '-', '+']);
    const form = rand();
    if (form < 0.4) s += `${digits(1 + Math.floor(rand() * 4))}.${digits(Math.floor(rand() * 8))}`;
    else if (form < 0.6) s += digits(1 + Math.floor(rand() * 12));
    else if (form < 0.7) s += `.${digits(1 + Math.floor(rand() * 18))}`;
    else if (form < 0.85) s += `${digits(1 + Math.floor(rand() * 3))}${pick(['e', 'E'])}${pick(['', '-', '+'])}${digits(1 + Math.floor(rand() * 2))}`;
    else s += pick(['NaN', '1e', '.', '-', '0x1', '1.2.3', '9'.repeat(17), '1e-30', '4e8', '12e8', '1' + '0'.repeat(9)]);
    return s;
  };
  const sep = () => pick([' ', ' ', ' ', '\t', '  ', ' \t ']);
  let agreed = 0;
  const rounds = 3000;
  for (let i = 0; i < rounds; i++) {
    const lines: string[] = [];
    for (let l = 0; l < 1 + Math.floor(rand() * 4); l++) {
      const n = rand() < 0.9 ? 3 : pick([2, 4]);
      let line = pick(['', '', ' ', '\t']) + Array.from({ length: n }, number).join(sep()) + pick(['', '', ' ', '\r', ' # note']);
      if (rand() < 0.05) line = pick(['', '# c', '   ']);
      lines.push(line);
    }
    const text = lines.join('\n') + pick(['\n', '']);
    const cuts = [Math.floor(rand() * text.length), Math.floor(rand() * text.length)].sort((a, b) => a - b);
    if (sameOutcome(t, text, 3, pick([1, 1000]), cuts)) agreed++;
  }
  t.equal(agreed, rounds, 'every random stream decodes as the documented rules say');
  t.end();
});

t.test('binary values scaled by the reciprocal round exactly as the division does', (t) => {
  // The reference is the Float32Array store of v / scale, the rounding docs/protocol.md promises.
  const check = (scale: number, raw: Int32Array, what: string) => {
    const got = new Float32Array(raw.length + 1);
    const want = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) want[i] = raw[i] / scale;
    t.equal(scaleInts(raw, raw.length, scale, got, 1), -1, `${what}: nothing out of range`);
    let differ = 0;
    for (let i = 0; i < raw.length; i++) if (!Object.is(got[i + 1], want[i])) differ++;
    t.equal(differ, 0, `${what}: every value as the division rounds it`);
  };
  // Every integer the multiply takes, for the scales fixed-point users pick.
  const all = new Int32Array(2 ** 25 - 1);
  for (let i = 0; i < all.length; i++) all[i] = i - (2 ** 24 - 1);
  for (const scale of [1000, 7]) check(scale, all, `scale ${scale}, all |v| < 2^24`);
  // Random values across the range for odd scales up to the limit and past it, and non-integer scales.
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const mixed = new Int32Array(400_000);
  for (let i = 0; i < mixed.length; i++) {
    const magnitude = i % 2 ? random() * 2 ** 24 : random() * 1e9;
    mixed[i] = Math.trunc(random() < 0.5 ? -magnitude : magnitude);
  }
  mixed.set([2 ** 24 - 1, -(2 ** 24 - 1), 2 ** 24, -(2 ** 24), 1e9, -1e9, 0, 1, -1]);
  for (const scale of [1, 7, 10, 100, 999_983, 2 ** 24 - 1, 2 ** 24, 2 ** 24 + 1, 1e9, 0.5, 2.5, 0.001]) check(scale, mixed, `scale ${scale}`);
  t.equal(scaleInts(Int32Array.from([5, 1e9 + 1, -(1e9 + 1)]), 3, 1000, new Float32Array(3), 0), 1, 'the first value beyond ±1e9 is reported');
  t.end();
});

t.test('binary datasets read in place agree with readInt32LE at any alignment and cut', (t) => {
  const values = [1500, -2500, 1_000_000_000, -1_000_000_000, 0, 7];
  const buf = Buffer.alloc(16 + values.length * 4);
  buf.writeUInt32LE(0x53444c4d, 0);
  buf.writeUInt16LE(1, 4);
  buf.writeUInt16LE(16, 6);
  buf.writeUInt16LE(2, 8);
  buf.writeUInt16LE(1, 10);
  values.forEach((v, i) => buf.writeInt32LE(v, 16 + i * 4));
  const want = values.map((v) => Math.fround(v / 1000));
  for (let shift = 0; shift < 4; shift++) {
    const shifted = Buffer.alloc(buf.length + shift);
    buf.copy(shifted, shift);
    const bytes = shifted.subarray(shift); // byteOffset 0..3: the aligned view and the unaligned reads
    for (let cut = 0; cut <= bytes.length; cut += 5) {
      const d = new DatasetDecoder(2, 1, 1000);
      d.feed(bytes.subarray(0, cut));
      d.feed(bytes.subarray(cut));
      d.finish();
      t.same([...flatten(d.rows())], want, `shift ${shift}, cut ${cut}`);
    }
  }
  const bad = Buffer.from(buf);
  bad.writeInt32LE(1_000_000_001, 20);
  t.ok(
    einval(() => new DatasetDecoder(2, 1, 1000).feed(bad)),
    'a value beyond ±1e9',
  );
  t.ok(
    einval(() => {
      const d = new DatasetDecoder(2, 1, 1000);
      d.feed(buf.subarray(0, buf.length - 2));
      d.finish();
    }),
    'a batch that ends inside a record',
  );
  t.end();
});

t.test('both fast scans round every number they accept exactly as Number() does (in doubles, before float32)', (t) => {
  const out = new Float64Array(1);
  const cursor = { at: 0, rows: 0, lines: 0 };
  let s = 99;
  const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  const checked = { row: 0, lines: 0 };
  let mismatched = 0;
  for (let i = 0; i < 20000; i++) {
    const digits = Array.from({ length: 1 + Math.floor(rand() * 18) }, () => Math.floor(rand() * 10)).join('');
    const dot = Math.floor(rand() * (digits.length + 1));
    const sign = ['', '-', '+'][Math.floor(rand() * 3)];
    const exponent = rand() < 0.3 ? `e${Math.floor(rand() * 50) - 25}` : '';
    const tok = rand() < 0.3 ? sign + digits : `${sign}${digits.slice(0, dot)}.${digits.slice(dot)}${exponent}`;
    const bytes = Buffer.from(`${tok}\n`, 'latin1');
    // scanRow: one line without its newline; anything it is unsure of is left to the reference parser.
    if (scanRow(bytes, 0, bytes.length - 1, 1, 1, out, 0) === ROW.written) {
      checked.row++;
      if (!Object.is(out[0], Number(tok))) mismatched++;
    }
    // scanLines: whole lines up to a newline; a line it does not take is left to scanRow.
    cursor.at = 0;
    scanLines(bytes, bytes.length - 1, 1, 1, out, 0, 1, 65536, cursor);
    if (cursor.rows === 1) {
      checked.lines++;
      if (!Object.is(out[0], Number(tok))) mismatched++;
    }
  }
  t.ok(checked.row > 5000 && checked.lines > 5000, `scanRow took ${checked.row} of the numbers, scanLines ${checked.lines}`);
  t.equal(mismatched, 0, 'none rounded differently from Number()');
  t.end();
});

t.test('bulk line scan takes a line only when the reference parser takes it, with the same values', (t) => {
  // Lines from an alphabet of everything that matters to the grammar; the reference is parseRow via parseQueries.
  const alphabet = ['1', '2', '0', '9', '-', '+', '.', ' ', ' ', '\t', 'e', 'E', '#', '\r', '\xa0', '\x0b', 'x', '55', '123', '1000000000', '1000000001'];
  let s = 11;
  const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  let taken = 0;
  let refused = 0;
  let wrong = 0;
  for (let i = 0; i < 30000; i++) {
    const scale = [1, 1000, 0.5][i % 3];
    const parts = Array.from({ length: 1 + Math.floor(rand() * 14) }, () => alphabet[Math.floor(rand() * alphabet.length)]);
    // Mostly well-formed lines of three numbers, with a random part spliced in now and then.
    const line =
      rand() < 0.6
        ? [0, 1, 2].map(() => `${rand() < 0.3 ? '-' : ''}${Math.floor(rand() * 2000)}${rand() < 0.3 ? '.5' : ''}`).join(rand() < 0.5 ? ' ' : ' \t') +
          (rand() < 0.2 ? parts.join('') : '')
        : parts.join('');
    // Every other line ends the buffer (digits read one at a time there); the others are followed by bytes
    // that would read as more digits, and the scan must stop at `last` all the same.
    const bytes = Buffer.from(`${line}\n${i % 2 ? '999 9' : ''}`, 'latin1');
    const out = new Float32Array(3);
    const cursor = { at: 0, rows: 0, lines: 0 };
    scanLines(bytes, line.length, 3, scale, out, 0, 1, 65536, cursor);
    if (cursor.lines === 1 && cursor.rows === 0) {
      if (line.trim() !== '') wrong++; // passed as blank: only a line of spaces and tabs may be
      continue;
    }
    if (cursor.rows === 0) {
      if (cursor.at !== 0) wrong++; // a refused line is left where it starts
      refused++;
      continue;
    }
    taken++;
    let want: Float32Array | undefined;
    try {
      want = parseQueries(line, 3, scale, 1);
    } catch {
      want = undefined;
    }
    if (!want || want.some((v, k) => !Object.is(v, out[k]))) {
      wrong++;
      if (wrong < 5) t.fail(`bulk scan took ${JSON.stringify(line)} as ${[...out].join(' ')}; reference: ${want ? [...want].join(' ') : 'EINVAL'}`);
    }
  }
  t.ok(taken > 5000 && refused > 5000, `took ${taken}, refused ${refused}`);
  t.equal(wrong, 0, "every line taken is the reference parser's line");
  t.end();
});

t.test('bulk line scan takes every plain line itself: each integer from -20000 to 20000, with and without a fraction', (t) => {
  // Refusing a good line is not wrong (the reference parser takes it) but it is the slow way: this is the fast path's job.
  const numbers: string[] = [];
  for (let v = -20000; v <= 20000; v++) numbers.push(String(v), `+${v < 0 ? -v : v}.${(v * 7) % 1000 < 0 ? 5 : (v * 7) % 1000}`);
  const width = 4;
  const lines: string[] = [];
  for (let i = 0; i + width <= numbers.length; i += width) lines.push(numbers.slice(i, i + width).join(i % 3 ? ' ' : '\t '));
  const bytes = Buffer.from(lines.join('\n') + '\n', 'latin1');
  const out = new Float32Array(lines.length * width);
  const cursor = { at: 0, rows: 0, lines: 0 };
  scanLines(bytes, bytes.length - 1, width, 1000, out, 0, lines.length, 65536, cursor);
  t.equal(cursor.rows, lines.length, 'every line taken by the bulk scan');
  const want = new Float32Array(out.length);
  lines.forEach((line, r) => line.split(/\s+/).forEach((tok, i) => (want[r * width + i] = Number(tok) / 1000)));
  t.equal(
    out.findIndex((v, i) => !Object.is(v, want[i])),
    -1,
    'each value as Number() / scale stores it',
  );
  t.end();
});

t.test('bulk line scan of a big buffer takes what one line at a time takes, and stops where it stops', (t) => {
  // The reference scans each line alone and stops at the first line not taken or at the row limit; a scan of
  // the whole buffer must give the same rows, values, stop and line count (odd lines land anywhere in it).
  let s = 5;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
  const count = 3;
  const good = () =>
    Array.from({ length: count }, () => `${rand() < 0.4 ? '-' : ''}${Math.floor(rand() ** 2 * 30000)}${rand() < 0.1 ? '.25' : ''}`).join(
      rand() < 0.8 ? ' ' : ' \t',
    );
  const odd = ['', '   ', ' 1 2 3', '1 2', '1 2 3 4', '1 2 x', '1e3 2 3', '# note', '1 2 3\r', '1 2 3 ', '99999999999 1 2'];
  let mismatches = 0;
  let pastMiddle = 0;
  let beforeMiddle = 0;
  for (let i = 0; i < 1500; i++) {
    const lines = Array.from({ length: 100 + Math.floor(rand() * 300) }, () => (rand() < 0.005 ? odd[Math.floor(rand() * odd.length)] : good()));
    const text = lines.join('\n') + '\n';
    const bytes = Buffer.from(text + (i % 2 ? '777' : ''), 'latin1');
    const last = text.length - 1;
    const maxRows = rand() < 0.3 ? Math.floor(rand() * lines.length) + 1 : lines.length;
    const scale = i % 3 ? 1000 : 1;
    const got = new Float32Array(maxRows * count);
    const cursor = { at: 0, rows: 0, lines: 0 };
    scanLines(bytes, last, count, scale, got, 0, maxRows, 65536, cursor);
    const want = new Float32Array(maxRows * count);
    const one = { at: 0, rows: 0, lines: 0 };
    const ref = { at: 0, rows: 0, lines: 0 };
    for (const line of lines) {
      if (ref.rows === maxRows) break;
      const lineBytes = Buffer.from(`${line}\n`, 'latin1');
      one.at = 0;
      scanLines(lineBytes, line.length, count, scale, want, ref.rows * count, 1, 65536, one);
      if (one.lines === 0) break;
      ref.at += lineBytes.length;
      ref.rows += one.rows;
      ref.lines += 1;
    }
    const same =
      cursor.at === ref.at && cursor.rows === ref.rows && cursor.lines === ref.lines && got.every((v, k) => k >= ref.rows * count || Object.is(v, want[k]));
    if (!same && mismatches++ < 3)
      t.fail(`buffer ${i}: got at ${cursor.at} rows ${cursor.rows} lines ${cursor.lines}, one line at a time ${ref.at} ${ref.rows} ${ref.lines}`);
    if (ref.at > text.length / 2) pastMiddle++;
    else beforeMiddle++;
  }
  t.equal(mismatches, 0, 'every buffer as one line at a time');
  t.ok(
    pastMiddle > 300 && beforeMiddle > 300,
    `stopped past the middle in ${pastMiddle} buffers, before it in ${beforeMiddle}: odd lines and row limits all over`,
  );
  t.end();
});

t.test('bulk line scan stops at the row limit and at the last newline, and counts blank lines', (t) => {
  const bytes = Buffer.from('1 2\n\n  \n3 4\n5 6\n7 x\n');
  const out = new Float32Array(8);
  const cursor = { at: 0, rows: 0, lines: 0 };
  scanLines(bytes, bytes.length - 1, 2, 1, out, 0, 2, 65536, cursor);
  t.same([cursor.rows, cursor.lines, cursor.at], [2, 4, bytes.indexOf('5 6')], 'two rows and two blank lines, then the limit');
  scanLines(bytes, bytes.length - 1, 2, 1, out, 4, 8, 65536, cursor);
  t.same([cursor.rows, cursor.lines, cursor.at], [1, 1, bytes.indexOf('7 x')], 'then one row, and a stop at the line it does not take');
  t.same([...out.subarray(0, 6)], [1, 2, 3, 4, 5, 6]);
  cursor.at = bytes.indexOf('  \n');
  scanLines(bytes, bytes.indexOf('3 4') - 1, 2, 1, out, 0, 8, 1, cursor);
  t.same([cursor.rows, cursor.at], [0, bytes.indexOf('  \n')], 'a blank line longer than the limit is left to the reference parser');
  t.end();
});

t.test('ring: pushes of any block sizes keep the newest rows, count drops, and give exact column statistics', (t) => {
  let s = 5;
  const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  for (const cap of [1, 7, 1024, 2500]) {
    const width = 3;
    const ring = new SampleRing(cap, width);
    let model: number[][] = [];
    let next = 0;
    let droppedWant = 0;
    let droppedGot = 0;
    for (let push = 0; push < 60; push++) {
      // A batch of one to three blocks, sometimes longer than the whole ring.
      const blocks = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
        const rows = Math.floor(rand() * (rand() < 0.1 ? 3 * cap : Math.max(2, cap / 3)));
        return Float32Array.from({ length: rows * width }, (_, i) => (i % width === 0 ? next++ : Math.round(rand() * 1000) / 8));
      });
      for (const b of blocks) for (let r = 0; r < b.length / width; r++) model.push([...b.subarray(r * width, (r + 1) * width)]);
      droppedWant += Math.max(0, model.length - cap);
      model = model.slice(-cap);
      droppedGot += ring.pushRows(blocks);
      if (push % 10 === 9) ring.columnStats(); // statistics read between pushes, as a training round would
    }
    t.equal(droppedGot, droppedWant, `cap ${cap}: drops counted`);
    t.same(
      Array.from({ length: ring.size }, (_, i) => [...ring.row(i)]),
      model,
      `cap ${cap}: the newest rows, oldest first`,
    );
    t.same([...flatten(ring.views())], model.flat(), `cap ${cap}: views hold the same rows`);
    const { mean, std } = ring.columnStats();
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b));
    const col = (c: number) => model.map((r) => r[c]);
    const mu = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = (xs: number[]) => Math.sqrt(Math.max(0, mu(xs.map((x) => x * x)) - mu(xs) ** 2));
    t.ok(
      [0, 1, 2].every((c) => close(mean[c], mu(col(c))) && close(std[c], Math.max(sd(col(c)), 1e-6 * Math.max(1, Math.abs(mu(col(c))))))),
      `cap ${cap}: column statistics match the rows held`,
    );
  }
  t.end();
});

t.test('a batch over many row blocks keeps its newest rows under a drop limit, text and binary alike', (t) => {
  const rows = 100_000;
  const text = Buffer.from(Array.from({ length: rows }, (_, i) => `${i} ${-i}\n`).join(''));
  const binary = Buffer.alloc(16 + rows * 8);
  binary.writeUInt32LE(0x53444c4d, 0);
  binary.writeUInt16LE(1, 4);
  binary.writeUInt16LE(16, 6);
  binary.writeUInt16LE(1, 8);
  binary.writeUInt16LE(1, 10);
  for (let i = 0; i < rows; i++) {
    binary.writeInt32LE(i, 16 + i * 8);
    binary.writeInt32LE(-i, 20 + i * 8);
  }
  for (const [kind, bytes] of [
    ['text', text],
    ['binary', binary],
  ] as const) {
    const d = new DatasetDecoder(1, 1, 1, { rows: 30_000, excess: 'drop' });
    for (let at = 0; at < bytes.length; at += 65_533) d.feed(bytes.subarray(at, at + 65_533));
    d.finish();
    const got = flatten(d.rows());
    t.equal(d.dropped, rows - 30_000, `${kind}: the oldest went`);
    t.equal(got.length, 60_000, `${kind}: 30,000 rows kept`);
    t.ok(got[0] === 70_000 && got[1] === -70_000 && got[59_998] === 99_999, `${kind}: the newest, in order`);
    t.ok(
      got.every((v, i) => (i % 2 ? v === -got[i - 1] : v === 70_000 + i / 2)),
      `${kind}: every row intact across blocks`,
    );
  }
  t.end();
});

t.test('row blocks: a batch held open under a drop limit holds only about the limit, and gives its blocks back', (t) => {
  const width = 4;
  const b = new BlockBuilder(width);
  for (let i = 0; i < 200_000; i++) {
    b.room();
    b.open.fill(i, b.used, b.used + width);
    b.advance(1);
    if (b.count >= 2 * 1000) b.keepNewest(1000);
  }
  t.ok(b.heldBytes <= 4 * (2 * 1000 * width + 2 * 16384), `held ${b.heldBytes} bytes for at most 2,000 rows`);
  const rows = flatten(b.blocks());
  t.equal(rows[0], 200_000 - b.count, 'the oldest row kept');
  t.equal(rows[rows.length - 1], 199_999, 'the newest row');
  b.release();
  t.equal(b.heldBytes, 0, 'nothing held after release');
  t.end();
});

t.test('queries from bytes: the same values or the same error as parseQueries on the text', (t) => {
  const alphabet = ['1', '2', '0', '9', '-', '+', '.', ' ', ' ', '\t', '\n', '\n', 'e', '#', '0#', '\r', '\xa0', 'x', '55', '1000000001'];
  let s = 5;
  const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  const outcome = (fn: () => Float32Array) => {
    try {
      return [...fn()];
    } catch (err) {
      return err instanceof MlError ? `${err.code} ${err.message}` : `bug ${String(err)}`;
    }
  };
  let fast = 0;
  let errors = 0;
  let differ = 0;
  for (let i = 0; i < 20000; i++) {
    const scale = [1, 1000, 0.5][i % 3];
    const lines = Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
      rand() < 0.7
        ? [0, 1].map(() => `${rand() < 0.3 ? '-' : ''}${Math.floor(rand() * 2000)}${rand() < 0.3 ? '.25' : ''}`).join(rand() < 0.5 ? ' ' : ' \t')
        : Array.from({ length: 1 + Math.floor(rand() * 8) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''),
    );
    const text = lines.join('\n') + (rand() < 0.8 ? '\n' : '');
    const want = outcome(() => parseQueries(text, 2, scale, 2));
    const got = outcome(() => parseQueryBytes(Buffer.from(text, 'latin1'), 2, scale, 2));
    const wantLatin1 = outcome(() => parseQueries(Buffer.from(text, 'latin1').toString('utf8'), 2, scale, 2));
    if (typeof want === 'string') errors++;
    else fast++;
    if (JSON.stringify(got) !== JSON.stringify(wantLatin1) || (typeof got !== 'string' && got.some((v, k) => !Object.is(v, (wantLatin1 as number[])[k])))) {
      if (++differ < 5) t.fail(`${JSON.stringify(text)}: bytes give ${JSON.stringify(got)}, text gives ${JSON.stringify(wantLatin1)}`);
    }
  }
  t.ok(fast > 3000 && errors > 3000, `${fast} parsed, ${errors} refused`);
  t.equal(differ, 0, 'bytes and text agree on every write');
  t.end();
});

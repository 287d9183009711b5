// MLDS rows kept as the int32s written until read: the decoder and the buffer against the floats the division gives.
import t from 'tap';
import { DatasetDecoder } from '../../src/engine/data/codec.js';
import { SampleRing } from '../../src/engine/data/ring.js';
import { flatten } from '../../src/engine/data/row-blocks.js';
import { firstBeyond } from '../../src/engine/data/fixed-point.js';
import { wasmRange } from '../../src/engine/data/wasm-range.js';
import { MlError } from '../../src/errors.js';
import { mldsBatch as mlds } from '../helpers/mlds.js';

let seed = 11;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];

/** A value the protocol accepts, often small, sometimes at or near the limits and past 2^24 (the division's side). */
function value(): number {
  const r = random();
  if (r < 0.05) return pick([1e9, -1e9, 2 ** 24, -(2 ** 24), 2 ** 24 - 1, 0, -1]);
  const magnitude = r < 0.6 ? random() * 5000 : r < 0.8 ? random() * 2 ** 24 : random() * 1e9;
  return Math.trunc(random() < 0.5 ? -magnitude : magnitude);
}

/** The floats the buffer must hold for `ints`: the Float32Array store of v / scale (docs/protocol.md). */
function divided(ints: Int32Array, scale: number): Float32Array {
  const out = new Float32Array(ints.length);
  for (let i = 0; i < ints.length; i++) out[i] = ints[i] / scale;
  return out;
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** `bytes` fed in random pieces, each in its own buffer at a random alignment, as the binding hands writes over. */
function feedInPieces(d: DatasetDecoder, bytes: Buffer): void {
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(random() * (random() < 0.3 ? 12 : 700));
    const shift = Math.floor(random() * 4);
    const copy = Buffer.alloc(n + shift);
    bytes.copy(copy, shift, at, at + n);
    d.feed(copy.subarray(shift, shift + Math.min(n, bytes.length - at)));
    at += n;
  }
}

t.test('ring: rows handed over (int32s, floats) read back exactly as pushRows of their (divided) values, whatever comes between', (t) => {
  const scales = [1000, 7, 1, 0.5, 2 ** 24 + 1];
  for (const cap of [1, 7, 1024, 2500]) {
    const width = 3;
    const ring = new SampleRing(cap, width);
    const reference = new SampleRing(cap, width);
    let droppedGot = 0;
    let droppedWant = 0;
    let reads = 0;
    let mismatches = 0;
    for (let step = 0; step < 120; step++) {
      const op = random();
      if (op < 0.5) {
        // An MLDS batch: one to three blocks, sometimes longer than the ring.
        const scale = random() < 0.8 ? 1000 : pick(scales);
        const blocks = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
          const rows = Math.floor(random() * (random() < 0.1 ? 3 * cap : Math.max(2, cap / 3)));
          return Int32Array.from({ length: rows * width }, value);
        });
        droppedGot += ring.pushFixedPoint(blocks, scale);
        droppedWant += reference.pushRows(blocks.map((b) => divided(b, scale)));
      } else if (op < 0.58) {
        const rows = Float32Array.from({ length: Math.floor(random() * cap) * width }, () => value() / 8);
        droppedGot += ring.pushRows(rows);
        droppedWant += reference.pushRows(rows);
      } else if (op < 0.65) {
        // A text batch handed over: float blocks, one of them sometimes a view past the start of its memory.
        const blocks = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
          const rows = Math.floor(random() * (random() < 0.1 ? 3 * cap : Math.max(2, cap / 3)));
          const skip = random() < 0.3 ? 1 : 0;
          return Float32Array.from({ length: (rows + skip) * width }, () => value() / 8).subarray(skip * width);
        });
        droppedGot += ring.pushRowsHandedOver(blocks, []);
        droppedWant += reference.pushRows(blocks.map((b) => b.slice()));
      } else if (op < 0.95) {
        reads++;
        const read = pick(['row', 'views', 'stats', 'sample'] as const);
        if (read === 'row' && ring.size > 0) {
          const i = Math.floor(random() * ring.size);
          if (!sameBits(ring.row(i), reference.row(i))) mismatches++;
        } else if (read === 'views') {
          if (!sameBits(flatten(ring.views()), flatten(reference.views()))) mismatches++;
        } else if (read === 'stats') {
          const [a, b] = [ring.columnStats(), reference.columnStats()];
          if (!sameBits(a.mean, b.mean) || !sameBits(a.std, b.std)) mismatches++;
        } else if (ring.size > 0) {
          const [a, b] = [new Float32Array(5 * width), new Float32Array(5 * width)];
          const s = seed;
          ring.sample(5, a, random);
          seed = s;
          reference.sample(5, b, random);
          if (!sameBits(a, b)) mismatches++;
        }
      } else if (op < 0.98) {
        const capacity = 1 + Math.floor(random() * 2 * cap);
        droppedGot += ring.resize(capacity);
        droppedWant += reference.resize(capacity);
      } else {
        ring.clear();
        reference.clear();
      }
      t.equal(ring.size, reference.size);
    }
    t.equal(mismatches, 0, `cap ${cap}: ${reads} reads between pushes saw the reference's floats`);
    t.equal(droppedGot, droppedWant, `cap ${cap}: drops counted the same`);
    t.ok(sameBits(ring.toArray(), reference.toArray()), `cap ${cap}: every row, bit for bit`);
  }
  t.end();
});

t.test('decoder: binary rows are the int32s written until floats are asked for, then the divided values', (t) => {
  for (const [inputs, outputs, scale] of [
    [2, 1, 1000],
    [16, 4, 1000],
    [1, 1, 7],
    [3, 2, 0.5],
  ]) {
    const width = inputs + outputs;
    const values = Int32Array.from({ length: width * (1 + Math.floor(random() * 3000)) }, value);
    const d = new DatasetDecoder(inputs, outputs, scale);
    feedInPieces(d, mlds(inputs, outputs, values));
    d.finish();
    const fixed = d.fixedPoint();
    t.equal(fixed?.scale, scale, `${inputs}+${outputs}: the scale comes with the int32s`);
    t.ok(
      sameBits(
        (fixed?.ints ?? []).flatMap((b) => [...b]),
        values,
      ),
      'the int32s as written',
    );
    t.ok(sameBits(flatten(d.rows()), divided(values, scale)), 'rows(): each divided by scale as the division rounds it');
    t.equal(d.fixedPoint(), undefined, 'once scaled, no int32s are offered');
    t.ok(sameBits(flatten(d.rows()), divided(values, scale)), 'rows() again: not divided twice');
    d.release();
  }
  // Floats asked for in the middle of a batch: what came before and what comes after agree.
  const values = Int32Array.from({ length: 2 * 5000 }, value);
  const bytes = mlds(1, 1, values);
  const d = new DatasetDecoder(1, 1, 1000);
  d.feed(bytes.subarray(0, 20_000));
  d.rows();
  d.feed(bytes.subarray(20_000));
  d.finish();
  t.ok(sameBits(flatten(d.rows()), divided(values, 1000)), 'rows asked for mid-batch: every value divided once');
  // Writes bigger than a 64 KiB row block (cat sends 128 KiB) fill standard blocks, each a whole number of rows.
  const wide = Int32Array.from({ length: 20 * 30_000 }, value);
  const wideBytes = mlds(16, 4, wide);
  for (const chunk of [131_072, 1 << 20]) {
    const big = new DatasetDecoder(16, 4, 1000);
    for (let at = 0; at < wideBytes.length; at += chunk) big.feed(wideBytes.subarray(at, at + chunk));
    big.finish();
    const blocks = big.rows();
    t.ok(
      blocks.every((b) => b.length <= Math.floor(16384 / 20) * 20 && b.length % 20 === 0),
      `${chunk}-byte writes: no block beyond 64 KiB, each whole rows`,
    );
    t.ok(sameBits(flatten(blocks), divided(wide, 1000)), `${chunk}-byte writes: every value`);
    big.release();
  }
  const text = new DatasetDecoder(1, 1, 1000);
  text.feed(Buffer.from('1 2\n'));
  text.finish();
  t.equal(text.fixedPoint(), undefined, 'text rows are floats from the start');
  t.end();
});

t.test('decoder: a value beyond ±1e9 fails its write with the same errno and message wherever it sits', (t) => {
  const width = 5;
  for (const [record, column, bad] of [
    [1, 0, 1_000_000_001],
    [7, 4, -1_000_000_001],
    [820, 2, 2 ** 31 - 1],
    [1500, 0, -(2 ** 31)],
  ]) {
    const values = Int32Array.from({ length: width * 2000 }, value);
    values[(record - 1) * width + column] = bad;
    const d = new DatasetDecoder(3, 2, 1000);
    let error: unknown;
    try {
      feedInPieces(d, mlds(3, 2, values));
    } catch (err) {
      error = err;
    }
    t.ok(error instanceof MlError && error.code === 'EINVAL', `record ${record}: EINVAL`);
    t.equal((error as Error).message, `dataset: binary record ${record} value ${bad} is beyond ±1000000000`, `record ${record}: the documented message`);
  }
  t.equal(firstBeyond(Int32Array.from([1e9, -1e9, 0, 1e9 + 1]), 4), 3, 'firstBeyond: ±1e9 itself passes');
  // Around the fast pass's bound (2^29) and the limit, alone and among small values, at every position.
  const edges = [2 ** 29 - 1, -(2 ** 29), 2 ** 29, -(2 ** 29) - 1, 1e9, -1e9, 1e9 + 1, -1e9 - 1, 2 ** 31 - 1, -(2 ** 31)];
  // 40 values take the JavaScript fast pass, 100, 1000 and 40,000 (three of its pieces) the WebAssembly one.
  for (const length of [40, 100, 1000, 40_000]) {
    for (const edge of edges) {
      for (const at of [0, 1, 17, 39, length - 1]) {
        const raw = Int32Array.from({ length }, (_, i) => (i % 7) - 3);
        raw[at] = edge;
        t.equal(firstBeyond(raw, length), Math.abs(edge) > 1e9 ? at : -1, `firstBeyond of ${length}: ${edge} at ${at}`);
      }
    }
  }
  const two = Int32Array.from({ length: 50 }, () => 5);
  two.set([2 ** 29 + 5, -(2 ** 29) - 5, 999_999_999, 1e9 + 7], 10);
  two[40] = -(2 ** 31);
  t.equal(firstBeyond(two, 50), 13, 'firstBeyond: the first beyond, after allowed values past the bound');
  t.equal(firstBeyond(Int32Array.from([5, -1e9 - 1, 1e9 + 1]), 1), -1, 'firstBeyond: only the values asked for');
  t.end();
});

t.test('decoder: a batch past the blocks in WebAssembly memory (256 of 64 KiB) reads back exactly, and a bad value past them fails its write', (t) => {
  // 5 values a row: 3,276 rows a block, so 900,000 rows take 275 blocks, the last 19 ordinary arrays.
  const probe = wasmRange()?.takeBlock(1);
  const arena = probe?.buffer;
  if (probe) wasmRange()?.giveBack(probe);
  const rows = 900_000;
  const values = Int32Array.from({ length: rows * 5 }, value);
  const bytes = mlds(3, 2, values);
  const d = new DatasetDecoder(3, 2, 1000);
  for (let at = 0; at < bytes.length; at += 65_536) d.feed(bytes.subarray(at, at + 65_536));
  d.finish();
  const fixed = d.fixedPoint();
  t.ok(fixed && fixed.ints.length === Math.ceil(rows / 3276), `${fixed?.ints.length} blocks`);
  const inArena = (fixed?.ints ?? []).filter((block) => block.buffer === arena).length;
  t.ok(inArena > 200 && inArena <= 256, `${inArena} blocks in WebAssembly memory, the rest ordinary arrays`);
  const ints = new Int32Array(rows * 5);
  let at = 0;
  for (const block of fixed?.ints ?? []) {
    ints.set(block, at);
    at += block.length;
  }
  t.ok(sameBits(ints, values), 'the int32s as written, in order, in every block');
  t.ok(sameBits(flatten(d.rows()), divided(values, 1000)), 'and divided as the protocol rounds');
  d.release();
  values[(rows - 3) * 5 + 1] = -1_000_000_001;
  const badBytes = mlds(3, 2, values);
  const bad = new DatasetDecoder(3, 2, 1000);
  t.throws(
    () => {
      for (let at = 0; at < badBytes.length; at += 65_536) bad.feed(badBytes.subarray(at, at + 65_536));
    },
    { message: `dataset: binary record ${rows - 2} value -1000000001 is beyond ±1000000000` },
    'the record past the arena, by its number',
  );
  bad.release();
  t.end();
});

t.test('ring: the memory of MLDS blocks waiting to be copied counts in bytes until a read copies them', (t) => {
  const width = 4;
  const ring = new SampleRing(1000, width);
  const empty = ring.bytes;
  const memory = [new Float32Array(16384), new Float32Array(16384)];
  const blocks = memory.map((m) => new Int32Array(m.buffer, 0, 100 * width).fill(7));
  ring.pushFixedPoint(blocks, 1000, memory);
  t.equal(ring.bytes, empty + 2 * 65536, 'two waiting 64 KiB blocks on top of the buffer');
  t.equal(ring.views()[0][0], Math.fround(0.007), 'a read copies and divides them');
  t.equal(ring.bytes, empty, 'and their memory is no longer held');
  ring.pushFixedPoint([new Int32Array(memory[0].buffer, 0, width)], 1000, [memory[0]]);
  ring.clear();
  t.equal(ring.bytes, empty, 'a clear lets waiting blocks go too');
  t.end();
});

t.test('ring: batches of a few rows in whole blocks do not pile up waiting: past twice the buffer (and 1 MiB) they are copied', (t) => {
  const width = 4;
  const ring = new SampleRing(1000, width); // 16 KB of rows
  const limit = 2 * 1000 * width * 4 + (1 << 20);
  let most = 0;
  for (let batch = 0; batch < 200; batch++) {
    const memory = new Float32Array(16384); // a decoder's whole 64 KiB block for one row
    memory.fill(batch, 0, width);
    if (batch % 2) ring.pushRowsHandedOver([memory.subarray(0, width)], [memory]);
    else ring.pushFixedPoint([new Int32Array(memory.buffer, 0, width).fill(batch)], 1, [memory]);
    most = Math.max(most, ring.bytes);
  }
  t.ok(most <= limit + 65536, `at most ${limit} bytes wait, and one block more (held ${most})`);
  t.ok(most > limit - 65536, 'and blocks did wait up to it');
  t.equal(ring.size, 200, 'every row is there');
  t.same([...ring.row(199)], [199, 199, 199, 199], 'the newest row as written');
  t.same([...ring.row(0)], [0, 0, 0, 0], 'the oldest too');
  t.end();
});

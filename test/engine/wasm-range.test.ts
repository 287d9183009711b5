// The WebAssembly fast pass of the MLDS range check (native/int-range.c) against the JavaScript one.
import t from 'tap';
import { wasmRange } from '../../src/engine/data/wasm-range.js';
import { surelyWithinInJs } from '../../src/engine/data/fixed-point.js';
import { xorshift32 } from '../helpers/prng.js';

t.test('surely within ±2^29: the WebAssembly pass answers as the JavaScript one', (t) => {
  const wasm = wasmRange();
  if (!wasm) return (t.fail('WebAssembly SIMD runs on Node 20: the module must load'), t.end());
  const next = xorshift32(2026);
  const edges = [2 ** 29 - 1, -(2 ** 29), 2 ** 29, -(2 ** 29) - 1, 1e9, -1e9 - 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 30, -(2 ** 30) - 1];
  let disagreements = 0;
  let within = 0;
  const cases = 3000;
  for (let c = 0; c < cases; c++) {
    // Lengths around the 16-value loop, its tail, and the 16,384-value pieces.
    const length = [1, 15, 16, 17, 255, 256, 1000, 16_383, 16_384, 16_385, 40_000][next() % 11];
    const magnitude = [10, 1000, 2 ** 20, 2 ** 29 - 1][next() % 4];
    const raw = Int32Array.from({ length }, () => (next() % (2 * magnitude + 1)) - magnitude);
    if (next() % 2) raw[next() % length] = edges[next() % edges.length];
    // Sometimes a value outside the part asked for, which must not count.
    const asked = next() % 8 === 0 ? next() % length : length;
    if (asked < length) raw[asked] = -(2 ** 31);
    const want = surelyWithinInJs(raw, asked);
    if (wasm.surelyWithin(raw, asked) !== want) disagreements++;
    if (want) within++;
  }
  t.equal(disagreements, 0, `${cases} arrays: no disagreement`);
  t.ok(within > cases / 4 && within < (3 * cases) / 4, `both answers occur (${within} of ${cases} within)`);
  t.end();
});

t.test('row blocks in the module memory: taken until none is free, checked where they lie, given back', (t) => {
  const wasm = wasmRange();
  if (!wasm) return (t.fail('WebAssembly SIMD runs on Node 20: the module must load'), t.end());
  const taken: Float32Array[] = [];
  for (let block = wasm.takeBlock(16_384); block; block = wasm.takeBlock(16_384)) taken.push(block);
  t.equal(taken.length, 256, 'the arena holds 256 blocks of 64 KiB');
  t.equal(wasm.takeBlock(16), undefined, 'none left: the caller makes an ordinary array');
  t.equal(new Set(taken.map((b) => b.buffer)).size, 1, 'all in the one memory');
  const offsets = taken.map((b) => b.byteOffset).sort((a, b) => a - b);
  t.ok(
    offsets.every((at, i) => i === 0 || at - offsets[i - 1] >= 65_536),
    'no two blocks overlap',
  );
  taken.forEach((b, i) => b.fill(i));
  t.ok(
    taken.every((b, i) => b[0] === i && b[16_383] === i),
    'each keeps what was written to it',
  );
  const ints = new Int32Array(taken[3].buffer, taken[3].byteOffset, 16_384).fill(-(2 ** 29));
  t.equal(wasm.surelyWithin(ints, 16_384), true, 'checked in place: within');
  ints[16_383] = 2 ** 29;
  t.equal(wasm.surelyWithin(ints, 16_384), false, 'checked in place: the last value beyond');
  t.equal(wasm.surelyWithin(ints, 16_383), true, 'only the values asked for');
  t.equal(wasm.giveBack(new Float32Array(16_384)), false, 'an ordinary array is not the arena’s');
  t.equal(wasm.takeBlock(16_385), undefined, 'a block bigger than 64 KiB is not taken from it');
  t.ok(
    taken.every((b) => wasm.giveBack(b)),
    'every block goes back',
  );
  const again = wasm.takeBlock(16_384);
  t.ok(again, 'and can be taken again');
  if (again) wasm.giveBack(again);
  t.end();
});

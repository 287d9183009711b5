// Pure wire formats: dataset decoding across chunk boundaries, numbers, queries, feedback and config text.
import t from 'tap';
import { DatasetDecoder, parseNumber, parseQueries, parseFeedback, formatRows } from '../../src/engine/data/codec.js';
import { parseConfigText, validateConfig, DEFAULT_CONFIG } from '../../src/engine/session/config.js';
import { SampleRing } from '../../src/engine/data/ring.js';
import { MlError } from '../../src/errors.js';

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
  t.same([...d.rows()], [1, 2, 3, 4, 5, 6]);
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
  t.same([...d.rows()], [1.5, -2.5, 3, 4]);
  t.end();
});

t.test('numbers', (t) => {
  for (const good of ['0', '-1', '+2.5', '.5', '5.', '1e3', '-1E-3', '1000000000']) t.ok(Number.isFinite(parseNumber(good, 'x')), good);
  for (const bad of ['', '-', 'e3', '1e', '0x10', 'NaN', 'Infinity', '1,0', '1_000', '1000000001', '2e9']) t.ok(einval(() => parseNumber(bad, 'x')), bad);
  t.end();
});

t.test('queries, feedback and formatting', (t) => {
  t.same([...parseQueries('1 2\n3 4\n', 2, 1, 10)], [1, 2, 3, 4]);
  t.ok(einval(() => parseQueries('1 2\n3 4\n', 2, 1, 1)), 'too many lines');
  const fb = parseFeedback('ml 5\ndefault 3 1000\ncritical\n', 1, 1000);
  t.same(fb.map((l) => l.source), ['ml', 'default', 'critical']);
  t.same([...(fb[1].corrected as Float32Array)], [1]);
  t.equal(formatRows(Float32Array.of(1.5, -2.25), 2, 1000), '1500 -2250\n');
  t.equal(formatRows(Float32Array.of(1.5, -2.25), 1, 1), '1.5\n-2.25\n');
  t.end();
});

t.test('config text', (t) => {
  t.same(parseConfigText('inputs=3\nhidden=none\n'), { inputs: 3, hidden: [] });
  t.ok(einval(() => parseConfigText('# only a comment\n')), 'empty');
  t.ok(einval(() => parseConfigText('hidden=1,2,3,4,5,6,7,8,9')), 'too many layers');
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

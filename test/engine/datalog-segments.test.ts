// The dataset log in segment files: a full segment starts the next, a segment whose rows have all left the buffer is
// deleted whole (nothing is copied to shrink the log), a reset survives a crash before the old segments are gone,
// a torn tail is cut, and a one-file log of an earlier server is taken over (as the first segment, or as the newest
// beside segments).
import t from 'tap';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLog, SEGMENT_MIN_BYTES, encodeRecord } from '../../src/engine/store/datalog.js';

const WIDTH = 5;
/** Bytes of a record of `rows` rows: header, width word, values. */
const recordBytes = (rows: number) => 12 + 4 + 4 * WIDTH * rows;

function fixture(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-segments-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let next = 0;
  return {
    dir,
    /** Rows numbered on from the last, so that order and content both show. */
    batch: (rows: number) => Float32Array.from({ length: rows * WIDTH }, () => next++),
    segments: () =>
      readdirSync(dir)
        .filter((n) => /^dataset\.\d{10}\.log$/.test(n))
        .sort(),
    /** What a server starting now would recover (the log opened and closed again). */
    recover: async () => {
      const { log, recovered } = await DataLog.open(dir, 'strict');
      await log.close();
      return recovered;
    },
  };
}

t.test('full segments start new ones; segments the buffer no longer holds are deleted; the newest rows come back', async (t) => {
  const f = fixture(t);
  const { log } = await DataLog.open(f.dir, 'strict');
  t.same(f.segments(), ['dataset.0000000001.log'], 'an empty log is one empty segment');
  // A buffer of 100,000 rows (2 MB): segments close at the 4 MiB floor, about 210,000 rows.
  const capacity = 100_000;
  const buffer = { rows: 0, bytes: capacity * WIDTH * 4 };
  const batchRows = 20_000;
  const all: Float32Array[] = [];
  let most = 0;
  for (let i = 0; i < 60; i++) {
    const b = f.batch(batchRows);
    all.push(b);
    buffer.rows = Math.min(capacity, buffer.rows + batchRows);
    await log.append([b], WIDTH, { ...buffer });
    most = Math.max(most, f.segments().length);
  }
  const perSegment = Math.ceil(SEGMENT_MIN_BYTES / recordBytes(batchRows)) * batchRows;
  t.ok(most <= 2, `at most two segments at once (${most}): the active one and the one the buffer still reaches into`);
  t.ok(f.segments()[0] !== 'dataset.0000000001.log', 'the first segments were deleted');
  const onDisk = f.segments().reduce((n, name) => n + statSync(join(f.dir, name)).size, 0);
  t.ok(onDisk < 2 * SEGMENT_MIN_BYTES + recordBytes(capacity), `the log stays small (${onDisk} bytes for 1.2 M rows stored)`);
  await log.close();

  const recovered = await f.recover();
  const rows = recovered.rows.length / WIDTH;
  t.ok(rows >= capacity && rows <= capacity + perSegment, `every row the buffer held came back (${rows}; it held ${capacity})`);
  const expected = all.flatMap((b) => [...b]).slice(-recovered.rows.length);
  t.ok(
    recovered.rows.every((v, i) => v === expected[i]),
    'the newest rows, in order, ending with the last batch',
  );
});

t.test('a buffer of more than the floor makes segments of its size', async (t) => {
  const f = fixture(t);
  const { log } = await DataLog.open(f.dir, 'strict');
  const bytes = 3 * SEGMENT_MIN_BYTES;
  // 32 MB stored, all of it held: segments close at 12 MiB, none is deleted.
  for (let i = 0; i < 80; i++) await log.append([f.batch(20_000)], WIDTH, { rows: 1 << 30, bytes });
  await log.close();
  const sizes = f.segments().map((name) => statSync(join(f.dir, name)).size);
  t.equal(sizes.length, 3, 'three segments');
  t.ok(
    sizes.slice(0, -1).every((n) => n >= bytes && n < bytes + recordBytes(20_000)),
    `the closed ones hold a buffer's worth and at most one record more (${sizes.join(', ')})`,
  );
});

t.test('a reset: the rows before it never come back, even when the old segments outlive a crash', async (t) => {
  const f = fixture(t);
  const { log } = await DataLog.open(f.dir, 'strict');
  await log.append([f.batch(100)], WIDTH, { rows: 100, bytes: 1 << 20 });
  const old = join(f.dir, 'dataset.0000000001.log');
  copyFileSync(old, join(f.dir, 'kept-copy'));
  await log.reset();
  t.same(f.segments(), ['dataset.0000000002.log'], 'the reset starts a segment and deletes the one before');
  const after = f.batch(7);
  await log.append([after], WIDTH, { rows: 7, bytes: 1 << 20 });
  t.same(
    readdirSync(f.dir).filter((n) => n.endsWith('.reset')),
    [],
    'its mark is gone once the old segment is',
  );
  await log.close();
  // As if the server had crashed before the old segment's deletion reached the disk: the mark is still there.
  copyFileSync(join(f.dir, 'kept-copy'), old);
  writeFileSync(join(f.dir, 'dataset.0000000002.reset'), '');
  const { log: reopened, recovered } = await DataLog.open(f.dir, 'strict');
  t.same([...recovered.rows], [...after], 'only the rows after the reset');
  t.same(f.segments(), ['dataset.0000000002.log'], 'the segment before the reset is deleted on open');
  t.same(
    readdirSync(f.dir).filter((n) => n.endsWith('.reset')),
    [],
    'and the mark with it',
  );
  await reopened.close();
});

t.test('a reset with nothing stored since the last one leaves the files alone', async (t) => {
  const f = fixture(t);
  const { log } = await DataLog.open(f.dir, 'strict');
  await log.reset();
  t.same(f.segments(), ['dataset.0000000001.log']);
  await log.close();
});

t.test('a torn tail is cut off its segment; the one-file log of an earlier server is taken over', async (t) => {
  const f = fixture(t);
  const first = f.batch(10);
  const second = f.batch(10);
  writeFileSync(join(f.dir, 'dataset.log'), Buffer.concat([encodeRecord([first], WIDTH), encodeRecord([second], WIDTH)]));
  appendFileSync(join(f.dir, 'dataset.log'), encodeRecord([f.batch(10)], WIDTH).subarray(0, 30));
  const { log, recovered } = await DataLog.open(f.dir, 'strict');
  t.same(f.segments(), ['dataset.0000000001.log'], 'dataset.log became the first segment');
  t.same([...recovered.rows], [...first, ...second], 'its whole records');
  t.equal(recovered.cutBytes, 30, 'the torn record counted');
  t.equal(statSync(join(f.dir, 'dataset.0000000001.log')).size, 2 * recordBytes(10), 'and cut off the file');
  const third = f.batch(3);
  await log.append([third], WIDTH, { rows: 23, bytes: 1 << 20 });
  await log.close();
  t.same([...(await f.recover()).rows], [...first, ...second, ...third], 'appends follow the taken-over rows');
});

t.test('a one-file log beside segments (an earlier server ran between two of these) becomes the newest segment', async (t) => {
  const f = fixture(t);
  const { log } = await DataLog.open(f.dir, 'strict');
  const ours = f.batch(10);
  await log.append([ours], WIDTH, { rows: 10, bytes: 1 << 20 });
  await log.close();
  // The earlier server started from nothing (it does not read segments) and wrote its own log.
  const theirs = f.batch(7);
  writeFileSync(join(f.dir, 'dataset.log'), encodeRecord([theirs], WIDTH));
  const { log: again, recovered } = await DataLog.open(f.dir, 'strict');
  t.same(f.segments(), ['dataset.0000000001.log', 'dataset.0000000002.log'], 'dataset.log became the second segment');
  t.notOk(readdirSync(f.dir).includes('dataset.log'), 'and is gone by its old name');
  t.same([...recovered.rows], [...ours, ...theirs], "every acknowledged row back, the earlier server's last");
  const next = f.batch(2);
  await again.append([next], WIDTH, { rows: 19, bytes: 1 << 20 });
  await again.close();
  t.same([...(await f.recover()).rows], [...ours, ...theirs, ...next], 'appends go after them');
});

t.test('a one-file log beside an interrupted reset survives the reset being finished', async (t) => {
  const f = fixture(t);
  // As a crash leaves a reset to 3 (the mark, the new segment, the old ones not yet deleted), then an earlier
  // server's own log.
  writeFileSync(join(f.dir, 'dataset.0000000001.log'), encodeRecord([f.batch(4)], WIDTH));
  writeFileSync(join(f.dir, 'dataset.0000000002.log'), encodeRecord([f.batch(4)], WIDTH));
  writeFileSync(join(f.dir, 'dataset.0000000003.reset'), '');
  writeFileSync(join(f.dir, 'dataset.0000000003.log'), '');
  const theirs = f.batch(6);
  writeFileSync(join(f.dir, 'dataset.log'), encodeRecord([theirs], WIDTH));
  const { log, recovered } = await DataLog.open(f.dir, 'strict');
  t.same(f.segments(), ['dataset.0000000003.log', 'dataset.0000000004.log'], 'the reset finished; dataset.log after it');
  t.same([...recovered.rows], [...theirs], 'only the rows after the reset');
  t.notOk(
    readdirSync(f.dir).some((n) => n.endsWith('.reset')),
    'no mark left',
  );
  await log.close();
});

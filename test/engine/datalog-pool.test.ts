// The dataset log encodes records into reused memory (record-pool.ts): what it writes must not change for it.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLog } from '../../src/engine/store/datalog.js';
import { giveRecordMemory, recordMemoryKept, takeRecordMemory } from '../../src/engine/store/record-pool.js';

t.test('record memory: reused once given back, in rounded sizes, small records left to Node', (t) => {
  const a = takeRecordMemory(100_000);
  t.equal(a.length, 131_072, 'rounded up to a power of two below 1 MiB');
  t.equal(takeRecordMemory(8_000_016).length, 8 << 20, 'and to whole MiB above');
  a.fill(7);
  giveRecordMemory(a);
  const b = takeRecordMemory(70_000);
  t.equal(b.buffer, a.buffer, 'the next record of about its size gets it back');
  t.equal(takeRecordMemory(70_000) === b, false, 'and only once');
  giveRecordMemory(b);
  const kept = recordMemoryKept();
  giveRecordMemory(takeRecordMemory(1000));
  t.equal(recordMemoryKept(), kept, 'small records are not kept');
  t.end();
});

t.test('a strict log written from reused memory reads back every batch, through group commits and rewrites', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-datalog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'dataset.log');
  const width = 5;
  let next = 0;
  // Batches of 1 to 8,000 rows (small records and pooled ones), numbered so that order and content both show.
  const batch = (rows: number) => Float32Array.from({ length: rows * width }, () => next++);
  const { log } = await DataLog.open(path, 'strict');
  let expected: number[] = [];
  for (let round = 0; round < 6; round++) {
    const writes: Promise<void>[] = [];
    // Appends not awaited one by one: those queued while a write runs share the next one (several records, one writev).
    for (const rows of [1, 8000, 3, 4000, 8000, 2, 5000]) {
      const b = batch(rows);
      expected.push(...b);
      writes.push(log.append([b], width));
    }
    if (round === 3) {
      // A rewrite takes over what is queued: the log then holds exactly these rows, and later appends follow them.
      // Its record (400 KB) and the 8,000-row ones are checksummed over several turns, appends arriving meanwhile.
      const kept = Float32Array.from(expected.slice(-width * 20000));
      expected = [...kept];
      writes.push(log.rewrite([kept], width));
      const after = batch(8000);
      expected.push(...after);
      setImmediate(() => writes.push(log.append([after], width)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(writes);
  }
  await log.close();
  const { recovered } = await DataLog.open(path, 'strict');
  t.equal(recovered.width, width, 'the width');
  t.equal(recovered.rows.length, expected.length, `${expected.length / width} rows`);
  t.ok(
    recovered.rows.every((v, i) => v === expected[i]),
    'every value, in order',
  );
  t.equal(recovered.cutBytes, 0, 'nothing torn');
});

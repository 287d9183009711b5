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

t.test('a strict log written from reused memory reads back every batch, through group commits and a reset', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-datalog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const width = 5;
  let next = 0;
  // Batches of 1 to 8,000 rows (small records and pooled ones), numbered so that order and content both show.
  const batch = (rows: number) => Float32Array.from({ length: rows * width }, () => next++);
  const { log } = await DataLog.open(dir, 'strict');
  let expected: number[] = [];
  // The buffer holds everything: nothing may be deleted.
  const everything = () => ({ rows: expected.length / width, bytes: 1 << 30 });
  for (let round = 0; round < 6; round++) {
    const writes: Promise<void>[] = [];
    // Appends not awaited one by one: those queued while a write runs share the next one (several records, one writev).
    for (const rows of [1, 8000, 3, 4000, 8000, 2, 5000]) {
      const b = batch(rows);
      expected.push(...b);
      writes.push(log.append([b], width, everything()));
    }
    if (round === 3) {
      // A reset takes over what is queued: the log then holds nothing, and later appends follow it. The 8,000-row
      // records are checksummed over several turns, appends arriving meanwhile.
      expected = [];
      writes.push(log.reset());
      const after = batch(8000);
      expected.push(...after);
      setImmediate(() => writes.push(log.append([after], width, everything())));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(writes);
  }
  await log.close();
  const { recovered } = await DataLog.open(dir, 'strict');
  t.equal(recovered.width, width, 'the width');
  t.equal(recovered.rows.length, expected.length, `${expected.length / width} rows`);
  t.ok(
    recovered.rows.every((v, i) => v === expected[i]),
    'every value, in order',
  );
  t.equal(recovered.cutBytes, 0, 'nothing torn');
});

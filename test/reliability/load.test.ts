// Load, the CI variant of bench/load.mjs: 16 dataset writers and 16 recommendation readers over 4 training
// models with --state-dir and durability=strict for 10 s. No operation may fail, every acknowledged sample
// must be counted, and the server's memory must stay bounded; latencies are reported, not asserted
// (docs/reliability.md has the figures of the 60 s run).
import t from 'tap';
// @ts-expect-error: a plain ES module without types
import { runLoad } from '../../bench/load.mjs';

t.test('16 writers and 16 transaction readers over 4 models, strict durability', async (t) => {
  const r = await runLoad({ seconds: 10, writers: 16, readers: 16, models: 4 });
  t.comment(
    `transactions ${r.transactions}: p50 ${r.transactionP50Us} µs, p99 ${r.transactionP99Us} µs; ${r.samplesPerSecond} samples/s acknowledged; RSS max ${r.rssMaxMiB} MiB`,
  );
  t.same(r.errors, { writers: {}, readers: {} }, 'no operation failed');
  t.same(r.samplesCounted, r.samplesAcknowledged, 'every acknowledged sample is counted, per model');
  t.ok(r.batchesAcknowledged > 0 && r.transactions > 0, 'both kinds of client made progress');
  // Bounded: the server and its training process together, with 4 models of 100,000-sample buffers.
  t.ok(r.rssMaxMiB < 1024, `RSS stayed under 1 GiB (max ${r.rssMaxMiB} MiB)`);
});

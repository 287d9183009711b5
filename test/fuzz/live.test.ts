// Live fuzzing, the CI variant of bench/fuzz-live.mjs: a thousand random and mutated operations on a
// real mount with --state-dir, two chaos processes racing it, a clean restart in the middle and one at the
// end; every model's state, config, mode, buffered samples and counters must equal what the accepted
// operations predict. The full run (100,000 operations) is `node bench/fuzz-live.mjs`, see docs/reliability.md.
import t from 'tap';
// @ts-expect-error: a plain ES module without types
import { runLiveFuzz } from '../../bench/fuzz-live.mjs';

t.test('fuzzed operations leave exactly the predicted state, across restarts', async (t) => {
  const report = await runLiveFuzz({ seed: 11, ops: 1000, restarts: 1, chaos: 2 });
  t.comment(
    `${report.ops} operations, ${report.syscalls} syscalls (${report.accepted} ok, ${report.rejected} refused), ${report.batches.stored} batches stored, ${report.restarts} restarts, ${report.seconds} s`,
  );
  t.same(report.mismatches, [], 'every check held');
  t.equal(report.accepted + report.rejected, report.syscalls, 'every operation was accepted or refused');
  t.ok(report.batches.stored > 30 && report.batches.refused > 30, 'both accepted and refused batches were exercised');
  t.ok(Object.keys(report.chaos).length > 1, 'the chaos processes ran');
});

t.test('the checks do fail when the prediction is wrong', async (t) => {
  const report = await runLiveFuzz({ seed: 12, ops: 50, restarts: 0, chaos: 0, sabotage: true });
  t.match(report.mismatches.join('\n'), /samples_total .* expected/, 'a wrong counter is reported');
});

// Turns the guest's "KLAT …" lines (mount-scripts/qemu/guest/scenarios.sh, the latency scenario) into the kernel's-view
// section of docs/performance.md. Usage: node bench/kernel-latency.mjs CONSOLE_LOG [--print]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, fmt, table } from './lib.mjs';
import { replaceDocSection } from './doc-section.mjs';

const TITLE = "The kernel's view: the module's own transaction latency";
const [logFile, flag] = process.argv.slice(2);
const log = readFileSync(logFile, 'utf8').replace(/\r/g, '');
const phases = {};
for (const line of log.split('\n')) {
  const m = /^KLAT (\w+) (.*)$/.exec(line.trim());
  if (!m) continue;
  phases[m[1]] = Object.fromEntries(m[2].split(' ').map((kv) => kv.split('=')));
}
if (!phases.training || !phases.idle || !phases.total) {
  process.stderr.write('kernel-latency: the log has no KLAT lines for training, idle and total (did the latency scenario run?)\n');
  process.exit(1);
}

/** Bucket i of the module's log2 histogram: under 1 µs, [2^(i-1), 2^i) µs, the last from 262144 µs up. */
const bucketLabel = (i, last) => (i === 0 ? '< 1' : i === last ? `≥ ${fmt(2 ** (i - 1))}` : `${fmt(2 ** (i - 1))}–${fmt(2 ** i)}`);
/** The bucket holding quantile q: its upper bound is an upper bound on the quantile. */
function quantileBound(counts, q) {
  const total = counts.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= q * total) return i === counts.length - 1 ? `≥ ${fmt(2 ** (i - 1))}` : `< ${fmt(2 ** i)}`;
  }
  return 'n/a';
}
// A scenario check that failed is said in the section, not hidden (a starved guest fails timing checks).
// The scenario's number is whatever printed the latency checks (it moves as scenarios are added).
const id = /^(?:PASS|FAIL) (S\d+) transactions timed while/m.exec(log)?.[1] ?? 'S?';
const failed = [
  ...new Set(
    log
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith(`FAIL ${id} `))
      .map((l) => l.slice(`FAIL ${id} `.length)),
  ),
];
const timeouts = log.split('\n').filter((l) => /request took over \d+ ms, killed it/.test(l)).length;
const hist = (p) => p.log2_us.split(',').map(Number);
const used = (counts) => counts.map((c, i) => [i, c]).filter(([, c]) => c > 0);

const rows = ['training', 'idle'].map((k) => {
  const p = phases[k];
  const h = hist(p);
  return [k, p.transactions, p.avg_us, quantileBound(h, 0.5), quantileBound(h, 0.99), p.train_steps];
});
const last = hist(phases.total).length - 1;
const histRows = used(hist(phases.training).map((c, i) => c + hist(phases.idle)[i])).map(([i]) => [
  bucketLabel(i, last),
  String(hist(phases.training)[i]),
  String(hist(phases.idle)[i]),
]);
const t = phases.total;
const section = `\`bench/kernel-latency.sh\` (guest scenario ${id.slice(1)} under qemu TCG, ${new Date().toISOString().slice(0, 10)})

The module times each of its own recommendation transactions (open the model's \`recommendation\` file,
write the queries, read the answer, close: \`ml_transact\` in kmod/ml_lib.c) and keeps a count, the sum, min,
max and a log2 histogram in µs, exposed as read-only parameters under
\`/sys/module/mlproxy_kmod/parameters/\`: \`txn_count\`, \`txn_sum_us\`, \`txn_min_us\`, \`txn_avg_us\`,
\`txn_max_us\`, \`txn_log2_us\` (20 counts: under 1 µs, then [2^(i-1), 2^i) µs, the last 262,144 µs and up).
The guest scenario reads them before and after a window of 15 seconds (\`KLAT_SECS\` in scenarios.sh) with the model training
(started, samples arriving every round), then with it stopped (idle), and prints the differences.

These numbers come from a qemu guest without KVM (TCG: every instruction emulated, the guest's two vCPUs
on a host shared with other work), so they are far above what the same module sees on real hardware; what
they show is the module's own view and how much training moves it.

${table(['server', 'transactions', 'mean (µs)', 'p50 (µs, bucket bound)', 'p99 (µs, bucket bound)', 'train steps in the window'], rows)}

Histogram of the two windows (transactions per bucket):

${table(['µs', 'training', 'idle'], histRows)}

${
  failed.length || timeouts
    ? `**This run was starved**: ${timeouts} requests passed the module's \`timeout_ms\` and were killed (they count in
\`timeouts\`, not here: only successful transactions are timed)${failed.length ? `, and these scenario checks failed: ${failed.map((f) => `"${f}"`).join(', ')}` : ''}.
With the host this busy the guest's server barely runs, so read the numbers as an upper bound, not as the module's cost.
`
    : ''
}
Since load: ${t.transactions} transactions, min ${t.min_us} µs, mean ${t.avg_us} µs, max ${t.max_us} µs.
`;
if (flag === '--print') process.stdout.write(`## ${TITLE}\n\n${section}`);
else replaceDocSection(join(ROOT, 'docs/performance.md'), TITLE, section);

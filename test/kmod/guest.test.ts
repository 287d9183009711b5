// kmod guest scenarios: boots the kernel module and the real mlproxy server under qemu (TCG) through
// mount-scripts/qemu/run-all.sh and checks its verdict and PASS markers. Takes up to ~8 minutes.
// Set MLPROXY_SKIP_GUEST=1 to skip it (e.g. for a quick local run).
import t from 'tap';
import { GUEST_TURN_WAIT_MS, runGuestScript } from '../helpers/guest-run.js';

const SCENARIOS = ['5', '1', '7', '4', '2', '3', '6'];
const LIMIT_MS = 480_000;

t.setTimeout(LIMIT_MS + 60_000 + GUEST_TURN_WAIT_MS);

t.test('guest scenarios pass under qemu', { skip: process.env.MLPROXY_SKIP_GUEST === '1' && 'MLPROXY_SKIP_GUEST=1' }, async (t) => {
  const { code, lines } = await runGuestScript('mount-scripts/qemu/run-all.sh', SCENARIOS, { MLP_QEMU_TIMEOUT: String(Math.floor((LIMIT_MS - 60_000) / 1000)) }, LIMIT_MS);
  const fails = lines.filter((l) => l.startsWith('FAIL ') || l.startsWith('run-all: FAIL'));
  t.equal(code, 0, 'run-all.sh exits 0');
  t.same(fails, [], 'no FAIL lines');
  for (const s of SCENARIOS) t.ok(lines.some((l) => l.startsWith(`PASS S${s} `)), `scenario ${s} printed PASS`);
  // Scenario 7's self-benchmark of in-kernel inference (bench/qnet-kernel.mjs reads the same lines).
  for (const net of ['2-16-16-1', '2-32-32-1']) {
    t.match(lines.find((l) => l.startsWith(`QNET-BENCH ${net} `)) ?? '', /median_ns [1-9]\d* p99_ns \d+ .* txn_median_ns [1-9]/, `in-kernel bench of ${net} reported`);
  }
  t.ok(lines.some((l) => l.startsWith('run-all: PASS:')), 'harness verdict is PASS');
  if (code !== 0 || fails.length) t.comment(lines.filter((l) => !l.startsWith('dmesg: ')).slice(-150).join('\n'));
});

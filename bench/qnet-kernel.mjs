// In-kernel inference speed: boots the qemu guest (TCG) with guest scenario 7, whose `bench_evals` times
// 100,000 evaluations of the accepted integer network (2-16-16-1, then 2-32-32-1) in the kernel and reads the
// median of the module's recommendation transactions over FUSE timed in the same boot; reports both and
// their ratio. Usage: node bench/qnet-kernel.mjs [--out FILE] [--log CONSOLE_LOG (parse a kept log instead)]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, machine, progress, report, run, table, ROOT } from './lib.mjs';

const EVAL_GOAL_NS = 2000; // 2-16-16-1 under TCG
const RATIO_GOAL = 20;

function consoleLog() {
  const i = process.argv.indexOf('--log');
  if (i >= 0) return readFileSync(process.argv[i + 1], 'utf8');
  const dir = mkdtempSync(join(tmpdir(), 'qnet-kernel-'));
  try {
    const keep = join(dir, 'console.log');
    progress('booting the guest with scenario 7 (several minutes under TCG)');
    const r = spawnSync(join(ROOT, 'mount-scripts/qemu/run-all.sh'), ['7'], {
      env: { ...process.env, MLP_KEEP_LOG: keep },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 900_000,
    });
    if (r.status !== 0) throw new Error(`run-all.sh 7 failed:\n${(r.stdout + r.stderr).split('\n').slice(-30).join('\n')}`);
    return readFileSync(keep, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `QNET-BENCH <name> net … key value …` lines scenario 7 prints. */
function parse(log) {
  return [...log.replace(/\r/g, '').matchAll(/^QNET-BENCH (\S+) (.*)$/gm)].map((m) => {
    const words = m[2].trim().split(/\s+/);
    const kv = {};
    for (let i = 0; i + 1 < words.length; i += 2) kv[words[i]] = words[i] === 'net' ? words[i + 1] : Number(words[i + 1]);
    return kv;
  });
}

run(async () => {
  const rows = parse(consoleLog());
  if (!rows.length) throw new Error('no QNET-BENCH lines in the console log');
  const small = rows.find((r) => r.net === '2-16-16-1');
  const ratio = (r) => r.txn_median_ns / r.median_ns;
  const section = `One in-kernel evaluation of the accepted integer network (\`ml_model_eval()\`, called from a process
context by the module's \`bench_evals\` parameter) against one recommendation transaction over FUSE (the
module's own 11-query \`recommendation\` transaction, timed by its I/O thread in the same boot), in the qemu
guest under TCG (guest scenario 7). Evaluation times include one \`ktime_get_ns()\` pair ("clock", its
median alone); the transaction median is over the last (up to 32) I/O rounds. TCG emulates every
instruction, and the transactions wake the mlproxy server in the guest, so both numbers are far above
native ones; the ratio is the point.

${table(
  ['network', 'evaluations', 'median ns', 'p99 ns', 'clock ns', 'transactions timed', 'transaction median', 'ratio'],
  rows.map((r) => [
    r.net,
    r.evals.toLocaleString('en-US'),
    fmt(r.median_ns),
    fmt(r.p99_ns),
    fmt(r.clock_ns),
    r.txn_samples,
    `${fmt(r.txn_median_ns / 1e6)} ms`,
    `${fmt(ratio(r))}×`,
  ]),
)}`;
  report('qnet-kernel', {
    title: 'In-kernel inference: one evaluation vs one FUSE transaction (qemu TCG)',
    section,
    goals: [
      {
        metric: '2-16-16-1 evaluation under TCG, median',
        goal: `< ${EVAL_GOAL_NS} ns`,
        measured: small ? `${fmt(small.median_ns)} ns` : 'n/a',
        met: !!small && small.median_ns < EVAL_GOAL_NS,
      },
      {
        metric: 'evaluation vs FUSE recommendation transaction, 2-16-16-1',
        goal: `≥ ${RATIO_GOAL}× faster`,
        measured: small ? `${fmt(ratio(small))}×` : 'n/a',
        met: !!small && ratio(small) >= RATIO_GOAL,
      },
    ],
    data: { machine: machine(), rows },
  });
});

// The readahead bench's workload on the host: mount-scripts/qemu/guest/ra-work.c built with gcc and run on two small
// files of random bytes, and the plan helpers it is driven with (guest/ra-plan.sh, sourced by dash as busybox sh
// would). Checks that every phase prints its line, that a phase's @KB window is written to the read_ahead_kb path
// before the phase (a plain file stands in for sysfs here), that a window without that path or a bad phase stops the
// run with exit 2 before any work, and that the per-phase oracle's windows are read back from RUN lines. No qemu.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/server.js';

const GUEST = join(ROOT, 'mount-scripts/qemu/guest');

// set up before the first subtest (no mount here, so synchronous calls are safe)
const dir = mkdtempSync(join(tmpdir(), 'mlp-ra-work-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, 'ra-work');
const build = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, join(GUEST, 'ra-work.c'), '-lpthread'], {
  encoding: 'utf8',
});
t.equal(build.status, 0, `ra-work builds with -Werror${build.stderr ? `: ${build.stderr}` : ''}`);
writeFileSync(join(dir, 'f1'), randomBytes(4 << 20));
writeFileSync(join(dir, 'f2'), randomBytes(4 << 20));
const raKb = join(dir, 'read_ahead_kb');

function work(plan: string, env: Record<string, string> = {}) {
  const r = spawnSync(bin, [dir, '7', plan], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH, ...env } });
  return { status: r.status, lines: r.stdout.trim().split('\n').filter(Boolean), stderr: r.stderr };
}

function sh(script: string) {
  const r = spawnSync('sh', ['-c', `. ${join(GUEST, 'ra-plan.sh')}; ${script}`], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, out: r.stdout.trim(), stderr: r.stderr };
}

t.test('every phase of a plan prints its line, then the total', async (t) => {
  const r = work('seq:2,mmap:20,runs:3,mix:1:5,rstride:10:64');
  t.equal(r.status, 0);
  t.same(
    r.lines.map((l) => /kind=(\w+)/.exec(l)?.[1] ?? (l.startsWith('RAW total') ? 'total' : l)),
    ['seq', 'mmap', 'runs', 'mix', 'rstride', 'total'],
  );
  t.match(r.lines[3], /^RAW phase=3 kind=mix ms=[\d.]+ lookup_ms=[\d.]+$/);
});

t.test("a phase's @KB is written to RA_WORK_RA_KB before the phase runs", async (t) => {
  await writeFile(raKb, '128\n');
  const r = work('mmap:10@512,seq:1,runs:2@2048', { RA_WORK_RA_KB: raKb });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.lines.length, 4, 'three phases and the total');
  t.equal((await readFile(raKb, 'utf8')).trim(), '2048', 'the last window set stays');
  await writeFile(raKb, '128\n');
  t.equal(work('mmap:10@16', { RA_WORK_RA_KB: raKb }).status, 0);
  t.equal((await readFile(raKb, 'utf8')).trim(), '16');
});

t.test('a window without a path, a bad window or a bad phase stops the run before any work', async (t) => {
  const noPath = work('mmap:10@512');
  t.equal(noPath.status, 2);
  t.match(noPath.stderr, /@KB needs RA_WORK_RA_KB and KB > 0/);
  t.same(noPath.lines, [], 'no phase ran');
  const zero = work('mmap:10@0', { RA_WORK_RA_KB: raKb });
  t.equal(zero.status, 2);
  const unwritable = work('mmap:10@512', { RA_WORK_RA_KB: join(dir, 'no-such-dir', 'read_ahead_kb') });
  t.equal(unwritable.status, 1, 'a path that cannot be written fails the run');
  t.match(unwritable.stderr, /no-such-dir/);
  const bad = work('nope:3');
  t.equal(bad.status, 2);
  t.match(bad.stderr, /unknown phase kind "nope"/);
  await writeFile(raKb, '128\n');
  const unparsed = work('mmap@512', { RA_WORK_RA_KB: raKb });
  t.equal(unparsed.status, 2);
  t.match(unparsed.stderr, /bad phase "mmap"/);
  t.equal((await readFile(raKb, 'utf8')).trim(), '128', "a phase that does not parse leaves the device's window");
});

t.test('with_windows appends one window per phase and refuses a count that does not fit', async (t) => {
  const ok = sh('with_windows "$(plan_lookup)" 512,2048,2048,512,2048,2048');
  t.equal(ok.status, 0);
  t.equal(ok.out, 'mmap:300@512,seq:12@2048,runs:30@2048,mmap:300@512,mix:8:40@2048,runs:30@2048');
  const scaled = sh('SCALE=2; with_windows "$(plan_scan)" 1,2,3,4,5,6');
  t.equal(scaled.out, 'seq:96@1,mmap:120@2,seq:96@3,runs:60@4,seq:96@5,mix:32:80@6');
  const short = sh('with_windows "$(plan_lookup)" 512,2048');
  t.equal(short.status, 1);
  t.match(short.stderr, /with_windows: 6 phases, 2 windows/);
});

t.test("oracle_windows reads each phase's best fixed window from RUN lines", async (t) => {
  const runs = join(dir, 'runs');
  const line = (v: string, phase: number, kind: string, ms: number) =>
    `RUN rep=1 work=lookup variant=${v} mode=? seed=10 phase=${phase} kind=${kind} ms=${ms}`;
  await writeFile(
    runs,
    [
      line('def', 0, 'mmap', 1370),
      line('def', 1, 'mix', 500) + ' lookup_ms=100.0',
      'RUN rep=1 work=lookup variant=def mode=? seed=10 total ms=1870.0 sink=0',
      line('f16', 0, 'mmap', 1400),
      line('f16', 1, 'mix', 510) + ' lookup_ms=1.0',
      line('f512', 0, 'mmap', 1310),
      line('f512', 1, 'mix', 220) + ' lookup_ms=100.0',
      line('f2048', 0, 'mmap', 3510),
      line('f2048', 1, 'mix', 80) + ' lookup_ms=100.0',
      // not a fixed value: never the oracle's choice
      line('auto', 0, 'mmap', 900),
      line('sched', 1, 'mix', 10),
    ].join('\n') + '\n',
  );
  const r = sh(`oracle_windows ${runs}`);
  t.equal(r.status, 0);
  t.equal(r.out, '512,2048', "the phase's time decides, not the lookup thread's; only def and fN count");
});

t.test('the schedule search helpers: one phase replaced, a median, the oracle by medians over seeds', async (t) => {
  t.equal(sh('window_at 512,512,2048,512 2 16').out, '512,512,16,512');
  t.equal(sh('window_at 512,512,2048,512 0 2048').out, '2048,512,2048,512');
  const outside = sh('window_at 512,512 2 16');
  t.not(outside.status, 0, 'a phase the schedule does not have is refused');
  t.match(outside.stderr, /window_at: no phase 2 in 2/);
  t.equal(sh("printf '3\\n1\\n2\\n10\\n' | median").out, '2.5');
  t.equal(sh("printf '30\\n1\\n2\\n' | median").out, '2');
  t.equal(sh('printf "" | median').out, '', 'no numbers, no median');
  const runs = join(dir, 'search-runs');
  const line = (v: string, seed: number, phase: number, ms: number) =>
    `RUN work=scan variant=${v} windows=x seed=${seed} phase=${phase} kind=seq ms=${ms}`;
  await writeFile(
    runs,
    [
      // phase 0: f16 has the single fastest run (seed 1010) but the slower median
      line('f16', 1010, 0, 50),
      line('f16', 1020, 0, 500),
      line('f16', 1030, 0, 500),
      line('def', 1010, 0, 100),
      line('def', 1020, 0, 110),
      line('def', 1030, 0, 90),
      line('f16', 1010, 1, 9),
      line('f16', 1020, 1, 9),
      line('def', 1010, 1, 10),
      line('def', 1020, 1, 12),
      'RUN work=scan variant=def windows=x seed=1010 total ms=110 sink=0',
      // a schedule the search ran is no fixed value
      line('search', 1010, 1, 1),
    ].join('\n') + '\n',
  );
  t.equal(sh(`oracle_windows ${runs}`).out, '128,16', 'by medians: the default for phase 0 (not the one fast run at 16), 16 for phase 1');
});

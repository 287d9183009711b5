// kmod host unit tests: the pure C parts of mlproxy_kmod (sample encoding, recommendation parsing and
// clamping, the synthetic subsystem) built as a host program by `make -C kmod hosttest`, and the readahead
// subsystem's arithmetic (`make -C kmod hosttest-ra`), and that the shared C divides 64-bit values only through
// linux/math64.h (`make -C kmod check-div64`, an i386 build); no qemu needed.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const kmod = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../kmod');

for (const target of ['hosttest', 'hosttest-ra']) t.test(`make -C kmod ${target} passes`, (t) => {
  const r = spawnSync('make', ['-s', '-C', kmod, target], { encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  t.equal(r.error, undefined, 'make and cc are runnable');
  t.equal(r.status, 0, 'host unit tests exit 0');
  const lines = out.split('\n');
  const passed = lines.filter((l) => /^ok \d+ /.test(l)).length;
  const failed = lines.filter((l) => /^not ok \d+ /.test(l));
  const plan = /^1\.\.(\d+)$/m.exec(out);
  t.ok(plan, 'the program printed a plan');
  t.equal(passed, Number(plan?.[1] ?? -1), 'every planned case passed');
  t.same(failed, [], 'no failing case');
  if (r.status !== 0) t.comment(out);
  t.end();
});

t.test('make -C kmod check-div64: no 64-bit division a 32-bit kernel cannot link', (t) => {
  const r = spawnSync('make', ['-s', '-C', kmod, 'check-div64'], { encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  t.equal(r.status, 0, 'the i386 build of the shared C calls no libgcc division');
  t.match(out, /check-div64: no 64-bit C division in /);
  t.notMatch(out, /divides a 64-bit operand/);
  if (r.status !== 0) t.comment(out);
  t.end();
});

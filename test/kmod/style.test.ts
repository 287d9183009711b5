// kmod/ passes the kernel's own checkpatch.pl with no error and no warning, as a patch to the kernel must.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server.js';

t.test('checkpatch.pl --file over every kmod/ source and header', async (t) => {
  const run = await promisify(execFile)(`${ROOT}kmod/checkpatch.sh`, [], { maxBuffer: 16 << 20 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  t.equal(run.code, 0, run.code === 0 ? 'no errors, no warnings' : run.out);
  t.match(run.out, /checkpatch: clean \(\d+ files; kernel-doc checked in \d+\)/);
});

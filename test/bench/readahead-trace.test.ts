// The readahead interval trace's reader (bench/readahead-trace.mjs) read back from a committed guest trace: the
// round 27 figures in readahead-rounds.md come out of it, so it must keep reading the trace as it did then.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server.js';

const execFileP = promisify(execFile);
const results = join(ROOT, 'bench/results');

t.test('the round 27 trace gives the round 27 tables', async (t) => {
  const { stdout } = await execFileP(process.execPath, [join(ROOT, 'bench/readahead-trace.mjs'), join(results, 'readahead-cloud-round27-trace.txt.gz')]);
  const committed = await readFile(join(results, 'readahead-trace-cloud-round27.md'), 'utf8');
  t.equal(stdout, committed, 'the output as committed');
  t.match(stdout, /\| seq @2048 → mix @\d+ \| \d+ \|/, 'a scan followed by the mix: every phase mark arrived');
});

t.test('a log without a trace is refused with a reason', async (t) => {
  const run = execFileP(process.execPath, [join(ROOT, 'bench/readahead-trace.mjs'), join(results, 'readahead-report-cloud-round20.md')]);
  await t.rejects(run, { code: 2, stderr: /no "iv" lines/ });
});

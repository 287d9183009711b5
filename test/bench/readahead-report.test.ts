// The readahead bench's report (bench/readahead-report.mjs) read back from committed guest logs: the figures the
// use-case page quotes come out of it, so it must keep reading the logs it read when they were written.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server.js';

const execFileP = promisify(execFile);
const results = join(ROOT, 'bench/results');

t.test('round 20 logs give round 20 reports', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlp-ra-report-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const dev of ['hdd', 'cloud']) {
    const out = join(dir, `${dev}.md`);
    await execFileP(process.execPath, [
      join(ROOT, 'bench/readahead-report.mjs'),
      `${dev}=${join(results, `readahead-${dev}-round20.txt`)}`,
      '--svg-dir',
      join(dir, 'svg'),
      '--tag',
      'check',
      '--out',
      out,
    ]);
    const report = await readFile(out, 'utf8');
    const committed = await readFile(join(results, `readahead-report-${dev}-round20.md`), 'utf8');
    const table = (text: string) => text.split('\n').slice(0, 4).join('\n');
    t.equal(table(report), table(committed), `${dev}: the summary table as committed`);
    const saving = (text: string) => text.split('\n').filter((l) => l.startsWith('Saving kept by mlproxy auto'));
    t.same(saving(report), saving(committed), `${dev}: the shares of the oracle's saving as committed`);
    t.match(
      report,
      `Learning curve: [readahead-learning-${dev}-check.svg](svg/readahead-learning-${dev}-check.svg)`,
      `${dev}: the curve linked beside the report`,
    );
  }
  t.same(
    (await readdir(join(dir, 'svg'))).sort(),
    ['readahead-learning-cloud-check.svg', 'readahead-learning-hdd-check.svg'],
    'one curve per device, named by the tag',
  );
  const svg = await readFile(join(dir, 'svg/readahead-learning-cloud-check.svg'), 'utf8');
  t.match(svg, /^<svg [^>]*>[\s\S]*<\/svg>\s*$/, 'the curve is an SVG document');
});

t.test("a search log's report names the schedule found and the shares of the oracle's saving", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlp-ra-report-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'cloud.md');
  await execFileP(process.execPath, [join(ROOT, 'bench/readahead-report.mjs'), `cloud=${join(results, 'readahead-cloud-round28-search.txt')}`, '--out', out]);
  const report = await readFile(out, 'utf8');
  t.equal(report, await readFile(join(results, 'readahead-report-cloud-round28-search.md'), 'utf8'), 'the report as committed');
  t.match(report, /\| best schedule found \(16,16,16,16,16,16\) \| 1\.21 \|/, 'the schedule found, timed afresh');
  t.match(report, /the best schedule found by the search \(16,16,16,16,16,16, 68 schedules evaluated\) \d+%/);
  t.notMatch(report, /Saving kept by mlproxy auto/, 'no auto runs in a search log, so no share for them');
});

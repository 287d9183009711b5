// The FUSE request threads run above the server's own priority: which threads are raised (the mount's, and
// the workers libfuse starts later, not the JavaScript thread or libuv's pool), the flag that sets how far,
// and what happens when raising is refused.
import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { raiseThreads } from '../../src/fs/fuse-threads.js';
import { startServer, ROOT } from '../helpers/server.js';

/** Each thread of `pid` with its nice value (/proc/PID/task/TID/stat, field 19). */
async function threadNices(pid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    if (stat) out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

const errno = (code: string) => Object.assign(new Error(`setpriority: ${code}`), { code });

t.test('raiseThreads: how far, and refusals', async (t) => {
  const calls: [number, number][] = [];
  const record = (tid: number, nice: number) => void calls.push([tid, nice]);
  t.same(raiseThreads([11, 12], 10, 0, record), { nice: -10, threads: 2 });
  t.same(calls, [
    [11, -10],
    [12, -10],
  ]);
  t.same(
    raiseThreads([11], 39, 5, () => {}),
    { nice: -20, threads: 1 },
    'never past -20',
  );
  calls.length = 0;
  t.same(raiseThreads([11], 0, 0, record), { nice: 0, threads: 0 }, 'a boost of 0 touches nothing');
  t.same(calls, []);
  const refused = raiseThreads([11, 12], 10, 0, () => {
    throw errno('EACCES');
  });
  t.equal(refused.nice, 0, 'refused: the threads keep the server priority');
  t.equal(refused.threads, 0);
  t.match(refused.error, /^EACCES/);
  const gone = raiseThreads([11, 12], 10, 0, (tid) => {
    if (tid === 11) throw errno('ESRCH');
  });
  t.same(gone, { nice: -10, threads: 1 }, 'a worker that exited meanwhile is skipped');
});

t.test('a server raises its FUSE threads, and the workers started later inherit it', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const pid = s.proc.pid as number;
  t.match(await s.log(), /"message":"serving".*"fuseThreadNice":-10/, 'the serving line says where they run');
  await s.sh('mkdir models/m && printf "inputs=2\\noutputs=1\\n" > models/m/config && echo commit > models/m/control');
  const atMount = await threadNices(pid);
  t.equal(atMount.get(pid), 0, 'the JavaScript thread keeps its priority');
  const raised = [...atMount.values()].filter((n) => n === -10).length;
  t.ok(raised >= 1, `the mount's threads run at -10 (${raised})`);
  t.ok([...atMount.values()].filter((n) => n === 0).length >= 5, "the JavaScript thread and libuv's pool stay at 0");
  // 16 writers at once, each 64 KiB writes: each write holds a worker until it is decoded, so libfuse starts more.
  const data = join(s.dir, 'rows');
  await writeFile(data, '1 2 3\n'.repeat(50_000));
  const flood = await s.sh(`for i in $(seq 16); do (for j in 1 2 3; do cat ${data} > models/m/dataset || exit 1; done) & done; wait`);
  t.equal(flood.code, 0, flood.stderr);
  const after = await threadNices(pid);
  const born = [...after].filter(([tid]) => !atMount.has(tid));
  t.ok(born.length >= 1, `the flood started more workers (${born.length})`);
  t.same(
    born.filter(([, nice]) => nice !== -10),
    [],
    'every one of them at -10',
  );
});

t.test('--fuse-nice-boost 0 leaves every thread alone', async (t) => {
  const s = await startServer({ args: ['--fuse-nice-boost', '0'] });
  t.teardown(() => s.stop());
  t.match(await s.log(), /"fuseThreadNice":0/);
  const nices = await threadNices(s.proc.pid as number);
  t.same(
    [...nices.values()].filter((n) => n !== 0),
    [],
    'all at the server priority',
  );
});

t.test('--fuse-nice-boost takes a whole number from 0 to 39', async (t) => {
  for (const bad of ['40', '-1', '1e1', ' 5', '0x5', '', '2.5']) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/mlproxy.js'), 'serve', '--mountpoint', '/nonexistent/never', `--fuse-nice-boost=${bad}`], {
      encoding: 'utf8',
    });
    t.equal(r.status, 2, `"${bad}": usage error`);
    t.match(r.stderr, /--fuse-nice-boost must be a whole number from 0 to 39/);
  }
});

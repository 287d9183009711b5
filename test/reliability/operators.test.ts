// Operators' habits, with the real tools: GNU `tail -f` follows a model's events file (also once its ring
// has wrapped), mlproxy-umount says what it did, and the README's "Using it" transcript runs as written.
import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, waitFor, sh, ROOT, isMounted as mounted, testDir } from '../helpers/server.js';
import { LIMITS } from '../../src/limits.js';

const execFileP = promisify(execFile);

t.test('tail -f models/NAME/events shows each new line once, also after the ring wraps', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m');
  const tail = spawn('tail', ['-f', '-s', '0.2', `${s.mnt}/models/m/events`]);
  let seen = '';
  tail.stdout.on('data', (d) => (seen += d));
  t.teardown(() => tail.kill('SIGKILL'));
  await waitFor(async () => / created state=created/.test(seen), 10000, 'tail to print the existing lines');
  await s.sh('echo init > models/m/control');
  await waitFor(async () => /verb init ok/.test(seen), 10000, 'tail to follow a new line');
  const size = Number((await s.sh('stat -c %s models/m/events')).stdout);
  t.equal(size, Buffer.byteLength((await s.sh('cat models/m/events')).stdout), 'st_size is the bytes a reader gets');
  // More lines than the ring keeps, then one to look for.
  const n = LIMITS.eventsRetained.value + 50;
  await s.sh(`i=0; while [ $i -lt ${n} ]; do echo "junk$i" > models/m/config 2>/dev/null; i=$((i+1)); done; echo start > models/m/control`);
  await waitFor(async () => /verb start ok/.test(seen), 20000, 'tail to follow past the ring wrapping');
  t.equal(seen.match(/verb init ok/g)?.length, 1, 'no line is shown twice');
  t.equal(seen.match(/config: "junk\d+" is not key=value/g)?.length, n, 'every line recorded while tail followed was shown');
  t.ok(Number((await s.sh('stat -c %s models/m/events')).stdout) > size, 'the size only grows');
});

t.test('mlproxy-umount says what it did', async (t) => {
  const dir = await testDir(t, 'mlproxy-ops-');
  const mnt = join(dir, 'mnt');
  const env = { ...process.env, MLPROXY_PID: join(dir, 'pid'), MLPROXY_LOG: join(dir, 'log') };
  const script = (name: string, ...args: string[]) =>
    execFileP(join(ROOT, 'mount-scripts', name), args, { env }).then((r) => r.stdout.trim().split('\n').at(-1));
  t.match(await script('mlproxy-mount', mnt, '--metrics-listen', '127.0.0.1:0'), /up: mlproxy .* pid \d+/);
  const pid = (await readFile(join(dir, 'pid'), 'utf8')).trim();
  t.equal(await script('mlproxy-umount', mnt), `mlproxy-umount: stopped pid ${pid}, unmounted ${mnt}`);
  t.notOk(await mounted(mnt));
  t.equal(await script('mlproxy-umount', mnt), `mlproxy-umount: no server running and nothing mounted at ${mnt}`);

  await script('mlproxy-mount', mnt, '--metrics-listen', '127.0.0.1:0');
  process.kill(Number(await readFile(join(dir, 'pid'), 'utf8')), 'SIGKILL');
  await waitFor(async () => (await sh(`cat ${mnt}/version`, dir)).code !== 0, 10000, 'the mount to die');
  t.equal(await script('mlproxy-umount', mnt), `mlproxy-umount: no server running; cleared the dead mount at ${mnt}`);
  t.notOk(await mounted(mnt));
});

t.test("the README's transcript runs as written", async (t) => {
  const dir = await testDir(t, 'mlproxy-ops-');
  const mnt = join(dir, 'mnt');
  const bin = join(dir, 'bin');
  // What mount-scripts/setup.sh does, into a private directory instead of /usr/local/bin.
  await execFileP(join(ROOT, 'mount-scripts/install-command.sh'), [bin]);
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /## Using it\n\n```console\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const lines = block
    .split('\n')
    .filter((l) => l.startsWith('# '))
    .map((l) => l.slice(2));
  t.ok(lines.length >= 6, `${lines.length} commands in the transcript`);
  // Two substitutions only: a temporary mountpoint, and a free metrics port. After a command that starts
  // the server in the background a person waits for it to answer before typing the next one.
  const script = lines
    .map((l) =>
      l.replaceAll('/mnt/mlproxy', mnt).replace(/^(mlproxy serve .*?)\s*&/, '$1 --metrics-listen 127.0.0.1:0 --log-file $LOGS/server.log & server=$!'),
    )
    .flatMap((l) => (/& server=\$!/.test(l) ? [l, `while ! cat ${mnt}/version >/dev/null 2>&1; do sleep 0.1; done`] : [l]))
    .join('\n');
  const result = await new Promise<{ code: number; out: string }>((resolve) => {
    const child = spawn('sh', ['-c', `set -e\n${script}\ncd /\nkill $server; wait $server`], {
      cwd: dir,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, LOGS: dir },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
  t.equal(result.code, 0, `the transcript ran:\n${result.out}`);
  t.match(result.out, /^-?\d+(\.\d+)?\n/m, 'the recommendation answered with a number');
  t.match(result.out, /samples_buffered 300\n/, 'all 300 samples are in the buffer');
  t.match(result.out, /verb start ok state initialized -> started/, 'events show the verbs');
  t.notOk(await mounted(mnt), 'the server unmounted when stopped');
});

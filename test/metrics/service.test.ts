// mount-scripts/mlproxy.service, fstab.example and mount.fuse.mlproxy: the unit passes systemd-analyze verify, its
// commands (run as systemd would, with its variable expansion) serve, wait for readiness and clear a crashed mount,
// and the fstab entry's options mount and unmount through the helper.
import t from 'tap';
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, waitFor } from '../helpers/server.js';

const execFileP = promisify(execFile);
const UNIT = join(ROOT, 'mount-scripts/mlproxy.service');
const INSTALLED_AT = '/opt/mlproxy';

async function has(cmd: string): Promise<boolean> {
  return execFileP('sh', ['-c', `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}

async function mounted(mnt: string): Promise<boolean> {
  return (await readFile('/proc/mounts', 'utf8')).split('\n').some((l) => l.split(' ')[1] === mnt);
}

async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, ms = 30000) {
  return execFileP(cmd, args, { env, timeout: ms }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );
}

/** The unit's [Service] settings; repeated keys (Environment=) keep every value. */
function serviceSection(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) section = sec[1];
    else if (section === 'Service') {
      const i = line.indexOf('=');
      const key = line.slice(0, i);
      out.set(key, [...(out.get(key) ?? []), line.slice(i + 1)]);
    }
  }
  return out;
}

/** Split a systemd command line into words (quotes as systemd reads them), then expand variables as it does. */
function commandLine(line: string, env: Record<string, string>): { argv: string[]; ignoreFailure: boolean } {
  let rest = line;
  let ignoreFailure = false;
  while (/^[-@+!:]/.test(rest)) {
    if (rest[0] === '-') ignoreFailure = true;
    rest = rest.slice(1);
  }
  const words: { text: string; quoted: boolean }[] = [];
  for (const m of rest.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    words.push(m[3] !== undefined ? { text: m[3], quoted: false } : { text: m[1] ?? m[2].replace(/\\(.)/g, '$1'), quoted: true });
  }
  const expand = (s: string) => s.replace(/\$\$|\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)/g, (all, a, b) => (all === '$$' ? '$' : (env[a ?? b] ?? '')));
  const argv: string[] = [];
  for (const w of words) {
    const lone = /^\$([A-Za-z_]\w*)$/.exec(w.text);
    // An unbraced $VAR standing alone is split into words (and vanishes when empty); anything else is one word.
    if (lone && !w.quoted) argv.push(...(env[lone[1]] ?? '').split(/\s+/).filter(Boolean));
    else argv.push(expand(w.text));
  }
  return { argv, ignoreFailure };
}

t.test('the unit file', async (t) => {
  const text = await readFile(UNIT, 'utf8');
  const svc = serviceSection(text);
  t.same(svc.get('Type'), ['simple']);
  t.same(svc.get('Restart'), ['on-failure']);
  t.same(svc.get('KillSignal'), ['SIGTERM']);
  t.match(svc.get('ExecStopPost')?.[0], /fusermount -uz/, 'ExecStopPost clears the mount');
  t.ok(svc.get('ExecStartPost'), 'ExecStartPost waits for readiness');
});

const analyze = await has('systemd-analyze');
t.test('systemd-analyze verify', { skip: analyze ? false : 'systemd-analyze is not installed (Debian package systemd)' }, async (t) => {
  const text = await readFile(UNIT, 'utf8');
  // verify checks that ExecStart's program exists: point the unit at this checkout instead of /opt/mlproxy.
  const dir = await mkdtemp(join(tmpdir(), 'mlproxy-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'mlproxy.service'), text.replaceAll(INSTALLED_AT, ROOT));
  const r = await run('systemd-analyze', ['verify', join(dir, 'mlproxy.service')]);
  t.equal(r.code, 0, 'systemd-analyze verify passes');
  t.equal(r.out, '', 'without a warning');
});

t.test("the unit's commands: ready when mounted, clean after a crash and after a stop", async (t) => {
  const svc = serviceSection((await readFile(UNIT, 'utf8')).replaceAll(INSTALLED_AT, ROOT));
  const dir = await mkdtemp(join(tmpdir(), 'mlproxy-unit-'));
  const mnt = join(dir, 'mnt');
  // Environment= lines, then what /etc/default/mlproxy would say for this test.
  const env: Record<string, string> = {};
  for (const e of svc.get('Environment') ?? []) {
    for (const m of e.matchAll(/(\w+)=(\S*)/g)) env[m[1]] = m[2];
  }
  t.ok(env.MLPROXY_MOUNTPOINT, 'the unit names its mountpoint in Environment=');
  Object.assign(env, { MLPROXY_MOUNTPOINT: mnt, MLPROXY_METRICS_LISTEN: '127.0.0.1:0', MLPROXY_OPTS: `--log-file ${join(dir, 'log')}` });
  const exec = (key: string) => commandLine((svc.get(key) ?? [])[0], env);
  const procEnv = { ...process.env, PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

  let main: ChildProcess | undefined;
  t.teardown(async () => {
    main?.kill('SIGKILL');
    if (await mounted(mnt)) execFileSync('fusermount', ['-uz', mnt]);
    await rm(dir, { recursive: true, force: true });
  });
  const start = async () => {
    const { argv } = exec('ExecStart');
    const child = spawn(argv[0], argv.slice(1), { env: procEnv, stdio: 'ignore' });
    main = child;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const post = exec('ExecStartPost');
    const ready = await run(post.argv[0], post.argv.slice(1), procEnv, Number(svc.get('TimeoutStartSec')?.[0] ?? 90) * 1000);
    return { child, exited, ready };
  };
  const stopPost = async () => {
    const { argv } = exec('ExecStopPost');
    return run(argv[0], argv.slice(1), procEnv);
  };

  // Start: ExecStartPost returns once the mount answers.
  let svcRun = await start();
  t.equal(svcRun.ready.code, 0, 'ExecStartPost succeeds');
  t.match(await readFile(join(mnt, 'version'), 'utf8'), /^mlproxy \S+ abi \d+\n$/, 'the mount answers when the start completes');

  // A crash: the mount is dead (ENOTCONN) until ExecStopPost runs.
  svcRun.child.kill('SIGKILL');
  await svcRun.exited;
  t.ok(await mounted(mnt), 'a killed server leaves its mount behind');
  await t.rejects(access(join(mnt, 'version')), { code: 'ENOTCONN' }, 'and it answers ENOTCONN');
  t.equal((await stopPost()).code, 0, 'ExecStopPost succeeds');
  t.notOk(await mounted(mnt), 'ExecStopPost cleared the dead mount');

  // Restart=on-failure, then a clean stop with KillSignal: exit 0 (no restart), nothing left mounted.
  svcRun = await start();
  t.equal(svcRun.ready.code, 0, 'the restart is ready too');
  svcRun.child.kill((svc.get('KillSignal') ?? ['SIGTERM'])[0] as NodeJS.Signals);
  t.equal(await svcRun.exited, 0, 'KillSignal stops the server with status 0, which Restart=on-failure leaves stopped');
  t.notOk(await mounted(mnt), 'the server unmounted itself');
  t.equal((await stopPost()).code, 0, 'ExecStopPost with nothing to clear succeeds');
});

t.test('fstab.example through the mount helper', async (t) => {
  const fstab = (await readFile(join(ROOT, 'mount-scripts/fstab.example'), 'utf8')).split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  t.equal(fstab.length, 1, 'one entry');
  const [source, target, type, options, dump, pass] = fstab[0].trim().split(/\s+/);
  t.same([source, target, type, dump, pass], ['mlproxy', '/mnt/mlproxy', 'fuse.mlproxy', '0', '0']);
  // mount(8) and umount(8) find the helper by these names; call them as they would, on a temp mountpoint.
  const dir = await mkdtemp(join(tmpdir(), 'mlproxy-fstab-'));
  if (await has('findmnt')) {
    // findmnt also checks that the target exists, which /mnt/mlproxy need not on a test machine: verify the
    // same entry with a target that does.
    const tab = join(dir, 'fstab');
    await writeFile(tab, fstab[0].replace('/mnt/mlproxy', dir) + '\n');
    const r = await run('findmnt', ['--verify', '--tab-file', tab]);
    t.match(r.out, /\b0 parse errors, 0 errors\b/, 'findmnt --verify parses it');
  }
  const mnt = join(dir, 'mnt');
  const pidfile = `/run/mlproxy${mnt.replace(/[^A-Za-z0-9_.]/g, '-')}.pid`;
  t.teardown(async () => {
    const pid = Number(await readFile(pidfile, 'utf8').catch(() => ''));
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (await mounted(mnt)) execFileSync('fusermount', ['-uz', mnt]);
    await rm(pidfile, { force: true });
    await rm(dir, { recursive: true, force: true });
  });
  for (const name of ['mount.fuse.mlproxy', 'umount.fuse.mlproxy']) await symlink(join(ROOT, 'mount-scripts/mount.fuse.mlproxy'), join(dir, name));
  const log = join(dir, 'log');
  const opts = `${options.replace(/metrics_listen=[^,]*/, 'metrics_listen=127.0.0.1:0')},log_file=${log},metrics_model_cap=8,fuse_nice_boost=3,fuse_parallel_writes=off`;
  const up = await run(join(dir, 'mount.fuse.mlproxy'), [source, mnt, '-o', opts]);
  t.equal(up.code, 0, 'the helper mounts');
  t.notMatch(up.out, /ignoring option/, 'it understands every option of the entry');
  t.match(await readFile(join(mnt, 'version'), 'utf8'), /^mlproxy /, 'and returns once the mount answers');
  t.ok(await mounted(mnt));
  const pid = Number(await readFile(pidfile, 'utf8'));
  t.ok(pid > 0, `the pid file is ${pidfile}`);
  const address = await waitFor(async () => /"message":"serving".*?"metrics":"([^"]+)"/.exec(await readFile(log, 'utf8'))?.[1], 5000, 'the serving line');
  const metrics = await (await fetch(`http://${address}/metrics`)).text();
  t.match(metrics, /^mlproxy_metrics_model_label_limit 8$/m, 'metrics_model_cap reached the server');
  t.match(await readFile(log, 'utf8'), /"message":"serving".*"fuseThreadNice":-3/, 'fuse_nice_boost too');
  t.match(await readFile(log, 'utf8'), /"message":"serving".*"parallelWrites":false/, 'and fuse_parallel_writes');

  const again = await run(join(dir, 'mount.fuse.mlproxy'), [source, mnt, '-o', opts]);
  t.equal(again.code, 0, 'mounting a served mountpoint again is a no-op');
  t.match(again.out, /already served/);

  const down = await run(join(dir, 'umount.fuse.mlproxy'), [mnt]);
  t.equal(down.code, 0, 'the umount helper stops it');
  t.notOk(await mounted(mnt), 'nothing is mounted');
  await waitFor(
    async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    10000,
    'the server to exit',
  );
  t.pass('the server exited');
});

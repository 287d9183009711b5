// Test helper: a real mlproxy server on a real FUSE mount in a temporary directory, driven with a real shell.
// Every exit path unmounts: the test's teardown, and a process exit hook for a test runner that dies early.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/mlproxy.js');

export interface Server {
  mnt: string;
  dir: string;
  proc: ChildProcess;
  /** The server's JSON-lines log plus anything it printed. */
  log: () => Promise<string>;
  metricsAddress: string | undefined;
  /** Run a shell command with the mount as working directory. */
  sh: (script: string, opts?: { user?: string; input?: string }) => Promise<ShResult>;
  stop: () => Promise<number | null>;
}

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

const live = new Set<Server>();
let started = 0;
process.on('exit', () => {
  for (const s of live) {
    try {
      s.proc.kill('SIGKILL');
    } catch {}
    try {
      execFileSync('fusermount', ['-uz', s.mnt], { stdio: 'ignore' });
    } catch {}
  }
});

export async function isMounted(mnt: string): Promise<boolean> {
  const table = await readFile('/proc/mounts', 'utf8');
  return table.split('\n').some((l) => l.split(' ')[1] === mnt);
}

/**
 * A directory of the test's own, readable by other users as startServer's is, removed when the test ends. Tap runs
 * teardowns last in, first out, so a server started in it afterwards has stopped by then; a mount still at its
 * `mnt` is lazily unmounted first all the same, so nothing is ever removed through a mount.
 */
export async function testDir(t: { teardown(fn: () => unknown): void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  t.teardown(async () => {
    const mnt = join(dir, 'mnt');
    if (await isMounted(mnt)) await execFileP('fusermount', ['-uz', mnt]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

export async function sh(script: string, cwd: string, opts: { user?: string; input?: string } = {}): Promise<ShResult> {
  const args = opts.user ? ['runuser', '-u', opts.user, '--', 'sh', '-c', script] : ['sh', '-c', script];
  return new Promise((resolve) => {
    const child = spawn(args[0], args.slice(1), { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => {}); // the script may exit without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

export async function startServer(opts: { env?: Record<string, string>; args?: string[]; mnt?: string; dir?: string } = {}): Promise<Server> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'mlproxy-test-')));
  await chmod(dir, 0o755); // so tests can act as another user below it
  const mnt = opts.mnt ?? join(dir, 'mnt');
  const logFile = join(dir, `server-${++started}.log`);
  const proc = spawn(process.execPath, [BIN, 'serve', '--mountpoint', mnt, '--metrics-listen', '127.0.0.1:0', '--log-file', logFile, ...(opts.args ?? [])], {
    env: { ...process.env, MLPROXY_TEST_FAULTS: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (d) => (output += d));
  proc.stderr?.on('data', (d) => (output += d));
  const readLog = async () => (await readFile(logFile, 'utf8').catch(() => '')) + output;
  let exited: number | null | undefined;
  const exitPromise = new Promise<number | null>((resolve) => proc.on('exit', (code) => ((exited = code), resolve(code))));

  const server: Server = {
    mnt,
    dir,
    proc,
    log: readLog,
    metricsAddress: undefined,
    sh: (script, o) => sh(script, mnt, o),
    async stop() {
      if (exited === undefined) proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exitPromise, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 10000)))]);
      clearTimeout(timer);
      if (code === 'timeout') proc.kill('SIGKILL');
      if (await isMounted(mnt)) await execFileP('fusermount', ['-uz', mnt]).catch(() => {});
      live.delete(server);
      if (!opts.dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
      return code === 'timeout' ? null : code;
    },
  };
  live.add(server);
  const deadline = Date.now() + 20000;
  for (;;) {
    const log = await readLog();
    const m = /"message":"serving".*?"metrics":"([^"]+)"/.exec(log);
    if (m && (await isMounted(mnt))) {
      server.metricsAddress = m[1] === 'off' ? undefined : m[1];
      return server;
    }
    if (exited !== undefined || Date.now() > deadline) {
      await server.stop();
      throw new Error(`server did not come up (exit ${exited}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Poll `check` until it returns a truthy value or `ms` pass. */
export async function waitFor<T>(check: () => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Parse a stats file into numbers (and strings where not numeric). */
export function parseStats(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.trim().split('\n')) {
    const [k, v] = line.split(' ');
    out[k] = v;
  }
  return out;
}

const IO = join(ROOT, 'test/helpers/io.mjs');

/** One file operation in a separate process, reporting the exact errno: "ok <output>" or "err <CODE>". */
export async function io(op: 'write' | 'read' | 'txn' | 'mkdir' | 'rmdir', path: string, data = '', user?: string): Promise<string> {
  const args = [IO, op, path, data];
  const cmd = user ? ['runuser', '-u', user, '--', process.execPath, ...args] : [process.execPath, ...args];
  const { stdout } = await execFileP(cmd[0], cmd.slice(1)).catch((e) => e as { stdout: string });
  return stdout.trim();
}

// Runs a qemu guest harness script (mount-scripts/qemu/*.sh) for a test: in its own process group, so every
// exit path (the test's end, a signal to tap, the time limit) takes the harness and its qemu down with it;
// and one guest at a time, so that two TCG guests never share the machine's CPUs with each other.
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './server.js';

const TURN_FILE = join(tmpdir(), 'mlproxy-guest-turn.pid');
/** The longest another guest test may hold the turn (its own limit): add it to a guest test's timeout. */
export const GUEST_TURN_WAIT_MS = 600_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Wait for this process's turn to run a guest (tap runs test files in parallel): two guests at once on a
 * 2-CPU machine took twice as long and failed timing checks (seen in CI). A turn left by a dead process is over.
 * Returns the release.
 */
async function takeGuestTurn(): Promise<() => void> {
  for (;;) {
    try {
      await writeFile(TURN_FILE, String(process.pid), { flag: 'wx' });
      return () => rmSync(TURN_FILE, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(await readFile(TURN_FILE, 'utf8').catch(() => '0'));
    if (!holder || !alive(holder)) await rm(TURN_FILE, { force: true });
    else await sleep(1000);
  }
}

/** Run `script` (relative to the checkout) with `args`; resolves with its exit code and output lines. */
export async function runGuestScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  limitMs: number,
): Promise<{ code: number | null; lines: string[] }> {
  const release = await takeGuestTurn();
  try {
    return await runTurn(script, args, env, limitMs);
  } finally {
    release();
  }
}

async function runTurn(script: string, args: string[], env: Record<string, string>, limitMs: number): Promise<{ code: number | null; lines: string[] }> {
  const child = spawn(`${ROOT}${script}`, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);
  const onSignal = () => {
    killGroup('SIGTERM');
    process.exit(1);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => killGroup('SIGTERM'), limitMs);
  const code: number | null = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  process.off('exit', onExit);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return { code, lines: out.replace(/\r/g, '').split('\n') };
}

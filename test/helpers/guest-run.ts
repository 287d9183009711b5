// Runs a qemu guest harness script (mount-scripts/qemu/*.sh) for a test: in its own process group, so every
// exit path (the test's end, a signal to tap, the time limit) takes the harness and its qemu down with it.
import { spawn } from 'node:child_process';
import { ROOT } from './server.js';

/** Run `script` (relative to the checkout) with `args`; resolves with its exit code and output lines. */
export async function runGuestScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  limitMs: number,
): Promise<{ code: number | null; lines: string[] }> {
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

// Owns how a serving process ends on a signal: the first SIGTERM/SIGINT stops cleanly (unmount, finish or
// refuse in-flight batches, flush every model to --state-dir, exit 0), bounded by SHUTDOWN_BOUND_MS; a
// second signal, or the bound passing, forces it (lazy unmount, exit 1). docs/reliability.md has the promise.
import { execFile } from 'node:child_process';
import type { RunningServer } from './serve.js';

/** The longest a clean stop may take before the process forces its own exit. */
export const SHUTDOWN_BOUND_MS = 10_000;
/** Exit status of a forced stop (second signal, or the bound passed). */
export const FORCED_EXIT_CODE = 1;

export function exitOnSignals(server: RunningServer, mountpoint: string, say: (line: string) => void): void {
  let stopping = false;
  const force = (why: string) => {
    say(`${why}: forcing exit, lazily unmounting ${mountpoint}`);
    // fusermount runs in its own process: this one must not touch the mount it serves.
    execFile('fusermount', ['-uz', mountpoint], () => process.exit(FORCED_EXIT_CODE));
    setTimeout(() => process.exit(FORCED_EXIT_CODE), 2000).unref();
  };
  const onSignal = (signal: string) => {
    if (stopping) return force(`second ${signal}`);
    stopping = true;
    say(`${signal}: unmounting ${mountpoint}; a second ${signal} forces it`);
    setTimeout(() => force(`clean stop took over ${SHUTDOWN_BOUND_MS} ms`), SHUTDOWN_BOUND_MS).unref();
    // Test only: hold the clean stop back, so the tests can reach the second signal and the bound.
    const delay = Number(process.env.MLPROXY_TEST_STOP_DELAY_MS ?? 0);
    setTimeout(() => {
      server.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }, delay);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

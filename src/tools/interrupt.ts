// Owns Ctrl-C for the offline tools: the first SIGINT/SIGTERM asks the running command to stop at a
// safe point (a whole batch, a removed temp file); a second one ends the process the default way.

export const INTERRUPTED_EXIT = 130;

/** Call `stop` on the first SIGINT or SIGTERM; the returned function removes the handlers. */
export function onInterrupt(stop: (signal: string) => void): () => void {
  const handler = (signal: NodeJS.Signals) => {
    release();
    stop(signal);
  };
  const release = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return release;
}

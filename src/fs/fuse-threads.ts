// Owns the FUSE request threads' priority: the threads the binding starts while it mounts (libfuse's loop and
// its workers) run some nice levels above the JavaScript thread. Every request is carried by such a thread
// twice, once from the kernel to JavaScript and once back with the answer; on a busy CPU a waking thread of
// equal weight waits behind the JavaScript thread's dataset decoding, and the transaction with it. Workers
// that libfuse starts later are started by workers, so they inherit the priority (Linux passes a thread's
// nice value on to the threads it creates).
import { readdir } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';

/** Nice levels the FUSE threads run above the server's own thread unless told otherwise (--fuse-nice-boost). */
export const DEFAULT_FUSE_NICE_BOOST = 10;
/** The most a boost can be: from the weakest nice value (19) to the strongest (-20). */
export const MAX_FUSE_NICE_BOOST = 39;
const STRONGEST_NICE = -20;

/** What raising the FUSE threads did: their nice value now, how many there were, and why not, if it failed. */
export interface FuseThreadPriority {
  nice: number;
  threads: number;
  error?: string;
}

/** The process's threads (Linux task ids). */
export async function threadIds(): Promise<Set<number>> {
  return new Set((await readdir('/proc/self/task')).map(Number));
}

/**
 * Set `tids` to `boost` nice levels above `ownNice` (the calling thread's), at most to -20. Stops at the first
 * refusal: without CAP_SYS_NICE (or a RLIMIT_NICE that allows it) no thread can be raised, and the threads
 * then stay at the server's own priority, as they always did.
 */
export function raiseThreads(
  tids: Iterable<number>,
  boost: number,
  ownNice = getPriority(),
  set: (tid: number, nice: number) => void = setPriority,
): FuseThreadPriority {
  const nice = Math.max(STRONGEST_NICE, ownNice - boost);
  let threads = 0;
  if (nice === ownNice) return { nice, threads };
  for (const tid of tids) {
    try {
      set(tid, nice);
      threads++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A worker that exited between the listing and now is no refusal.
      if (code === 'ESRCH') continue;
      return { nice: ownNice, threads: 0, error: `${code ?? 'error'}: ${(err as Error).message}` };
    }
  }
  return { nice, threads };
}

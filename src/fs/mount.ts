// Owns the mount: fuse-native with the options mlproxy needs, clearing a dead mount left by a crashed
// server, refusing a live one, and unmounting.
import { execFile } from 'node:child_process';
import { readFile, stat, mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import Fuse from 'fuse-native';
import { raiseThreads, threadIds, type FuseThreadPriority } from './fuse-threads.js';
import { allowParallelDirectWrites } from './fuse-binding.js';
import { hotHandlers, type HotOps, type OnRequestTimeout } from './dispatch.js';

/** How the hot ops are answered when they go through dispatch.ts. */
export interface HotDispatch {
  /** Told of a request its op left unanswered for `timeoutMs` (the client got ETIMEDOUT). */
  onTimeout: OnRequestTimeout;
  /** Default dispatch.ts's REQUEST_TIMEOUT_MS (15 s). */
  timeoutMs?: number;
}

const run = promisify(execFile);

/**
 * Options fuse-native's whitelist cannot express, added in this one place:
 * - direct_io: every read reaches the server, so a file whose content changes is never served stale
 *   or cut at a cached size (the binding has no direct_io option and drops attrTimeout: 0);
 * - attr_timeout=0: stat results are never cached either;
 * - big_writes: a large write arrives in 128 KiB requests instead of 4 KiB ones.
 */
export const EXTRA_MOUNT_OPTIONS = ['direct_io', 'attr_timeout=0', 'big_writes'];

class MlproxyFuse extends Fuse {
  constructor(dir: string, ops: object, options: Record<string, unknown>, hot?: HotDispatch) {
    super(dir, ops, options);
    if (!hot) return;
    // The binding reads this array when it mounts.
    for (const [op, handler] of hotHandlers(ops as HotOps, hot.onTimeout, hot.timeoutMs)) this._handlers[op] = handler;
  }

  override _fuseOptions(): string {
    const base = super._fuseOptions();
    const extra = EXTRA_MOUNT_OPTIONS.join(',');
    return base ? `${base},${extra}` : `-o${extra}`;
  }
}

/** What /proc/mounts says is mounted at `dir`, if anything. */
export async function mountedAt(dir: string): Promise<{ fstype: string; source: string } | undefined> {
  const table = await readFile('/proc/mounts', 'utf8');
  for (const line of table.split('\n')) {
    const [source, target, fstype] = line.split(' ');
    if (target === dir.replace(/ /g, '\\040')) return { fstype, source };
  }
  return undefined;
}

async function fusermountLazy(dir: string): Promise<void> {
  await run('fusermount', ['-uz', dir]);
}

/**
 * Make `dir` ready to mount: create it, clear a dead FUSE mount ("Transport endpoint is not
 * connected"), and refuse when a live server answers there.
 */
export async function prepareMountpoint(dir: string, log: (msg: string) => void): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST' && err.code !== 'ENOTCONN') throw err;
  });
  const mounted = await mountedAt(dir);
  if (!mounted) return;
  try {
    await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTCONN') {
      log(`clearing dead ${mounted.fstype} mount at ${dir}`);
      await fusermountLazy(dir);
      return;
    }
    throw err;
  }
  const who = mounted.source === 'mlproxy' ? 'another live mlproxy server' : `a live ${mounted.fstype} mount (${mounted.source})`;
  throw new Error(`${dir} is already served by ${who}; stop it first (mlproxy-umount ${dir}) or choose another --mountpoint`);
}

export interface Mounted {
  dir: string;
  /** The priority the binding's request threads got (fuse-threads.ts). */
  fuseThreads: FuseThreadPriority;
  /** Whether the kernel was told it may run direct writes to one file side by side (false: the binding cannot). */
  parallelDirectWrites: boolean;
  unmount(): Promise<void>;
}

export interface MountOptions {
  /** Nice levels the threads the binding starts run above the calling thread (0 leaves them alike). */
  fuseNiceBoost: number;
  /**
   * Answer opens with FOPEN_PARALLEL_DIRECT_WRITES, so that the kernel holds a file's lock shared, not exclusive,
   * across a direct write inside the file's size: clients writing to one file (transactions on a model's
   * recommendation) no longer queue behind each other in the kernel. The server still takes each request whole and
   * in turn. Needs the fixed binding (fuse-binding.ts); kernels before 6.2 ignore the flag.
   */
  parallelDirectWrites: boolean;
  /**
   * Answer the hot ops (getattr, open, read, write, flush, release) through dispatch.ts, as mlproxy does; without it
   * fuse-native's own wrapper answers every op, as in any fuse-native server (the benchmarks' bare server).
   */
  hotDispatch?: HotDispatch;
}

const FUSE_OPTIONS = () => ({
  defaultPermissions: true,
  allowOther: process.getuid?.() === 0,
  fsname: 'mlproxy',
  subtype: 'mlproxy',
  // The binding answers ETIMEDOUT after 15 s by default (the ops dispatch.ts does not serve); our handlers answer from
  // memory, so it is only a backstop.
});

/**
 * Every mount's binding object, for the process's life: its native memory is the mount's, and libfuse's workers end
 * only after the unmount returns, still reading it (the fixed binding's spare locals, native/build-fuse-binding.mjs;
 * the binding's own async handle, which it never closes, stays on Node's loop).
 */
const everMounted: Fuse[] = [];

/** The -o string mount() mounts with, for the benchmarks' C baseline to mount with the same. */
export function mountOptionString(dir: string): string {
  return new MlproxyFuse(dir, {}, FUSE_OPTIONS())._fuseOptions();
}

/** Mount `ops` at `dir`. */
export async function mount(dir: string, ops: object, options: MountOptions): Promise<Mounted> {
  const fuse = new MlproxyFuse(dir, ops, FUSE_OPTIONS(), options.hotDispatch);
  // A setting of the binding's that its native mount reads: set just before, for this mount (this process makes its
  // mounts one at a time).
  const parallelDirectWrites = allowParallelDirectWrites(options.parallelDirectWrites);
  everMounted.push(fuse);
  // The binding's own first file-system call starts libuv's thread pool if nothing has yet; start it before the
  // threads are counted, so that only the threads the mount starts are new.
  await stat(dir);
  const before = await threadIds();
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  const born = [...(await threadIds())].filter((tid) => !before.has(tid));
  const fuseThreads = raiseThreads(born, options.fuseNiceBoost);
  let unmounted: Promise<void> | undefined;
  return {
    dir,
    fuseThreads,
    parallelDirectWrites,
    unmount() {
      unmounted ??= new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve())));
      return unmounted;
    },
  };
}

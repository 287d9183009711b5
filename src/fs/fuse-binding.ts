// Owns knowing which FUSE binding the server runs on, and what only our build of it can do: fuse-native's own
// prebuilt binding, or the build of it with our changes (native/build-fuse-binding.mjs), which keeps an exited libfuse
// worker's locals for the next worker instead of leaving a handle on Node's loop for every thread that ever served a
// request, can answer opens with the kernel's parallel direct writes flag, and counts the requests waiting for the
// JavaScript thread. Also hands out the op codes and answer functions both builds export, for src/fs/dispatch.ts.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** The fixed binding's counts: locals made (each a handle on the loop for good), and times a new worker reused some. */
export interface ThreadLocalCounts {
  made: number;
  reused: number;
}

interface FixedBinding {
  fuse_native_thread_locals?: () => [number, number];
  fuse_native_parallel_direct_writes?: (on?: boolean) => [number, number];
  fuse_native_requests_waiting?: (bulkWriteBytes?: number) => number;
}

/** The op codes and answer ("signal") functions of the ops src/fs/dispatch.ts serves, as every build exports them. */
export interface BindingSignals {
  op_getattr: number;
  op_open: number;
  op_read: number;
  op_write: number;
  op_flush: number;
  op_release: number;
  fuse_native_signal_getattr(slot: Buffer, code: number, stat: Uint32Array): void;
  fuse_native_signal_open(slot: Buffer, code: number, fd: number): void;
  fuse_native_signal_read(slot: Buffer, code: number, unused: number, memory: ArrayBufferLike): void;
  fuse_native_signal_write(slot: Buffer, code: number, unused: number, memory: ArrayBufferLike): void;
  fuse_native_signal_flush(slot: Buffer, code: number): void;
  fuse_native_signal_release(slot: Buffer, code: number): void;
}

const require = createRequire(import.meta.url);
let binding: (FixedBinding & BindingSignals) | undefined;

/** The binding fuse-native loads (node-gyp-build picks build/Release, where the fixed one goes, first). */
function loaded(): FixedBinding & BindingSignals {
  if (!binding) {
    const dir = dirname(require.resolve('fuse-native/package.json'));
    const load = require(require.resolve('node-gyp-build', { paths: [dir] })) as (dir: string) => FixedBinding & BindingSignals;
    binding = load(dir);
  }
  return binding;
}

/** The fixed binding's counts, or undefined when fuse-native runs its prebuilt binding (without the fix). */
export function threadLocalCounts(): ThreadLocalCounts | undefined {
  const counts = loaded().fuse_native_thread_locals?.();
  return counts && { made: counts[0], reused: counts[1] };
}

/**
 * Whether the mounts made from now on answer opens with FOPEN_PARALLEL_DIRECT_WRITES (src/fs/mount.ts says why):
 * `on` where the binding can, and false on the prebuilt binding, which cannot.
 */
export function allowParallelDirectWrites(on: boolean): boolean {
  const set = loaded().fuse_native_parallel_direct_writes;
  return set ? set(on)[0] === 1 : false;
}

/** Opens this process's mounts have answered with parallel direct writes allowed (0 on the prebuilt binding). */
export function parallelOpensAnswered(): number {
  return loaded().fuse_native_parallel_direct_writes?.()[1] ?? 0;
}

/**
 * A reader of how many requests the binding has handed to the JavaScript thread that it has not taken yet, writes of
 * at least `bulkWriteBytes` (bulk data) left out, and of new workers waiting for it to make their locals (whatever
 * their request); undefined on the prebuilt binding, which does not count them.
 */
export function waitingRequests(bulkWriteBytes: number): (() => number) | undefined {
  const count = loaded().fuse_native_requests_waiting;
  if (!count) return undefined;
  count(bulkWriteBytes);
  return () => count();
}

/** The binding's op codes and answer functions for the ops src/fs/dispatch.ts serves. */
export function bindingSignals(): BindingSignals {
  return loaded();
}

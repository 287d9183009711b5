// Owns how the binding's requests reach the ops for the requests every transaction and dataset batch makes (getattr,
// open, read, write, flush, release): handlers of fixed arity that answer through the binding's signal directly.
// fuse-native's own wrapper, kept for every other op, allocates about a dozen objects per request (a bound function,
// two copies of the arguments, a closure, a timer, the answer's arrays, a nextTick); under the floods what the server
// allocates per request is what the collector's pauses make transactions wait (docs/ceilings-passes.md, nineteenth pass).
import { bindingSignals, type BindingSignals } from './fuse-binding.js';

/** How long a request may stay unanswered before it is answered ETIMEDOUT (fuse-native's own default). */
export const REQUEST_TIMEOUT_MS = 15_000;
const ETIMEDOUT = -110;
const TWO_TO_32 = 4294967296;

type Reply = (code: number, value?: unknown) => void;
type ByteReply = (n: number) => void;

/** The ops these handlers call, with the signatures src/fs/ops.ts gives them. */
export interface HotOps {
  getattr?(path: string, cb: Reply): void;
  open?(path: string, flags: number, cb: Reply): void;
  read?(path: string, fd: number, buf: Buffer, len: number, offset: number, cb: ByteReply): void;
  write?(path: string, fd: number, buf: Buffer, len: number, offset: number, cb: ByteReply): void;
  flush?(path: string, fd: number, cb: Reply): void;
  release?(path: string, fd: number, cb: Reply): void;
}

/** A request left unanswered for REQUEST_TIMEOUT_MS: told to whoever logs it, after the client got ETIMEDOUT. */
export type OnRequestTimeout = (op: string, path: string) => void;

/** The handler the binding calls for an op: the thread's request slot, the op's code, then the op's own arguments. */
export type BindingHandler = (slot: Buffer, opCode: number, ...args: never[]) => void;

interface StatLike {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  nlink?: number;
  atime?: Date | number;
  mtime?: Date | number;
  ctime?: Date | number;
}

/** A time as milliseconds since the epoch (fuse-native takes a Date or a number; a missing one is 0). */
function millis(time: Date | number | undefined): number {
  return typeof time === 'number' ? time : (time?.getTime() ?? 0);
}

/**
 * Handlers by op code for the hot ops `ops` implements. Each request is answered exactly once: by the op, or, if the
 * op has not answered when it returns and still has not after `timeoutMs`, with ETIMEDOUT (a late answer is then
 * dropped: the binding's slot has gone on to another request). Only a request left pending pays for a timer.
 */
export function hotHandlers(
  ops: HotOps,
  onTimeout: OnRequestTimeout,
  timeoutMs = REQUEST_TIMEOUT_MS,
  signals: BindingSignals = bindingSignals(),
): Map<number, BindingHandler> {
  const handlers = new Map<number, BindingHandler>();
  // The binding copies a stat answer into libfuse's struct during the signal call, so one array serves every answer.
  const statInts = new Uint32Array(18);

  function expire(op: string, path: string, reply: (code: number) => void): NodeJS.Timeout {
    return setTimeout(() => {
      reply(ETIMEDOUT);
      onTimeout(op, path);
    }, timeoutMs);
  }

  function fillStat(stat: StatLike | undefined): Uint32Array {
    statInts.fill(0);
    if (!stat) return statInts;
    statInts[0] = stat.mode ?? 0;
    statInts[1] = stat.uid ?? 0;
    statInts[2] = stat.gid ?? 0;
    putUint64(3, stat.size ?? 0);
    statInts[6] = stat.nlink ?? 1;
    putUint64(12, millis(stat.atime));
    putUint64(14, millis(stat.mtime));
    putUint64(16, millis(stat.ctime));
    return statInts;
  }

  function putUint64(at: number, value: number): void {
    const low = value % TWO_TO_32;
    statInts[at] = low;
    statInts[at + 1] = (value - low) / TWO_TO_32;
  }

  // Each handler keeps its once-guard (answered, timer) inline in the reply closure it makes anyway: a shared helper
  // would cost another closure or object per request, which is what this module exists to avoid.
  const { getattr, open, read, write, flush, release } = ops;
  if (getattr) {
    handlers.set(signals.op_getattr, (slot: Buffer, _op: number, path: string) => {
      let timer: NodeJS.Timeout | undefined;
      let answered = false;
      const reply = (code: number, stat?: unknown) => {
        if (answered) return;
        answered = true;
        if (timer) clearTimeout(timer);
        signals.fuse_native_signal_getattr(slot, code, fillStat(code === 0 ? (stat as StatLike) : undefined));
      };
      getattr.call(ops, path, reply);
      if (!answered) timer = expire('getattr', path, reply);
    });
  }
  if (open) {
    handlers.set(signals.op_open, (slot: Buffer, _op: number, path: string, flags: number) => {
      let timer: NodeJS.Timeout | undefined;
      let answered = false;
      const reply = (code: number, fd?: unknown) => {
        if (answered) return;
        answered = true;
        if (timer) clearTimeout(timer);
        signals.fuse_native_signal_open(slot, code, code === 0 ? ((fd as number | undefined) ?? 0) : 0);
      };
      open.call(ops, path, flags, reply);
      if (!answered) timer = expire('open', path, reply);
    });
  }
  for (const [name, op, signal] of [
    ['read', read, signals.fuse_native_signal_read],
    ['write', write, signals.fuse_native_signal_write],
  ] as const) {
    if (!op) continue;
    handlers.set(
      signals[`op_${name}`],
      (slot: Buffer, _op: number, path: string, fd: number, buf: Buffer, len: number, offsetLow: number, offsetHigh: number) => {
        let timer: NodeJS.Timeout | undefined;
        let answered = false;
        // The signal detaches `buf`'s memory (libfuse's) as it answers, so nothing can touch it afterwards.
        const reply = (n: number) => {
          if (answered) return;
          answered = true;
          if (timer) clearTimeout(timer);
          signal(slot, n, 0, buf.buffer);
        };
        op.call(ops, path, fd, buf, len, offsetLow + offsetHigh * TWO_TO_32, reply);
        if (!answered) timer = expire(name, path, reply);
      },
    );
  }
  for (const [name, op, signal] of [
    ['flush', flush, signals.fuse_native_signal_flush],
    ['release', release, signals.fuse_native_signal_release],
  ] as const) {
    if (!op) continue;
    handlers.set(signals[`op_${name}`], (slot: Buffer, _op: number, path: string, fd: number) => {
      let timer: NodeJS.Timeout | undefined;
      let answered = false;
      const reply = (code: number) => {
        if (answered) return;
        answered = true;
        if (timer) clearTimeout(timer);
        signal(slot, code);
      };
      op.call(ops, path, fd, reply);
      if (!answered) timer = expire(name, path, reply);
    });
  }
  return handlers;
}

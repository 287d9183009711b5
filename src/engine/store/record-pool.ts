// Owns the memory dataset log records are encoded into: buffers reused once their write is done, shared by every
// model's log and bounded in total.

/**
 * Records smaller than this come from Node's own slab (which it reuses); bigger ones from here, in sizes rounded up
 * (to a power of two up to 1 MiB, to whole MiB above) so that a buffer serves the next record of about its size.
 */
const POOLED_MIN_BYTES = 64 << 10;
const MIB = 1 << 20;
const roundedUp = (bytes: number): number => (bytes <= MIB ? 2 ** Math.ceil(Math.log2(bytes)) : Math.ceil(bytes / MIB) * MIB);
/**
 * Free buffers kept for reuse, in bytes over all logs: a batch of tens of MiB and the batches around it. A record
 * bigger than what is kept is allocated afresh each time, as every record was before.
 */
const POOL_MAX_BYTES = 64 << 20;

/**
 * Why reuse: the first write to fresh memory costs a page fault per 4 KiB, which this machine's VM measured at
 * 10-20 µs each (an 8 MiB record, the log's rewrite then, 25-50 ms of the JavaScript thread, against 0.5 ms to copy into memory
 * touched before), and a strict flood encoded every batch into fresh memory (docs/ceilings-passes.md, thirteenth pass).
 */
const free: Buffer[] = [];
let freeBytes = 0;

/** A buffer of at least `bytes` bytes (its contents are left over from earlier records), to give back once written. */
export function takeRecordMemory(bytes: number): Buffer {
  if (bytes < POOLED_MIN_BYTES) return Buffer.allocUnsafe(bytes);
  let best = -1;
  for (let i = 0; i < free.length; i++) if (free[i].length >= bytes && (best < 0 || free[i].length < free[best].length)) best = i;
  if (best >= 0) {
    const [memory] = free.splice(best, 1);
    freeBytes -= memory.length;
    return memory;
  }
  return Buffer.allocUnsafeSlow(roundedUp(bytes));
}

/** `memory` (from takeRecordMemory) was written: the next record may use it. Dropped past POOL_MAX_BYTES. */
export function giveRecordMemory(memory: Buffer): void {
  if (memory.length < POOLED_MIN_BYTES || freeBytes + memory.length > POOL_MAX_BYTES) return;
  free.push(memory);
  freeBytes += memory.length;
}

/** Bytes kept for reuse now (for tests). */
export function recordMemoryKept(): number {
  return freeBytes;
}

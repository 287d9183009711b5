// Owns per-open state: the content snapshot a read sequence is served from, a dataset file's batch,
// and a recommendation transaction's result.
import type { Session } from '../engine/session/session.js';
import type { DatasetBatch } from '../engine/session/batch.js';

export interface Handle {
  id: number;
  file: string;
  session: Session | undefined;
  /** Opened for writing: only such a handle's close (or fsync) finishes what its writes collected. */
  writable: boolean;
  /** Content rendered at the last read at offset 0; later offsets continue from it. */
  snapshot?: Buffer;
  /** dataset: the batch this open file's writes go to (the session's rules; stored at close). */
  batch?: DatasetBatch;
  /** recommendation: the answer to this handle's last write. */
  result?: Buffer;
  /** events: the stream offset this handle's file offset 0 stands for (see events-file.ts). */
  eventsBase?: number;
  /** recommendation: the file offset of the first read after the last write. */
  resultBase?: number;
}

export class HandleTable {
  private next = 1;
  private readonly open = new Map<number, Handle>();

  add(file: string, session: Session | undefined, writable: boolean): Handle {
    const handle: Handle = { id: this.next++, file, session, writable };
    this.open.set(handle.id, handle);
    return handle;
  }

  get(id: number): Handle | undefined {
    return this.open.get(id);
  }

  remove(id: number): void {
    this.open.delete(id);
  }

  get size(): number {
    return this.open.size;
  }
}

/** Slice `len` bytes at `offset` from `content` into `buf`; returns the byte count. */
export function copyOut(content: Buffer, buf: Buffer, len: number, offset: number): number {
  if (offset >= content.length) return 0;
  return content.copy(buf, 0, offset, Math.min(content.length, offset + len));
}

// Owns how the `events` file maps file offsets to the event stream, so both cat and GNU tail -f work.
// The file's size is every byte ever recorded and a byte keeps its offset, so tail (which polls the size
// on FUSE and reads from where it stopped) sees each new line once. A read sequence that starts at offset
// 0 (cat) starts at the oldest line still retained; lines that left the ring meanwhile are skipped.
import type { EventLog } from '../engine/session/eventlog.js';
import type { Handle } from './handles.js';

export function eventsSize(log: EventLog): number {
  return log.bytesTotal;
}

export function readEvents(log: EventLog, handle: Handle, offset: number, len: number): Buffer {
  if (offset === 0) handle.eventsBase = log.firstRetainedByte;
  let at = offset + (handle.eventsBase ?? 0);
  if (at < log.firstRetainedByte) {
    // The reader fell behind the ring: continue at the oldest retained line, and keep its later offsets in step.
    handle.eventsBase = (handle.eventsBase ?? 0) + (log.firstRetainedByte - at);
    at = log.firstRetainedByte;
  }
  return log.readAt(at, len);
}

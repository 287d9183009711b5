// Owns a model's recent-event ring: the lines its `events` file shows, oldest first, as a stream of bytes
// whose offsets never move (a line recorded at byte N stays at byte N), so tail -f can follow it by size.
import { LIMITS } from '../../limits.js';

export class EventLog {
  private lines: Buffer[] = [];
  private start = 0;
  private retainedBytes = 0;
  /** How many lines were ever recorded, so a reader can tell how many it missed. */
  total = 0;
  /** Bytes ever recorded: the events file's size. */
  bytesTotal = 0;

  constructor(
    private readonly capacity: number = LIMITS.eventsRetained.value,
    private readonly lineBytes: number = LIMITS.eventLineBytes.value,
  ) {}

  add(kind: string, details: string, now: Date = new Date()): string {
    let line = `${now.toISOString()} ${kind} ${details}`.replace(/\n/g, ' ');
    // Details may quote what a writer sent: cut them so retained events stay small whatever is written.
    if (Buffer.byteLength(line) > this.lineBytes - 1)
      line =
        Buffer.from(line)
          .subarray(0, this.lineBytes - 5)
          .toString()
          .replace(/\uFFFD$/, '') + ' ...';
    const bytes = Buffer.from(line + '\n');
    if (this.lines.length < this.capacity) this.lines.push(bytes);
    else {
      this.retainedBytes -= this.lines[this.start].length;
      this.lines[this.start] = bytes;
      this.start = (this.start + 1) % this.capacity;
    }
    this.retainedBytes += bytes.length;
    this.bytesTotal += bytes.length;
    this.total++;
    return line;
  }

  /** The offset of the oldest retained byte; everything before it has left the ring. */
  get firstRetainedByte(): number {
    return this.bytesTotal - this.retainedBytes;
  }

  private ordered(): Buffer[] {
    return [...this.lines.slice(this.start), ...this.lines.slice(0, this.start)];
  }

  /** All retained lines, oldest first, newline-terminated. */
  render(): string {
    return Buffer.concat(this.ordered()).toString();
  }

  /** Up to `len` bytes of the stream from `offset` (at or after firstRetainedByte); empty at the end. */
  readAt(offset: number, len: number): Buffer {
    const out: Buffer[] = [];
    let at = this.firstRetainedByte;
    let want = len;
    for (const line of this.ordered()) {
      const end = at + line.length;
      if (end > offset && want > 0) {
        const piece = line.subarray(Math.max(0, offset - at), Math.max(0, offset - at) + want);
        out.push(piece);
        want -= piece.length;
      }
      at = end;
      if (want === 0) break;
    }
    return Buffer.concat(out);
  }
}

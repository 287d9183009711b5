// Owns a model's recent-event ring: the lines its `events` file shows, oldest first.

export class EventLog {
  private lines: string[] = [];
  private start = 0;
  /** How many lines were ever recorded, so a reader can tell how many it missed. */
  total = 0;

  constructor(private readonly capacity: number) {}

  add(kind: string, details: string, now: Date = new Date()): string {
    const line = `${now.toISOString()} ${kind} ${details}`.replace(/\n/g, ' ');
    if (this.lines.length < this.capacity) this.lines.push(line);
    else {
      this.lines[this.start] = line;
      this.start = (this.start + 1) % this.capacity;
    }
    this.total++;
    return line;
  }

  /** All retained lines, oldest first, newline-terminated. */
  render(): string {
    return this.since(0);
  }

  /** Retained lines recorded after the first `seen` lines ever recorded (a reader's position). */
  since(seen: number): string {
    const ordered = [...this.lines.slice(this.start), ...this.lines.slice(0, this.start)];
    const firstRetained = this.total - ordered.length;
    return ordered
      .slice(Math.max(0, seen - firstRetained))
      .map((l) => l + '\n')
      .join('');
  }
}

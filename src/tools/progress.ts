// Owns progress reporting on stderr for the offline tools: a redrawn bar on a terminal, plain lines at
// most once a second otherwise, with the model's training progress polled from its stats file.

/** What a progress line shows. */
export interface ProgressView {
  /** "replay m", "export m". */
  label: string;
  /** Samples done. */
  done: number;
  /** Samples expected, when known; `estimated` marks a total guessed from bytes. */
  total?: number;
  estimated?: boolean;
  /** Share done, 0..1, when known (from bytes or samples). */
  fraction?: number;
  /** Samples per second so far. */
  rate: number;
  /** Seconds left, when a fraction is known. */
  eta?: number;
  /** From the model's stats. */
  loss?: string;
  trainSteps?: string;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** 1234 → "1234", 123456 → "123k", 1234567 → "1.23M". */
export function formatCount(n: number): string {
  if (n < 10000) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toPrecision(3)}k`;
  if (n < 1e9) return `${(n / 1e6).toPrecision(3)}M`;
  return `${(n / 1e9).toPrecision(3)}G`;
}

function modelPart(v: ProgressView, compact: boolean): string {
  if (v.loss === undefined && v.trainSteps === undefined) return '';
  if (!compact) return `, loss ${v.loss ?? '?'}, train_steps ${v.trainSteps ?? '?'}`;
  const loss = v.loss !== undefined && Number.isFinite(Number(v.loss)) ? Number(v.loss).toPrecision(3) : (v.loss ?? '?');
  const steps = v.trainSteps !== undefined && Number.isFinite(Number(v.trainSteps)) ? formatCount(Number(v.trainSteps)) : (v.trainSteps ?? '?');
  return ` loss ${loss} steps ${steps}`;
}

/** A plain progress line, for logs: exact numbers. */
export function renderLine(v: ProgressView): string {
  let line = `${v.label}: ${v.done}`;
  if (v.total !== undefined) line += `/${v.estimated ? '~' : ''}${v.total}`;
  line += ' samples';
  if (v.fraction !== undefined) line += ` (${Math.floor(v.fraction * 100)}%)`;
  line += `, ${Math.round(v.rate)} samples/s`;
  if (v.eta !== undefined) line += `, ETA ${formatDuration(v.eta)}`;
  return line + modelPart(v, false);
}

/** A one-line bar fitted to `columns`, for a terminal. */
export function renderBar(v: ProgressView, columns: number): string {
  const pct = v.fraction !== undefined ? ` ${String(Math.floor(v.fraction * 100)).padStart(3)}%` : '';
  const count = `${formatCount(v.done)}${v.total !== undefined ? `/${v.estimated ? '~' : ''}${formatCount(v.total)}` : ' samples'}`;
  const tail = `${pct} ${count} ${formatCount(v.rate)}/s${v.eta !== undefined ? ` ETA ${formatDuration(v.eta)}` : ''}${modelPart(v, true)}`;
  const room = columns - 1 - v.label.length - tail.length - 3;
  let text: string;
  if (v.fraction !== undefined && room >= 10) {
    const width = Math.min(room, 40);
    const filled = Math.min(width, Math.floor(v.fraction * width));
    text = `${v.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${tail}`;
  } else text = `${v.label}${tail}`;
  return text.length > columns - 1 ? text.slice(0, Math.max(0, columns - 1)) : text;
}

export interface ReporterOptions {
  stream: NodeJS.WriteStream;
  /** Progress shown at all (false for --quiet). */
  enabled: boolean;
  /** The view right now, without the model's stats. */
  view: () => Omit<ProgressView, 'loss' | 'trainSteps'>;
  /** Reads the model's stats; called at most once a second, never twice at a time. */
  stats?: () => Promise<Record<string, string> | undefined>;
}

/** Redraws a bar (terminal) or prints lines (at most one a second, only when something moved). */
export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private lastDone = -1;
  private lastLineAt = 0;
  private lastStatsAt = 0;
  private polling = false;
  private loss: string | undefined;
  private trainSteps: string | undefined;
  readonly tty: boolean;

  constructor(private readonly opts: ReporterOptions) {
    this.tty = Boolean(opts.stream.isTTY);
  }

  start(): void {
    if (!this.opts.enabled) return;
    this.lastLineAt = Date.now();
    this.timer = setInterval(() => this.tick(), this.tty ? 200 : 1000);
    this.timer.unref();
    this.pollStats();
  }

  /** The newest stats values read, for a summary. */
  get model(): { loss?: string; trainSteps?: string } {
    return { loss: this.loss, trainSteps: this.trainSteps };
  }

  private pollStats(): void {
    if (!this.opts.stats || this.polling || Date.now() - this.lastStatsAt < 1000) return;
    this.polling = true;
    this.lastStatsAt = Date.now();
    this.opts
      .stats()
      .then((st) => {
        if (st) {
          this.loss = st.loss;
          this.trainSteps = st.train_steps;
        }
      })
      .catch(() => {})
      .finally(() => (this.polling = false));
  }

  private current(): ProgressView {
    return { ...this.opts.view(), loss: this.loss, trainSteps: this.trainSteps };
  }

  private tick(): void {
    this.pollStats();
    const view = this.current();
    if (this.tty) {
      this.opts.stream.write(`\r${renderBar(view, this.opts.stream.columns || 80)}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    // While nothing moves (e.g. waiting on stdin), a line every 10 s says the run is still alive.
    if (view.done === this.lastDone && now - this.lastLineAt < 10000) return;
    this.lastDone = view.done;
    this.lastLineAt = now;
    this.opts.stream.write(renderLine(view) + '\n');
  }

  /** A message between progress output (a warning): clears the bar first. */
  message(text: string): void {
    this.clear();
    this.opts.stream.write(text + '\n');
  }

  private clear(): void {
    if (this.drawn) this.opts.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }
}

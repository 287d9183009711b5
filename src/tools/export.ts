// Owns `mlproxy export`: a model's training buffer, read from its dataset file, written out in real
// units as csv or jsonl, to stdout or atomically to a file.
import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs } from 'node:util';
import { DEFAULT_MOUNTPOINT, ToolError, errnoOf, openModel, readConfig, readStats, type ModelConfigView, type ModelFiles } from './mount.js';
import { ProgressReporter, formatDuration } from './progress.js';
import { INTERRUPTED_EXIT, onInterrupt } from './interrupt.js';

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_HELP = `Usage: mlproxy export NAME --format csv|jsonl [options]

Write model NAME's training buffer, read from models/NAME/dataset (oldest sample first), in real
units: each value the model holds divided by its scale (see docs/protocol.md, config). The model's
config gives inputs, outputs and scale. "mlproxy replay" reads both formats back into any model
with the same inputs and outputs, multiplying by that model's scale.

Options:
  --format csv|jsonl    required. csv: a header x1,...,xN,y1,...,yM, then one row per sample;
                        jsonl: one {"x":[...],"y":[...]} object per line
  -o, --output FILE     write FILE atomically: a temporary file in the same directory, renamed
                        over FILE once complete (default: standard output)
  --mountpoint DIR      where mlproxy is mounted (default ${DEFAULT_MOUNTPOINT})
  -q, --quiet           no progress and no summary; errors only
  -h, --help            this text

Progress goes to stderr: a bar when stderr is a terminal, else a line at most once a second; then
one summary line. With scale other than 1 the buffer holds fixed-point values, so exported values
are multiples of 1/scale.

Exit status: 0 written; 1 the model is missing, the mount failed or the output could not be
written; 2 a usage error; ${INTERRUPTED_EXIT} interrupted (--output FILE is then left as it was);
141, quietly, when standard output is a pipe its reader closed (as "| head" does).

Example:
  mlproxy export sched --format csv --output /var/tmp/sched-$(hostname).csv
`;

function usage(message: string): number {
  process.stderr.write(`mlproxy export: ${message}\nTry "mlproxy export --help".\n`);
  return 2;
}

export async function exportCommand(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        mountpoint: { type: 'string', default: DEFAULT_MOUNTPOINT },
        format: { type: 'string' },
        output: { type: 'string', short: 'o' },
        quiet: { type: 'boolean', short: 'q' },
      },
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) return usage(positionals.length ? `one model NAME expected, got ${positionals.length}` : 'no model NAME given');
  const format = values.format as string | undefined;
  if (!format) return usage('--format csv|jsonl is required');
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) return usage(`--format must be one of ${EXPORT_FORMATS.join(' ')}`);
  if (values.output === '') return usage('--output needs a file name');
  try {
    return await exportModel({
      model: positionals[0],
      mountpoint: values.mountpoint as string,
      format: format as ExportFormat,
      output: values.output,
      quiet: Boolean(values.quiet),
    });
  } catch (err) {
    if (err instanceof ToolError) {
      if (err.message) process.stderr.write(`mlproxy export: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`mlproxy export: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

/** Where the export goes: text in, written in large pieces, made visible by finish(). */
interface Sink {
  readonly name: string;
  write(text: string): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

const SINK_CHUNK = 1 << 20;

/** Collects text and hands it on in ~1 MiB pieces. */
abstract class BufferedSink implements Sink {
  abstract readonly name: string;
  private parts: string[] = [];
  private size = 0;
  protected abstract put(data: string): Promise<void>;
  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= SINK_CHUNK) await this.flush();
  }
  protected async flush(): Promise<void> {
    if (!this.size) return;
    const data = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.put(data);
  }
  abstract finish(): Promise<void>;
  abstract abort(): Promise<void>;
}

class StdoutSink extends BufferedSink {
  readonly name = 'standard output';
  private readonly ignore = () => {};
  constructor() {
    super();
    process.stdout.on('error', this.ignore); // a closed pipe is reported by the write callback
  }
  protected put(data: string): Promise<void> {
    return new Promise((resolve, reject) =>
      process.stdout.write(data, (err) => {
        if (!err) return resolve();
        // The reader went away (e.g. "| head"): stop quietly, as a program killed by SIGPIPE does.
        if (errnoOf(err) === 'EPIPE') reject(new ToolError('', 141));
        else reject(new ToolError(`writing standard output: ${err.message}`));
      }),
    );
  }
  async finish(): Promise<void> {
    try {
      await this.flush();
    } finally {
      process.stdout.off('error', this.ignore);
    }
  }
  async abort(): Promise<void> {
    process.stdout.off('error', this.ignore);
  }
}

/** A temporary file next to the target, fsynced and renamed over it on finish, removed on abort. */
class FileSink extends BufferedSink {
  private constructor(
    readonly name: string,
    private readonly temp: string,
    private readonly fh: FileHandle,
  ) {
    super();
  }
  static async create(path: string): Promise<FileSink> {
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    try {
      return new FileSink(path, temp, await open(temp, 'wx', 0o666));
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') throw new ToolError(`cannot write ${path}: its directory ${dirname(path)} does not exist`);
      throw new ToolError(`cannot write ${path}: ${(err as Error).message}`);
    }
  }
  protected async put(data: string): Promise<void> {
    try {
      await this.fh.write(data);
    } catch (err) {
      throw new ToolError(`writing ${this.temp} (for ${this.name}): ${(err as Error).message}`);
    }
  }
  async finish(): Promise<void> {
    try {
      await this.flush();
      await this.fh.sync();
      await this.fh.close();
      await rename(this.temp, this.name);
    } catch (err) {
      await this.abort();
      throw err instanceof ToolError ? err : new ToolError(`writing ${this.name}: ${(err as Error).message}`);
    }
    // The rename is durable once the directory is; failing that is no reason to fail the export.
    const dir = await open(dirname(this.name), 'r').catch(() => undefined);
    await dir?.sync().catch(() => {});
    await dir?.close().catch(() => {});
  }
  async abort(): Promise<void> {
    await this.fh.close().catch(() => {});
    await unlink(this.temp).catch(() => {});
  }
}

interface Options {
  model: string;
  mountpoint: string;
  format: ExportFormat;
  output: string | undefined;
  quiet: boolean;
}

/** Formats one dataset line (model units) as an output line (real units). */
export function makeConverter(format: ExportFormat, config: Pick<ModelConfigView, 'inputs' | 'outputs' | 'scale'>): (line: string, at: string) => string {
  const width = config.inputs + config.outputs;
  const scale = config.scale;
  return (line, at) => {
    const tokens = line.trim().split(/[ \t]+/);
    if (tokens.length !== width) {
      throw new ToolError(
        `${at}: ${tokens.length} values, but config says inputs=${config.inputs} outputs=${config.outputs}: did the model's config change during the export? Run it again`,
      );
    }
    const values = tokens.map((t) => {
      const v = Number(t) / scale;
      if (!Number.isFinite(v)) throw new ToolError(`${at}: "${t.slice(0, 32)}" is not a number`);
      return String(v);
    });
    if (format === 'csv') return values.join(',') + '\n';
    return `{"x":[${values.slice(0, config.inputs).join(',')}],"y":[${values.slice(config.inputs).join(',')}]}\n`;
  };
}

export function csvHeader(inputs: number, outputs: number): string {
  const names: string[] = [];
  for (let i = 1; i <= inputs; i++) names.push(`x${i}`);
  for (let i = 1; i <= outputs; i++) names.push(`y${i}`);
  return names.join(',') + '\n';
}

async function exportModel(opts: Options): Promise<number> {
  const files = await openModel(opts.mountpoint, opts.model);
  const config = await readConfig(files);
  const total = Number((await readStats(files))?.samples_buffered);
  const label = `export ${opts.model}`;
  const started = Date.now();
  let done = 0;
  const reporter = new ProgressReporter({
    stream: process.stderr,
    enabled: !opts.quiet,
    view: () => {
      const elapsed = Math.max(0.001, (Date.now() - started) / 1000);
      const view = { label, done, rate: done / elapsed };
      if (!(total > 0) || done > total) return view;
      const fraction = done / total;
      return { ...view, total, fraction, eta: fraction > 0 ? (elapsed * (1 - fraction)) / fraction : undefined };
    },
  });

  const sink: Sink = opts.output ? await FileSink.create(opts.output) : new StdoutSink();
  let interrupted: string | undefined;
  const release = onInterrupt((signal) => (interrupted = signal));
  reporter.start();
  try {
    if (opts.format === 'csv') await sink.write(csvHeader(config.inputs, config.outputs));
    done = await copyDataset(files, makeConverter(opts.format, config), sink, () => interrupted, (n) => (done = n));
    if (interrupted) throw new ToolError(`${interrupted}: stopped${opts.output ? `; ${opts.output} was not written` : ''}`, INTERRUPTED_EXIT);
    await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    release();
    reporter.stop();
  }
  if (!opts.quiet) {
    const secs = (Date.now() - started) / 1000;
    const shape = `${config.inputs} input${config.inputs === 1 ? '' : 's'}, ${config.outputs} output${config.outputs === 1 ? '' : 's'}, scale ${config.scale}`;
    process.stderr.write(
      `${label}: ${done} sample${done === 1 ? '' : 's'} (${shape}) written as ${opts.format} to ${sink.name} in ${secs < 60 ? `${secs.toFixed(1)}s` : formatDuration(secs)}\n`,
    );
  }
  return 0;
}

/** Read the dataset file to its end on one open file (one consistent rendering), converting each line. */
async function copyDataset(
  files: ModelFiles,
  convert: (line: string, at: string) => string,
  sink: Sink,
  stopped: () => string | undefined,
  progress: (samples: number) => void,
): Promise<number> {
  const path = files.path('dataset');
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY);
  } catch (err) {
    throw new ToolError(files.describe(err, `reading ${path}`));
  }
  const buf = Buffer.alloc(SINK_CHUNK);
  const decoder = new StringDecoder('utf8');
  let position = 0;
  let rest = '';
  let samples = 0;
  try {
    for (;;) {
      if (stopped()) return samples;
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, position));
      } catch (err) {
        throw new ToolError(files.describe(err, `reading ${path}`));
      }
      const text = n ? rest + decoder.write(buf.subarray(0, n)) : rest + decoder.end();
      position += n;
      const lines = text.split('\n');
      rest = n ? (lines.pop() as string) : '';
      let out = '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        samples++;
        out += convert(line, `${path} line ${samples}`);
      }
      if (out) await sink.write(out);
      progress(samples);
      if (!n) return samples;
    }
  } finally {
    await fh.close().catch(() => {});
  }
}

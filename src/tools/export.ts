// Owns `mlproxy export`: a model's training buffer, read from its dataset file, written out in real
// units as csv or jsonl, to stdout or atomically to a file.
import { StringDecoder } from 'node:string_decoder';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DEFAULT_MOUNTPOINT, ToolError, openModel, readConfig, readStats, type ModelConfigView, type ModelFiles } from './mount.js';
import { ProgressReporter, formatDuration } from './progress.js';
import { INTERRUPTED_EXIT, onInterrupt } from './interrupt.js';
import { parseCommandLine, runTool, usageError } from './command.js';
import { FileSink, SINK_CHUNK, StdoutSink, type Sink } from './sinks.js';

const COMMAND = 'mlproxy export';

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

export async function exportCommand(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    COMMAND,
    argv,
    {
      mountpoint: { type: 'string', default: DEFAULT_MOUNTPOINT },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      quiet: { type: 'boolean', short: 'q' },
    },
    EXPORT_HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) return usageError(COMMAND, positionals.length ? `one model NAME expected, got ${positionals.length}` : 'no model NAME given');
  const format = values.format as string | undefined;
  if (!format) return usageError(COMMAND, '--format csv|jsonl is required');
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) return usageError(COMMAND, `--format must be one of ${EXPORT_FORMATS.join(' ')}`);
  if (values.output === '') return usageError(COMMAND, '--output needs a file name');
  return runTool(COMMAND, () =>
    exportModel({
      model: positionals[0],
      mountpoint: values.mountpoint as string,
      format: format as ExportFormat,
      output: values.output,
      quiet: Boolean(values.quiet),
    }),
  );
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
    done = await copyDataset(
      files,
      makeConverter(opts.format, config),
      sink,
      () => interrupted,
      (n) => (done = n),
    );
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

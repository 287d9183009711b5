// Owns `mlproxy replay`: stored datasets streamed into a model through the mount, checked line by line
// here (so a bad line is named FILE:LINE), written as batches the server stores whole or not at all.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { FORMATS, InputError, where } from './readers.js';
import { DEFAULT_MOUNTPOINT, ToolError, openModel, readConfig, readStats } from './mount.js';
import { ProgressReporter } from './progress.js';
import { describeInputs } from './replay-inputs.js';
import { Batch, writeBatch } from './replay-batch.js';
import { describeFailure, summary } from './replay-report.js';
import { INTERRUPTED_EXIT, onInterrupt } from './interrupt.js';
import { parseCommandLine, runTool, usageError } from './command.js';

const COMMAND = 'mlproxy replay';

export const DEFAULT_BATCH_SAMPLES = 10000;
const MAX_BATCH_SAMPLES = 10_000_000;
/** A batch is also cut at this much text, so wide samples cannot make one batch huge. */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

export const REPLAY_HELP = `Usage: mlproxy replay --model NAME [options] FILE...

Feed stored samples into model NAME through the mount. Each FILE (- for standard input) is read
as a stream, checked here line by line, and written to models/NAME/dataset in batches: each batch
is one open/write/close of the dataset file, which the server stores whole or not at all. The
model must exist and have its inputs, outputs and scale committed (see docs/protocol.md, config).

Options:
  --model NAME          the model to feed (required)
  --mountpoint DIR      where mlproxy is mounted (default ${DEFAULT_MOUNTPOINT})
  --batch-samples N     samples per batch (default ${DEFAULT_BATCH_SAMPLES}); a batch is also cut at 64 MiB of text
  --format FORMAT       auto (default), text, csv, jsonl or log; auto goes by the file name:
                        .csv, .jsonl or .ndjson, .log, anything else (and stdin) is text
  -q, --quiet           no progress and no summary; errors only
  -h, --help            this text

Formats:
  text    the dataset file's own form, what "cat models/NAME/dataset" prints: one sample per line,
          inputs then outputs, in the model's units (fixed-point integers when scale is not 1);
          # comments and blank lines are skipped
  csv     what "mlproxy export --format csv" writes: header x1,...,xN,y1,...,yM (optional), then
          values in real units, multiplied by the model's scale on the way in
  jsonl   what "mlproxy export --format jsonl" writes: {"x":[...],"y":[...]} per line, real units
  log     a server's dataset log from its --state-dir DIR: the segments DIR/models/NAME/dataset.*.log
          (checksummed binary records, real units), each alone or concatenated in name order; a torn
          last record is skipped with a warning

Progress goes to stderr: a bar when stderr is a terminal (samples, samples/s, ETA, and the model's
loss and train_steps from its stats), else a line at most once a second; then one summary line.
A bad line stops the replay before its batch is written: the message names FILE:LINE, how many
samples were stored already, and where to resume. Ctrl-C stops after the batch being written.

Exit status: 0 every sample stored; 1 a bad line, a missing file or model, or the mount refused
or failed; 2 a usage error; ${INTERRUPTED_EXIT} interrupted.

Example:
  mlproxy replay --model sched host1.txt host2.csv
  zcat old.txt.gz | mlproxy replay --model sched --batch-samples 50000 -
`;

interface Options {
  model: string;
  mountpoint: string;
  batchSamples: number;
  format: string;
  quiet: boolean;
  files: string[];
}

export async function replayCommand(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    COMMAND,
    argv,
    {
      model: { type: 'string' },
      mountpoint: { type: 'string', default: DEFAULT_MOUNTPOINT },
      'batch-samples': { type: 'string', default: String(DEFAULT_BATCH_SAMPLES) },
      format: { type: 'string', default: 'auto' },
      quiet: { type: 'boolean', short: 'q' },
    },
    REPLAY_HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const model = values.model;
  if (!model) return usageError(COMMAND, '--model NAME is required');
  if (!positionals.length) return usageError(COMMAND, 'no FILE given (use - for standard input)');
  if (positionals.filter((f) => f === '-').length > 1) return usageError(COMMAND, 'standard input (-) can be read only once');
  const batchText = values['batch-samples'] as string;
  const batchSamples = /^[0-9]+$/.test(batchText) ? Number(batchText) : NaN;
  if (!(batchSamples >= 1 && batchSamples <= MAX_BATCH_SAMPLES))
    return usageError(COMMAND, `--batch-samples must be a whole number in 1..${MAX_BATCH_SAMPLES}`);
  const format = values.format as string;
  if (format !== 'auto' && !FORMATS[format]) return usageError(COMMAND, `--format must be auto or one of ${Object.keys(FORMATS).join(' ')}`);
  return runTool(COMMAND, () =>
    replay({
      model,
      mountpoint: values.mountpoint as string,
      batchSamples,
      format,
      quiet: Boolean(values.quiet),
      files: positionals,
    }),
  );
}

async function replay(opts: Options): Promise<number> {
  const files = await openModel(opts.mountpoint, opts.model);
  const config = await readConfig(files);
  const inputs = await describeInputs(opts.files, opts.format);
  const totalBytes = inputs.every((i) => i.size !== undefined) ? inputs.reduce((n, i) => n + (i.size as number), 0) : undefined;
  const label = `replay ${opts.model}`;
  const locate = (input: number, position: number) => where(inputs[input].label, inputs[input].format.unit, position);

  const started = Date.now();
  let bytesRead = 0;
  let checked = 0;
  let stored = 0;
  let batchesStored = 0;
  let lastStored: string | undefined;
  const reporter = new ProgressReporter({
    stream: process.stderr,
    enabled: !opts.quiet,
    stats: () => readStats(files),
    view: () => {
      const elapsed = Math.max(0.001, (Date.now() - started) / 1000);
      const view = { label, done: stored, rate: stored / elapsed };
      if (!totalBytes || !bytesRead) return view;
      const fraction = Math.min(1, bytesRead / totalBytes);
      return { ...view, fraction, total: Math.round((checked * totalBytes) / bytesRead), estimated: fraction < 1, eta: (elapsed * (1 - fraction)) / fraction };
    },
  });

  let interrupted: string | undefined;
  let reading: Readable | undefined;
  const release = onInterrupt((signal) => {
    interrupted = signal;
    reading?.destroy();
  });

  let batch = new Batch(1);
  let inflight: Promise<void> | undefined;
  let failure: { err: unknown; batch: Batch } | undefined;
  /** Wait for the batch being written; throw if the server refused it. */
  const settle = async () => {
    await inflight;
    inflight = undefined;
    const failed = failure;
    failure = undefined;
    if (failed) throw await describeFailure(files, failed.err, failed.batch, locate, stored, lastStored);
  };
  const submit = async () => {
    await settle();
    const b = batch;
    batch = new Batch(b.number + 1);
    inflight = writeBatch(files, b).then(
      () => {
        stored += b.size;
        batchesStored++;
        lastStored = locate(b.inputs[b.size - 1], b.positions[b.size - 1]);
      },
      (err) => void (failure = { err, batch: b }),
    );
  };
  /** What a run that stopped early stored, and where it can pick up again. */
  const stoppedAt = () =>
    lastStored
      ? `${stored} sample${stored === 1 ? '' : 's'} stored in ${batchesStored} batch${batchesStored === 1 ? '' : 'es'}, through ${lastStored}; nothing after that was written (to resume, replay what follows ${lastStored})`
      : 'no sample was stored';

  reporter.start();
  try {
    try {
      for (let n = 0; n < inputs.length && !interrupted; n++) {
        const input = inputs[n];
        const stream: Readable = input.path === '-' ? process.stdin : createReadStream(input.path, { highWaterMark: 1 << 20 });
        reading = stream;
        try {
          const chunks = input.format.read(stream, {
            source: input.label,
            shape: config,
            warn: (message) => reporter.message(`mlproxy replay: warning: ${message}`),
          });
          for await (const chunk of chunks) {
            for (let i = 0; i < chunk.lines.length && !interrupted; i++) {
              batch.push(chunk.lines[i], n, chunk.positions[i]);
              checked++;
              if (batch.size >= opts.batchSamples || batch.bytes >= MAX_BATCH_BYTES) await submit();
            }
            bytesRead += chunk.bytes; // after its samples, so checked/bytesRead estimates the total
            if (interrupted) break;
          }
        } catch (err) {
          if (interrupted) break;
          if (err instanceof ToolError) throw err;
          throw new ToolError(`${input.label}: ${(err as Error).message}`);
        } finally {
          if (stream !== process.stdin) stream.destroy();
        }
      }
      if (!interrupted && batch.size) await submit();
      await settle();
    } catch (err) {
      // A bad line: first learn whether the batch in flight made it (a refusal of it came first, and wins).
      await settle();
      if (err instanceof InputError) throw new InputError(`${err.message}\nmlproxy replay: stopped: ${stoppedAt()}`);
      throw err;
    }
  } finally {
    release();
    reporter.stop();
  }

  if (interrupted) {
    process.stderr.write(`mlproxy replay: ${interrupted}: stopped: ${stoppedAt()}\n`);
    return INTERRUPTED_EXIT;
  }
  const from = inputs.every((i) => i.path === '-') ? 'stdin' : `${inputs.length} file${inputs.length === 1 ? '' : 's'}`;
  if (!opts.quiet) process.stderr.write(await summary(files, opts.model, config.bufferCapacity, stored, batchesStored, from, Date.now() - started));
  return 0;
}

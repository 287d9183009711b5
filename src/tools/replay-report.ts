// Owns what `mlproxy replay` says at the end: the summary line with the model's state after the replay,
// and, when the server refused a batch, which samples it spanned, why (from the events file) and what was stored.
import { ToolError, errnoOf, lastDatasetRejection, readStats, type ModelFiles } from './mount.js';
import { formatDuration } from './progress.js';
import type { Batch } from './replay-batch.js';

export async function describeFailure(
  files: ModelFiles,
  err: unknown,
  batch: Batch,
  locate: (input: number, position: number) => string,
  stored: number,
  lastStored: string | undefined,
): Promise<ToolError> {
  const span = `batch ${batch.number} (${batch.size} samples, ${locate(batch.inputs[0], batch.positions[0])} to ${locate(batch.inputs[batch.size - 1], batch.positions[batch.size - 1])})`;
  const after = `\nmlproxy replay: stopped: ${stored} samples stored before it${lastStored ? `, through ${lastStored}` : ''}; nothing of batch ${batch.number} or after it was stored`;
  if (errnoOf(err) !== 'EINVAL') return new ToolError(files.describe(err, `writing ${span}`) + after);
  let reason = (await lastDatasetRejection(files)) ?? 'no reason recorded in the events file';
  const line = /dataset line (\d+)/.exec(reason);
  if (line && Number(line[1]) <= batch.size) {
    const i = Number(line[1]) - 1;
    reason += ` (that is ${locate(batch.inputs[i], batch.positions[i])})`;
  }
  return new ToolError(
    `the server refused ${span} (EINVAL): ${reason}; did the model's config change during the replay? (${files.path('events')} has the details)` + after,
  );
}

export async function summary(files: ModelFiles, model: string, capacity: number, stored: number, batches: number, from: string, ms: number): Promise<string> {
  const secs = ms / 1000;
  let line = `replay ${model}: stored ${stored} sample${stored === 1 ? '' : 's'} in ${batches} batch${batches === 1 ? '' : 'es'} from ${from} in ${secs < 60 ? `${secs.toFixed(1)}s` : formatDuration(secs)} (${Math.round(stored / Math.max(secs, 0.001))} samples/s)`;
  const st = await readStats(files);
  if (!st) return line + '\n';
  line += `; model now: samples_total ${st.samples_total}, samples_buffered ${st.samples_buffered}/${st.buffer_capacity ?? capacity}, train_steps ${st.train_steps}, loss ${st.loss}, state ${st.state}\n`;
  const notes: string[] = [];
  if (stored > Number(st.buffer_capacity ?? capacity))
    notes.push(`the buffer keeps only the newest ${st.buffer_capacity ?? capacity} samples (buffer_capacity); older ones were dropped`);
  if (st.state === 'created') notes.push('the model has no network yet: it trains once you write init, then start, to its control file');
  else if (st.state === 'initialized' || st.state === 'stopped') notes.push(`the model is ${st.state}: it trains once you write start to its control file`);
  return line + notes.map((n) => `replay ${model}: note: ${n}\n`).join('');
}

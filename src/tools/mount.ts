// Owns the offline tools' view of a live mount: a model's file paths, reading its config and stats,
// and turning a failed file operation into one clear sentence.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_NAME_PATTERN } from '../protocol.js';

export const DEFAULT_MOUNTPOINT = '/mnt/mlproxy';

/** What a reader or writer needs from a model's config. */
export interface Shape {
  inputs: number;
  outputs: number;
  scale: number;
}

export interface ModelConfigView extends Shape {
  bufferCapacity: number;
  /** Every committed key, as text. */
  raw: Record<string, string>;
}

/** A failure the tools report as one message (no stack), with the exit status to return. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export class ModelFiles {
  readonly dir: string;
  constructor(
    readonly mountpoint: string,
    readonly name: string,
  ) {
    this.dir = join(mountpoint, 'models', name);
  }
  path(file: 'config' | 'stats' | 'dataset' | 'events' | 'state'): string {
    return join(this.dir, file);
  }

  /**
   * One sentence for a failed operation on this model's files. `what` says what was being done
   * ("reading config", "writing batch 3"); EINVAL is left to the caller, who knows the context.
   */
  describe(err: unknown, what: string): string {
    const code = errnoOf(err);
    switch (code) {
      case 'ENOENT':
        return `${what}: model "${this.name}" does not exist (no ${this.dir}); create it with mkdir and commit its config first, or it was removed meanwhile`;
      case 'ENOTCONN':
      case 'ECONNABORTED':
        return `${what}: the mount at ${this.mountpoint} is dead (transport endpoint is not connected): the mlproxy server is gone; restart it (mlproxy serve or mount-scripts/mlproxy-mount) and run this again`;
      case 'EACCES':
      case 'EPERM':
        return `${what}: permission denied on ${this.dir}: writing model files needs root`;
      case 'ETIMEDOUT':
        return `${what}: the mlproxy server did not answer within 15 s; check its log`;
      case 'ENOSPC':
        return `${what}: the server refused the samples for lack of room (ENOSPC): the buffer is full and the model's config says overflow=reject`;
      case 'EIO':
        return `${what}: the server failed (EIO), which is a bug in mlproxy; its log has the stack`;
      default:
        return `${what}: ${code ?? 'error'}: ${(err as Error)?.message ?? String(err)}`;
    }
  }
}

/** Check the name, that the mountpoint is a live mlproxy mount, and that the model exists. */
export async function openModel(mountpoint: string, name: string): Promise<ModelFiles> {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new ToolError(`"${name}" is not a model name (they match ${MODEL_NAME_PATTERN.source})`, 2);
  }
  const files = new ModelFiles(mountpoint, name);
  try {
    await stat(join(mountpoint, 'version'));
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ToolError(
        `${mountpoint} is not an mlproxy mount (it has no "version" file): is the server running (mlproxy serve --mountpoint ${mountpoint})?`,
      );
    }
    throw new ToolError(files.describe(err, mountpoint));
  }
  try {
    await stat(files.dir);
  } catch (err) {
    throw new ToolError(files.describe(err, `model ${name}`));
  }
  return files;
}

/** Parse `key=value` lines. */
export function parseKeyValues(text: string, separator: '=' | ' '): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(separator);
    if (at > 0) out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

export async function readConfig(files: ModelFiles): Promise<ModelConfigView> {
  let text: string;
  try {
    text = await readFile(files.path('config'), 'utf8');
  } catch (err) {
    throw new ToolError(files.describe(err, `reading ${files.path('config')}`));
  }
  const raw = parseKeyValues(text, '=');
  const inputs = Number(raw.inputs);
  const outputs = Number(raw.outputs);
  const scale = Number(raw.scale ?? '1');
  const bufferCapacity = Number(raw.buffer_capacity);
  if (!Number.isInteger(inputs) || inputs < 1 || !Number.isInteger(outputs) || outputs < 1 || !(scale > 0)) {
    throw new ToolError(`${files.path('config')}: cannot read inputs, outputs and scale from it (got ${JSON.stringify(text.slice(0, 200))})`);
  }
  return { inputs, outputs, scale, bufferCapacity, raw };
}

/** The model's stats, or undefined when they cannot be read (progress must not fail a run). */
export async function readStats(files: ModelFiles): Promise<Record<string, string> | undefined> {
  try {
    return parseKeyValues(await readFile(files.path('stats'), 'utf8'), ' ');
  } catch {
    return undefined;
  }
}

/** The newest `rejected file=dataset` event's details: the server's own reason for refusing a batch. */
export async function lastDatasetRejection(files: ModelFiles): Promise<string | undefined> {
  try {
    const lines = (await readFile(files.path('events'), 'utf8')).split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = / rejected file=dataset (.*)$/.exec(lines[i]);
      if (m) return m[1];
    }
  } catch {}
  return undefined;
}

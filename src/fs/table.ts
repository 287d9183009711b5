// Owns the table of file kinds: every file of the tree with its mode bits and what read, write and close do.
// readdir and getattr are derived from this table; a kind without `write` is read-only, without `read` write-only.
import { MlError, fail } from '../errors.js';
import type { Registry } from '../engine/registry.js';
import type { Session } from '../engine/session/session.js';
import { formatConfig } from '../engine/session/config.js';
import { formatRows, parseQueries } from '../engine/data/codec.js';
import { ABI_VERSION, FAULTS, VERBS, isKeyword, keywordFromWrite } from '../protocol.js';
import { MODES } from '../modes/modes.js';
import type { Handle } from './handles.js';
import { renderStats, renderDataset, applyFault } from './render.js';
import { eventsSize, readEvents } from './events-file.js';
import { checkBatchSamples, checkBatchWidth, newBatch } from './guards.js';
import { MAX_QUERIES_PER_WRITE } from '../engine/session/session.js';
import { toModelJson, toWeightsBin } from '../engine/store/modelfile.js';

export interface FileContext {
  registry: Registry;
  session: Session;
  handle: Handle;
}

export interface FileKind {
  /** Permission bits; with default_permissions the kernel enforces them for everyone but root. */
  mode: number;
  read?: (ctx: FileContext) => string | Buffer;
  /** Apply one write; a promise means the write is answered when it settles. */
  write?: (ctx: FileContext, data: Buffer) => void | Promise<void>;
  /** Files served by offset rather than from a rendered snapshot (append-only streams). */
  readAt?: (ctx: FileContext, offset: number, len: number) => Buffer;
  /** st_size, where the file has a truthful one (otherwise 0, like procfs). */
  size?: (ctx: { session: Session }) => number;
  /** The writer closed (or fsync'd) the file: finish what its writes collected. */
  flush?: (ctx: FileContext) => void | Promise<void>;
  /** Files that exist only when a server option asks for them. */
  testOnly?: boolean;
}

export interface RootContext {
  registry: Registry;
  version: string;
}

export interface RootFileKind {
  mode: number;
  read: (ctx: RootContext) => string;
}

export const ROOT_FILES = {
  version: { mode: 0o444, read: (ctx) => `mlproxy ${ctx.version} abi ${ABI_VERSION}\n` },
  avail_modes: { mode: 0o444, read: () => MODES.join(' ') + '\n' },
} satisfies Record<string, RootFileKind>;

function text(data: Buffer): string {
  return data.toString('utf8');
}

/** A write that must be exactly one keyword from `list` (one trailing newline allowed). */
function keyword<T extends string>(ctx: FileContext, file: string, list: readonly T[], data: Buffer): T {
  const word = keywordFromWrite(text(data));
  if (!isKeyword(list, word)) ctx.session.reject(file, new Error(`${file}: "${word.slice(0, 32)}" is not one of ${list.join(' ')}`));
  return word;
}

export const MODEL_FILES = {
  control: {
    mode: 0o644,
    read: ({ session }) => (session.lastVerb.verb ? `${session.lastVerb.verb} ${session.lastVerb.result}\n` : 'none\n'),
    write: (ctx, data) => ctx.session.runVerb(keyword(ctx, 'control', VERBS, data)),
  },
  state: { mode: 0o444, read: ({ session }) => session.state + '\n' },
  mode: {
    mode: 0o644,
    read: ({ session }) => session.modes.mode + '\n',
    write: ({ session }, data) => session.setMode(keywordFromWrite(text(data))),
  },
  apply_permil: { mode: 0o444, read: ({ session }) => `${session.modes.applyPermil}\n` },
  config: {
    mode: 0o644,
    read: ({ session }) => formatConfig(session.config),
    write: ({ session }, data) => session.stageConfig(text(data)),
  },
  config_staged: { mode: 0o444, read: ({ session }) => formatConfig(session.staged) },
  dataset: {
    mode: 0o644,
    read: ({ session }) => renderDataset(session),
    write: ({ session, handle }, data) => {
      const spoiled = handle.poisoned;
      if (spoiled) fail(spoiled instanceof MlError ? spoiled.code : 'EINVAL', `dataset: this open file already had a bad write (${spoiled.message}); close it and write again`);
      handle.decoder ??= newBatch(session);
      handle.streamBytes += data.length;
      try {
        handle.decoder.feed(data);
        checkBatchSamples(handle.decoder);
      } catch (err) {
        handle.poisoned = err as Error;
        session.rejectDataset(err, handle.decoder.samples);
      }
    },
    flush: ({ session, handle }) => {
      const decoder = handle.decoder;
      const bytes = handle.streamBytes;
      const poisoned = handle.poisoned;
      handle.decoder = undefined;
      handle.streamBytes = 0;
      handle.poisoned = undefined;
      // The close reports the same errno as the write that spoiled the batch.
      if (poisoned) fail(poisoned instanceof MlError ? poisoned.code : 'EINVAL', `dataset: batch discarded: ${poisoned.message}`);
      if (!decoder) return;
      try {
        decoder.finish();
      } catch (err) {
        session.rejectDataset(err, decoder.samples);
      }
      checkBatchWidth(session, decoder);
      // With --state-dir and durability=strict this settles once the batch is on disk: close() waits for it.
      return session.ingest(decoder.rows(), bytes, decoder.dropped);
    },
  },
  recommendation: {
    mode: 0o644,
    // Reads after a write on the same handle are served from handle.result by ops.read; this is a read without one.
    read: ({ session }) => {
      const answer = session.latestRecommendation ?? fail('ENODATA', 'recommendation: no recommendation yet; write inputs first');
      return applyFault(session, answer);
    },
    write: ({ session, handle }, data) => {
      const queries = session.validated('recommendation', () =>
        parseQueries(text(data), session.config.inputs, session.config.scale, MAX_QUERIES_PER_WRITE),
      );
      const outputs = session.recommend(queries);
      const answer = formatRows(outputs, session.config.outputs, session.config.scale);
      session.latestRecommendation = answer;
      handle.result = Buffer.from(applyFault(session, answer));
      handle.resultBase = undefined;
    },
  },
  feedback: { mode: 0o200, write: ({ session }, data) => session.feedback(text(data)) },
  stats: { mode: 0o444, read: ({ session }) => renderStats(session) },
  events: {
    mode: 0o444,
    size: ({ session }) => eventsSize(session.events),
    readAt: ({ session, handle }, offset, len) => readEvents(session.events, handle, offset, len),
  },
  fault: {
    mode: 0o200,
    testOnly: true,
    write: (ctx, data) => {
      ctx.session.fault = keyword(ctx, 'fault', FAULTS, data);
      ctx.session.record('fault', `recommendations now ${ctx.session.fault}`);
    },
  },
} satisfies Record<string, FileKind>;

/** The weights frozen by the last `save`, or ENODATA: a pair read from here always belongs together. */
function exported(session: Session) {
  return session.exported ?? fail('ENODATA', 'model/: nothing saved yet; write save to control first');
}

/** Subdirectories of a model and their files, keyed by `dir/file`. */
export const MODEL_SUBDIR_FILES = {
  'model/model.json': { mode: 0o444, read: ({ session }) => toModelJson(session.name, exported(session), 'weights.bin') },
  'model/weights.bin': { mode: 0o444, read: ({ session }) => toWeightsBin(exported(session)) },
} satisfies Record<string, FileKind>;

export type ModelFileName = keyof typeof MODEL_FILES | keyof typeof MODEL_SUBDIR_FILES;
const ALL_MODEL_FILES: Record<string, FileKind> = { ...MODEL_FILES, ...MODEL_SUBDIR_FILES };

/** A model's file by its path below the model directory (`stats`, `model/model.json`). */
export function modelFile(name: string, testFiles: boolean): FileKind | undefined {
  if (!Object.hasOwn(ALL_MODEL_FILES, name)) return undefined;
  const kind = ALL_MODEL_FILES[name];
  return kind.testOnly && !testFiles ? undefined : kind;
}

/** What a directory below a model lists: files for `''` (the model itself) or a subdirectory's name. */
export function modelDirEntries(dir: string, testFiles: boolean): string[] | undefined {
  const prefix = dir ? `${dir}/` : '';
  const names = new Set<string>();
  for (const key of Object.keys(ALL_MODEL_FILES)) {
    if (!key.startsWith(prefix) || !modelFile(key, testFiles)) continue;
    names.add(key.slice(prefix.length).split('/')[0]);
  }
  return names.size ? [...names] : undefined;
}

export function isModelSubdir(name: string): boolean {
  return Object.keys(MODEL_SUBDIR_FILES).some((k) => k.startsWith(`${name}/`));
}

export function rootFile(name: string): RootFileKind | undefined {
  return Object.hasOwn(ROOT_FILES, name) ? ROOT_FILES[name as keyof typeof ROOT_FILES] : undefined;
}

// Owns the table of file kinds: every file of the tree with its mode bits and what read, write and close do.
// readdir and getattr are derived from this table; a kind without `write` is read-only, without `read` write-only.
import { fail } from '../errors.js';
import type { Registry } from '../engine/registry.js';
import type { Session } from '../engine/session/session.js';
import { renderConfig, renderControl, renderDataset, renderStats } from '../engine/session/views.js';
import { toModelJson, toWeightsBin } from '../engine/store/modelfile.js';
import { ABI_VERSION } from '../protocol.js';
import { MODES } from '../modes/modes.js';
import type { Handle } from './handles.js';
import { eventsSize, readEvents } from './events-file.js';

export interface FileContext {
  registry: Registry;
  session: Session;
  handle: Handle;
}

export interface FileKind {
  /** Permission bits; with default_permissions the kernel enforces them for everyone but root. */
  mode: number;
  read?: (ctx: FileContext) => string | Buffer;
  /** An open for writing: set up what this handle's writes need. */
  openForWrite?: (ctx: FileContext) => void;
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
  /**
   * Bulk writes (datasets): run after the requests already waiting while others are being served, in pieces, see
   * fs/bulk-queue.ts. Its `write` must take a stream (pieces fed in order mean what the whole write means) and answer at once.
   */
  bulkWrite?: boolean;
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

export const MODEL_FILES = {
  control: {
    mode: 0o644,
    read: ({ session }) => renderControl(session),
    write: ({ session }, data) => session.control(text(data)),
  },
  state: { mode: 0o444, read: ({ session }) => session.state + '\n' },
  mode: {
    mode: 0o644,
    read: ({ session }) => session.modes.mode + '\n',
    write: ({ session }, data) => session.setMode(text(data)),
  },
  apply_permil: { mode: 0o444, read: ({ session }) => `${session.modes.applyPermil}\n` },
  config: {
    mode: 0o644,
    read: ({ session }) => renderConfig(session, 'committed'),
    write: ({ session }, data) => session.stageConfig(text(data)),
  },
  config_staged: { mode: 0o444, read: ({ session }) => renderConfig(session, 'staged') },
  dataset: {
    mode: 0o644,
    bulkWrite: true,
    read: ({ session }) => renderDataset(session),
    // Everything written on one open file is one batch, stored at close (or fsync) or not at all.
    openForWrite: ({ session, handle }) => {
      handle.batch = session.openBatch();
    },
    write: ({ handle }, data) => (handle.batch ?? fail('EBADF', 'dataset: not opened for writing')).feed(data),
    flush: ({ handle }) => handle.batch?.commit(),
  },
  recommendation: {
    mode: 0o644,
    // Reads after a write on the same handle are served from handle.result by ops.read; this is a read without one.
    read: ({ session }) => session.latestRecommendation(),
    write: ({ session, handle }, data) => {
      handle.result = session.transact(data);
      handle.resultBase = undefined;
    },
  },
  feedback: { mode: 0o200, write: ({ session }, data) => session.feedback(text(data)) },
  stats: { mode: 0o444, read: ({ session }) => renderStats(session) },
  qnet: { mode: 0o444, read: ({ session }) => session.qnet() },
  events: {
    mode: 0o444,
    // A stream whose size is every byte ever recorded, so cat and GNU tail -f both work (fs/events-file.ts).
    size: ({ session }) => eventsSize(session.events),
    readAt: ({ session, handle }, offset, len) => readEvents(session.events, handle, offset, len),
  },
  fault: { mode: 0o200, testOnly: true, write: ({ session }, data) => session.setFault(text(data)) },
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

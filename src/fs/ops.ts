// Owns the binding's operation table: the only place FUSE callbacks are answered and errors become errnos.
import { constants as fsc } from 'node:fs';
import { MlError, fail, toErrno } from '../errors.js';
import type { Bus } from '../events.js';
import type { Logger } from '../log.js';
import type { Registry } from '../engine/registry.js';
import type { Session } from '../engine/session/session.js';
import { BULK_WRITE_MIN_BYTES, BulkQueue } from './bulk-queue.js';
import { waitingRequests } from './fuse-binding.js';
import { HandleTable, copyOut, type Handle } from './handles.js';
import { OpenFiles, checkWriteSize } from './guards.js';
import { MODELS_DIR, parsePath } from './paths.js';
import { type FileKind, isModelSubdir, modelDirEntries, modelFile, rootFile, ROOT_FILES } from './table.js';

export interface OpsOptions {
  registry: Registry;
  bus: Bus;
  log: Logger;
  version: string;
  testFiles: boolean;
}

type Stat = { mode: number; size: number; uid: number; gid: number; mtime: Date; atime: Date; ctime: Date; nlink: number };
type Callback = (code: number, ...rest: unknown[]) => void;

const DIR = 0o040000;
const FILE = 0o100000;

export function createOps(opts: OpsOptions) {
  const { registry, bus, log } = opts;
  const handles = new HandleTable();
  const openFiles = new OpenFiles();
  const bulk = new BulkQueue(undefined, waitingRequests(BULK_WRITE_MIN_BYTES));
  const started = new Date();

  /**
   * Run one op: success answers with `result()`'s values, any throw (or rejection) with one errno.
   * Handlers answer from memory; the few that wait for the disk (a strict dataset close, save, load)
   * return a promise and are answered when it settles.
   */
  function run(op: string, cb: Callback, result: () => unknown[] | Promise<unknown[]>): void {
    settle(op, result, (args) => cb(0, ...args), cb);
  }

  /**
   * For read and write, whose callback takes a byte count or a negative errno: the binding's callback is both
   * answers, with no closure or array per request (these answer every transaction and dataset line).
   */
  function runBytes(op: string, cb: (n: number) => void, result: () => number | Promise<number>): void {
    settle(op, result, cb, cb);
  }

  function settle<T>(op: string, result: () => T | Promise<T>, answer: (value: T) => void, refuse: (errno: number) => void): void {
    const began = opBegins(op);
    let value: T | Promise<T>;
    try {
      value = result();
    } catch (err) {
      return refuse(failed(op, began, err));
    }
    if (value instanceof Promise) {
      value.then(
        (settled: T) => {
          succeeded(op, began);
          answer(settled);
        },
        (err: unknown) => refuse(failed(op, began, err)),
      );
    } else {
      succeeded(op, began);
      answer(value);
    }
  }

  function opBegins(op: string): number {
    const began = performance.now();
    // Someone waits on a read (a transaction's answer, `cat stats`) or a listing; a dataset writer's own open,
    // lookups and bulk writes must not make the next bulk write wait (see write for the other writes).
    if (op === 'read' || op === 'readdir') bulk.sawInteractive(began);
    return began;
  }

  function succeeded(op: string, began: number): void {
    bus.emit('fs_op', { op, errno: 0, seconds: (performance.now() - began) / 1000 });
  }

  /** The op's negative errno, once its log line (refusals and internal errors) and event are out. */
  function failed(op: string, began: number, err: unknown): number {
    const errno = toErrno(err, (bug) => log('error', `internal error in ${op}`, { error: String((bug as Error)?.stack ?? bug) }));
    if (err instanceof MlError && err.code !== 'ENOENT') log('info', `${op}: ${err.message}`, { errno: err.code });
    bus.emit('fs_op', { op, errno: -errno, seconds: (performance.now() - began) / 1000 });
    return errno;
  }

  function stat(mode: number, size = 0): Stat {
    const now = new Date();
    const isDir = (mode & DIR) !== 0;
    return { mode, size: isDir ? 4096 : size, uid: 0, gid: 0, mtime: now, atime: now, ctime: started, nlink: isDir ? 2 : 1 };
  }

  function sessionOf(model: string) {
    return registry.get(model) ?? fail('ENOENT', `no model ${model}`);
  }

  function kindOf(file: string): FileKind {
    return modelFile(file, opts.testFiles) ?? fail('ENOENT', `no file ${file}`);
  }

  function resolveFile(path: string): { kind: FileKind | undefined; rootKind?: (typeof ROOT_FILES)[keyof typeof ROOT_FILES]; model?: string; file: string } {
    const node = parsePath(path);
    if (node.kind === 'root_file') {
      const rootKind = rootFile(node.file) ?? fail('ENOENT', `no file ${node.file}`);
      return { kind: undefined, rootKind, file: node.file };
    }
    if (node.kind === 'model_file' || node.kind === 'model_subdir_file') {
      sessionOf(node.model);
      const file = node.kind === 'model_file' ? node.file : `${node.dir}/${node.file}`;
      if (node.kind === 'model_file' && isModelSubdir(file)) fail('EISDIR', `${path} is a directory`);
      return { kind: kindOf(file), model: node.model, file };
    }
    if (node.kind === 'root' || node.kind === 'models' || node.kind === 'model') fail('EISDIR', `${path} is a directory`);
    return fail('ENOENT', `no such path ${path}`);
  }

  function handleOf(fd: number): Handle {
    return handles.get(fd) ?? fail('EBADF', `no open file ${fd}`);
  }

  /**
   * The one lifecycle refusal: a file opened before its model was removed (rmdir) outlives the
   * directory, and libfuse's path-based API cannot name it any more, so everything on it is ENOENT.
   */
  function liveHandle(fd: number): Handle {
    const h = handleOf(fd);
    if (h.session && h.session.state === 'shutting_down') fail('ENOENT', `model ${h.session.name} was removed`);
    return h;
  }

  /** Render a file's content for the handle; a read at offset 0 always renders afresh. */
  function content(h: Handle): Buffer {
    if (!h.session) {
      const rootKind = rootFile(h.file) as (typeof ROOT_FILES)[keyof typeof ROOT_FILES];
      return Buffer.from(rootKind.read({ registry, version: opts.version }));
    }
    const kind = kindOf(h.file);
    if (!kind.read) fail('EACCES', `${h.file} is write-only`);
    const out = kind.read({ registry, session: h.session, handle: h });
    return typeof out === 'string' ? Buffer.from(out) : out;
  }

  /** close() and fsync() both end what the handle's writes collected. */
  function finishWrites(fd: number): unknown[] | Promise<unknown[]> {
    const h = handleOf(fd);
    const flush = h.session && h.writable ? kindOf(h.file).flush : undefined;
    if (!flush) return [];
    const done = flush({ registry, session: liveHandle(fd).session as Session, handle: h });
    return done instanceof Promise ? done.then(() => []) : [];
  }

  return {
    init(cb: Callback) {
      cb(0);
    },
    getattr(path: string, cb: Callback) {
      run('getattr', cb, () => {
        const node = parsePath(path);
        switch (node.kind) {
          case 'root':
            return [stat(DIR | 0o555)];
          case 'models':
            return [stat(DIR | 0o755)];
          case 'model':
            sessionOf(node.model);
            return [stat(DIR | 0o555)];
          default: {
            if (node.kind === 'model_file' && isModelSubdir(node.file)) {
              sessionOf(node.model);
              return [stat(DIR | 0o555)];
            }
            const f = resolveFile(path);
            if (f.rootKind) return [stat(FILE | f.rootKind.mode)];
            const kind = f.kind as FileKind;
            return [stat(FILE | kind.mode, kind.size?.({ session: sessionOf(f.model as string) }) ?? 0)];
          }
        }
      });
    },
    readdir(path: string, cb: Callback) {
      run('readdir', cb, () => {
        const node = parsePath(path);
        if (node.kind === 'root') return [[...Object.keys(ROOT_FILES), MODELS_DIR]];
        if (node.kind === 'models') return [registry.names()];
        if (node.kind === 'model' || (node.kind === 'model_file' && isModelSubdir(node.file))) {
          sessionOf(node.model);
          return [modelDirEntries(node.kind === 'model' ? '' : node.file, opts.testFiles) ?? []];
        }
        resolveFile(path);
        return fail('ENOTDIR', `${path} is not a directory`);
      });
    },
    open(path: string, flags: number, cb: Callback) {
      run('open', cb, () => {
        const f = resolveFile(path);
        const access = flags & 3;
        const wantsRead = access === fsc.O_RDONLY || access === fsc.O_RDWR;
        const wantsWrite = access === fsc.O_WRONLY || access === fsc.O_RDWR;
        // Root passes the kernel's mode-bit check on every file, so the table's capabilities are enforced here too.
        const canRead = f.rootKind ? true : !!(f.kind?.read || f.kind?.readAt);
        const canWrite = f.rootKind ? false : !!f.kind?.write;
        if ((wantsRead && !canRead) || (wantsWrite && !canWrite))
          fail('EACCES', `${path}: opened for ${wantsWrite ? 'writing' : 'reading'}, which it does not support`);
        const session = f.model ? sessionOf(f.model) : undefined;
        openFiles.acquire(f.model);
        const handle = handles.add(f.file, session, wantsWrite);
        if (wantsWrite && session) f.kind?.openForWrite?.({ registry, session, handle });
        return [handle.id];
      });
    },
    read(path: string, fd: number, buf: Buffer, len: number, offset: number, cb: (n: number) => void) {
      runBytes('read', cb, () => {
        const h = liveHandle(fd);
        if (h.result) {
          // A transaction's answer starts wherever the first read after the write is: pread at 0 (the kernel)
          // and a shell reading on from where its write left the offset both see the whole answer.
          if (h.resultBase === undefined || offset < h.resultBase) h.resultBase = offset;
          return copyOut(h.result, buf, len, offset - h.resultBase);
        }
        const readAt = h.session && kindOf(h.file).readAt;
        if (readAt) return readAt({ registry, session: h.session as Session, handle: h }, offset, len).copy(buf);
        if (offset === 0 || !h.snapshot) h.snapshot = content(h);
        return copyOut(h.snapshot, buf, len, offset);
      });
    },
    write(path: string, fd: number, buf: Buffer, len: number, _offset: number, cb: (n: number) => void) {
      runBytes('write', cb, () => {
        const h = liveHandle(fd);
        if (!h.session) fail('EACCES', `${path} is read-only`);
        const kind = kindOf(h.file);
        if (!kind.write) fail('EACCES', `${path} is read-only`);
        if (!kind.bulkWrite) bulk.sawInteractive(performance.now()); // a transaction's or a control's write
        // Files whose writes collect until close (dataset) are decoded as they stream; every other write is parsed whole.
        if (!kind.flush) checkWriteSize(h.session, h.file, len);
        // The binding reuses `buf` after we answer; anything kept must be copied, which the handlers do.
        const ctx = { registry, session: h.session as NonNullable<Handle['session']>, handle: h };
        const data = buf.subarray(0, len);
        // Big bulk writes wait for the requests already queued (transactions first), a piece per turn; `buf` stays
        // ours until we answer.
        const write = kind.write;
        const done = kind.bulkWrite && len >= BULK_WRITE_MIN_BYTES ? bulk.write(data, (piece) => write(ctx, piece)) : write(ctx, data);
        return done instanceof Promise ? done.then(() => len) : len;
      });
    },
    flush(path: string, fd: number, cb: Callback) {
      run('flush', cb, () => finishWrites(fd));
    },
    fsync(path: string, _datasync: boolean, fd: number, cb: Callback) {
      run('fsync', cb, () => finishWrites(fd));
    },
    release(path: string, fd: number, cb: Callback) {
      run('release', cb, () => {
        const h = handles.get(fd);
        if (h) openFiles.release(h.session?.name);
        // A batch its close did not store (the model was removed first) gives its blocks back.
        h?.batch?.abort();
        handles.remove(fd);
        return [];
      });
    },
    truncate(path: string, _size: number, cb: Callback) {
      // `echo x > file` truncates before writing; files hold no bytes of their own, so there is nothing to cut.
      run('truncate', cb, () => {
        const f = resolveFile(path);
        if (f.rootKind || !f.kind?.write) fail('EACCES', `${path} is read-only`);
        return [];
      });
    },
    ftruncate(path: string, fd: number, _size: number, cb: Callback) {
      run('ftruncate', cb, () => {
        handleOf(fd);
        return [];
      });
    },
    mkdir(path: string, _mode: number, cb: Callback) {
      run('mkdir', cb, () => {
        const node = parsePath(path);
        if (node.kind !== 'model') fail('EPERM', `mkdir is only allowed in /${MODELS_DIR}`);
        return registry.create(node.model).then(() => []);
      });
    },
    rmdir(path: string, cb: Callback) {
      run('rmdir', cb, () => {
        const node = parsePath(path);
        if (node.kind !== 'model') fail('EPERM', `rmdir is only allowed in /${MODELS_DIR}`);
        return registry.destroy(node.model).then(() => []);
      });
    },
    create(path: string, _mode: number, cb: Callback) {
      run('create', cb, () => fail('EPERM', `${path}: files cannot be created here`));
    },
    unlink(path: string, cb: Callback) {
      run('unlink', cb, () => fail('EPERM', `${path}: files cannot be removed; rmdir the model instead`));
    },
    rename(src: string, _dest: string, cb: Callback) {
      run('rename', cb, () => fail('EPERM', `${src}: nothing here can be renamed`));
    },
    get openHandles() {
      return handles.size;
    },
  };
}

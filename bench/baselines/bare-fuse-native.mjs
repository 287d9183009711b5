// The fuse-native floor: the same three files as bare-libfuse.c, served by fuse-native through mlproxy's
// own mount() (src/fs/mount.ts), so the options (direct_io, attr_timeout=0, big_writes, …) are exactly
// mlproxy's. Handlers answer at once; what is left is the binding's and the kernel's cost. Its FUSE threads keep
// the server's priority, as any fuse-native server's do, unless BARE_FUSE_NICE_BOOST raises them as mlproxy
// does its own (src/fs/fuse-threads.ts; bench/mlds-ab.mjs --bare-nice-boost measures that for reference). Its opens
// do not allow parallel direct writes, as fuse-native's cannot, unless BARE_PARALLEL_WRITES=1 (src/fs/mount.ts;
// bench/mlds-ab.mjs --bare-parallel-writes). fuse-native's own wrapper answers its ops, as in any fuse-native server,
// unless BARE_HOT_DISPATCH=1 has mlproxy's (src/fs/dispatch.ts; bench/mlds-ab.mjs --bare-hot-dispatch).
//   node bench/baselines/bare-fuse-native.mjs MOUNTPOINT     (needs npm run build; stops on SIGTERM/SIGINT)
import { mount } from '../../dist/fs/mount.js';

const SINK_RING_BYTES = 64 << 20;
const DIR = 0o040000;
const FILE = 0o100000;
const MODES = { '/sink': FILE | 0o644, '/txn': FILE | 0o644, '/stats': FILE | 0o444 };

// Every page written once now: a fresh allocation is mapped lazily, and its first 64 MiB of writes paid a page
// fault per 4 KiB (about a quarter of the later rate for the first 14 batches of the benchmark's data), while
// mlproxy's blocks and buffer are warm after its first batch.
const sink = Buffer.alloc(SINK_RING_BYTES).fill(0xa5);
let sinkAt = 0;
let sinkBytes = 0;
let sinkWrites = 0;
let transactions = 0;
const open = new Map(); // fd → { path, answer }
let nextFd = 1;
const started = new Date();

const stat = (mode) => ({ mode, size: mode & DIR ? 4096 : 0, uid: 0, gid: 0, mtime: started, atime: started, ctime: started, nlink: mode & DIR ? 2 : 1 });

const ops = {
  init: (cb) => cb(0),
  getattr(path, cb) {
    if (path === '/') return cb(0, stat(DIR | 0o755));
    return MODES[path] ? cb(0, stat(MODES[path])) : cb(-2);
  },
  readdir: (path, cb) => (path === '/' ? cb(0, ['sink', 'txn', 'stats']) : cb(-20)),
  open(path, flags, cb) {
    if (!MODES[path]) return cb(-2);
    const fd = nextFd++;
    open.set(fd, { path, answer: undefined });
    cb(0, fd);
  },
  read(path, fd, buf, len, offset, cb) {
    const f = open.get(fd);
    if (f.path === '/stats' && offset === 0) {
      f.answer = Buffer.from(`sink_bytes ${sinkBytes}\nsink_writes ${sinkWrites}\ntransactions ${transactions}\nstate ready\nring_bytes ${SINK_RING_BYTES}\n`);
    }
    if (!f.answer || offset >= f.answer.length) return cb(0);
    cb(f.answer.copy(buf, 0, offset, Math.min(f.answer.length, offset + len)));
  },
  write(path, fd, buf, len, offset, cb) {
    const f = open.get(fd);
    if (f.path === '/txn') {
      f.answer = Buffer.from(buf.subarray(0, Math.min(len, 4096))); // the binding reuses buf: keep a copy
      transactions++;
      return cb(len);
    }
    if (f.path !== '/sink') return cb(-13);
    for (let done = 0; done < len;) {
      const n = Math.min(len - done, SINK_RING_BYTES - sinkAt);
      buf.copy(sink, sinkAt, done, done + n);
      sinkAt = (sinkAt + n) % SINK_RING_BYTES;
      done += n;
    }
    sinkBytes += len;
    sinkWrites++;
    cb(len);
  },
  truncate: (path, size, cb) => cb(MODES[path] ? 0 : -2),
  ftruncate: (path, fd, size, cb) => cb(0),
  flush: (path, fd, cb) => cb(0),
  fsync: (path, datasync, fd, cb) => cb(0),
  release(path, fd, cb) {
    open.delete(fd);
    cb(0);
  },
};

const mounted = await mount(process.argv[2], ops, {
  fuseNiceBoost: Number(process.env.BARE_FUSE_NICE_BOOST ?? 0),
  parallelDirectWrites: process.env.BARE_PARALLEL_WRITES === '1',
  hotDispatch: process.env.BARE_HOT_DISPATCH === '1' ? { onTimeout: (op, path) => console.error(`${op} ${path} timed out`) } : undefined,
});
const stop = () =>
  mounted.unmount().then(
    () => process.exit(0),
    () => process.exit(1),
  );
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// Owns the FUSE binding mlproxy runs on: fuse-native 2.2.6 built from its own source with three changes of ours: a
// libfuse worker thread that exits gives back what the binding set up for it, the mount can answer opens so that
// the kernel runs direct writes to one file side by side, and the binding counts the requests waiting for the
// JavaScript thread.
//   node native/build-fuse-binding.mjs          build it (skipped when the build is current), install it where
//                                               fuse-native loads it first (node_modules/fuse-native/build/Release)
//   node native/build-fuse-binding.mjs --check  exit 1 unless the binding fuse-native loads is this build
//
// Why: libfuse 2.9 starts a worker whenever every worker is busy and ends one when more than ten are idle, so a
// burst of slow requests (closes waiting for fdatasync under --state-dir) starts and ends hundreds of threads. The
// binding gives each new thread its locals (a buffer, and a uv_async_t on Node's loop) and never frees them (its
// source: `pthread_key_create(..., NULL); // TODO: add destructor`). libuv looks at every async handle on each
// wake-up of the loop, so each thread that ever existed made every later request slower: after eight strict floods
// (about 3,600 threads) an idle transaction took 205 µs, against 87 on this build (docs/ceilings-passes.md, fifteenth
// pass; bench/idle-after-floods.mjs).
// The fix: a destructor on the thread's key keeps an exiting worker's locals for the next worker the mount starts, so
// the loop holds as many as workers ever ran at once, and a new worker needs no round trip to the loop thread. The
// binding also counts them (fuse_native_thread_locals: locals made, and times a worker took spare ones).
// Parallel direct writes: the kernel holds a file's inode lock exclusively across each direct write unless the open's
// answer carries FOPEN_PARALLEL_DIRECT_WRITES (Linux 6.2), which libfuse 2.9 cannot set; the mount runs on a channel
// of ours over libfuse's /dev/fuse descriptor that adds it, when fuse_native_parallel_direct_writes(true) was called
// before the mount (src/fs/mount.ts says when that helps; docs/ceilings-passes.md, seventeenth pass, measures it).
// The count: JavaScript decoding a big dataset write in pieces goes on to the next piece only while no other request
// waits for its thread (src/fs/bulk-queue.ts; eighteenth pass). Big writes themselves are left out of the count. A
// worker's first request (no spare locals) waits for the thread twice, for its locals and then as a request: both
// count (the first regardless of what the request is, which is not known yet).
//
// Needs g++, make and python3 with Node's headers (node-gyp; npm's nodedir), which mount-scripts/setup.sh installs.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { nodeGypRebuild } from './node-gyp.mjs';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(join(root, 'package.json'));
const pkgDir = dirname(require.resolve('fuse-native/package.json'));
const VERSION = '2.2.6';
const buildDir = join(root, 'build', 'fuse-binding');
const installed = join(pkgDir, 'build', 'Release', 'fuse.node');
const stampFile = join(pkgDir, 'build', 'Release', 'mlproxy-build.txt');

/** Each edit: the text of fuse-native.c it follows (which must occur exactly once) and what goes after it. */
const EDITS = [
  {
    why: 'the counts the binding reports, as a two-element array',
    after: '#include <napi-macros.h>\n',
    insert: `
// mlproxy: [a, b] for JavaScript.
static napi_value uint32_pair (napi_env env, uint32_t a, uint32_t b) {
  napi_value out, first, second;
  napi_create_array_with_length(env, 2, &out);
  napi_create_uint32(env, a, &first);
  napi_create_uint32(env, b, &second);
  napi_set_element(env, out, 0, first);
  napi_set_element(env, out, 1, second);
  return out;
}
`,
  },
  {
    why: 'the mount keeps the locals of its exited threads for the threads it starts next',
    after: '  uv_async_t async;\n  uv_mutex_t mut;\n  uv_sem_t sem;\n',
    insert: '  uv_mutex_t spare_mut;\n  void *spare;\n',
  },
  {
    why: "a thread's locals chain to the next spare ones, and say whether their request counts as waiting",
    after: '  fuse_thread_t *fuse;\n  uv_sem_t sem;\n  uv_async_t async;\n',
    insert: '  void *next_spare;\n  int waiting_counted;\n',
  },
  {
    why: 'the spares and the counts',
    after: 'static fuse_thread_locals_t* get_thread_locals();\n',
    insert: `
// mlproxy: a libfuse worker that exits leaves its locals (their uv_async_t still on the loop, their semaphore at 0,
// since it has answered its last request) to the next worker the mount starts, which then needs no round trip to
// the loop thread to get its own. So the loop holds at most as many of them as workers ever ran at once.
static uint32_t made_thread_locals = 0;
static uint32_t reused_thread_locals = 0;

// Runs on the exiting thread: its key's destructor.
static void thread_locals_spare (void *data) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) data;
  fuse_thread_t *ft = l->fuse;
  uv_mutex_lock(&(ft->spare_mut));
  l->next_spare = ft->spare;
  ft->spare = l;
  uv_mutex_unlock(&(ft->spare_mut));
}

static fuse_thread_locals_t* take_spare_thread_locals (fuse_thread_t *ft) {
  uv_mutex_lock(&(ft->spare_mut));
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) ft->spare;
  if (l != NULL) {
    ft->spare = l->next_spare;
    __atomic_add_fetch(&reused_thread_locals, 1, __ATOMIC_RELAXED);
  }
  uv_mutex_unlock(&(ft->spare_mut));
  return l;
}

// [locals made (each a uv_async_t on the loop for good), times a new worker took spare ones]
NAPI_METHOD(fuse_native_thread_locals) {
  return uint32_pair(env, __atomic_load_n(&made_thread_locals, __ATOMIC_RELAXED),
                     __atomic_load_n(&reused_thread_locals, __ATOMIC_RELAXED));
}
`,
  },
  {
    why: 'a new worker takes spare locals before asking the loop thread for new ones',
    after: '  if (data != NULL) {\n    return (fuse_thread_locals_t *) data;\n  }\n',
    insert:
      '\n  fuse_thread_locals_t *spare = take_spare_thread_locals(ft);\n' +
      '  if (spare != NULL) {\n    pthread_setspecific(thread_locals_key, (void *) spare);\n    return spare;\n  }\n',
  },
  {
    why: 'count the locals made',
    after: '  l->async.data = l;\n  ft->async.data = l;\n  l->fuse = ft;\n',
    insert: '  __atomic_add_fetch(&made_thread_locals, 1, __ATOMIC_RELAXED);\n',
  },
  {
    why: 'the mount starts with no spares',
    after: '  uv_mutex_init(&(ft->mut));\n  uv_sem_init(&(ft->sem), 0);\n',
    insert: '  uv_mutex_init(&(ft->spare_mut));\n  ft->spare = NULL;\n',
  },
  {
    why: 'opens answered with parallel direct writes allowed, when asked for',
    after: '#include <sys/wait.h>\n#include <pthread.h>\n',
    insert: `#include <errno.h>
#include <stdint.h>
#include <sys/uio.h>

// mlproxy: the kernel (6.2 and later) holds a file's inode lock exclusively across every direct write to it unless
// the server's answer to the open carries FOPEN_PARALLEL_DIRECT_WRITES, so sixteen clients running transactions on
// one file queue behind each other's writes in the kernel, however fast the server answers. libfuse 2.9 has no way
// to set that flag (it copies three bits of fuse_file_info into the answer), so a mount that allows it gets a
// channel of ours over libfuse's /dev/fuse descriptor: it reads requests as libfuse's own channel does, remembers on
// each thread whether the request it read was an open, and adds the flag to that open's answer when it is a
// direct-I/O one.
// libfuse answers a request on the thread that read it, so a per-thread note is enough; an answer it does not
// match goes out untouched. Layouts and values from the kernel's uapi <linux/fuse.h>, protocol 7.36.
#define MLP_FUSE_OPEN 14
#define MLP_FUSE_CREATE 35
#define MLP_FOPEN_DIRECT_IO (1u << 0)
#define MLP_FOPEN_PARALLEL_DIRECT_WRITES (1u << 6)

struct mlp_in_header { uint32_t len; uint32_t opcode; uint64_t unique; };
struct mlp_out_header { uint32_t len; int32_t error; uint64_t unique; };
struct mlp_open_out { uint64_t fh; uint32_t open_flags; uint32_t padding; };

// Set by fuse_native_parallel_direct_writes for the mounts made after it: those run on our channel.
static int parallel_direct_writes_wanted = 0;
static uint32_t parallel_opens_answered = 0;

static __thread uint64_t opening_unique = 0; // the open this thread read last, until it is answered

static int mlp_channel_receive (struct fuse_chan **chp, char *buf, size_t size) {
  struct fuse_chan *ch = *chp;
  struct fuse_session *se = fuse_chan_session(ch);
  for (;;) {
    ssize_t got = read(fuse_chan_fd(ch), buf, size);
    int err = errno;
    if (se != NULL && fuse_session_exited(se)) return 0;
    if (got < 0) {
      if (err == ENOENT) continue; // the request was interrupted before we read it
      if (err == ENODEV) { // unmounted
        if (se != NULL) fuse_session_exit(se);
        return 0;
      }
      if (err != EINTR && err != EAGAIN) perror("fuse: reading device");
      return -err;
    }
    if ((size_t) got < sizeof(struct mlp_in_header)) {
      fprintf(stderr, "fuse: short read on the device\\n");
      return -EIO;
    }
    const struct mlp_in_header *in = (const struct mlp_in_header *) buf;
    opening_unique = (in->opcode == MLP_FUSE_OPEN || in->opcode == MLP_FUSE_CREATE) ? in->unique : 0;
    return (int) got;
  }
}

static int mlp_channel_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {
  if (iov == NULL) return 0;
  struct iovec marked[3];
  struct mlp_open_out open_out;
  const struct mlp_out_header *out = (const struct mlp_out_header *) iov[0].iov_base;
  // An open's answer is the header and one block ending in fuse_open_out (a create's: fuse_entry_out before it).
  if (opening_unique != 0 && count == 2 &&
      iov[0].iov_len == sizeof(struct mlp_out_header) && out->unique == opening_unique && out->error == 0 &&
      iov[1].iov_len >= sizeof(open_out)) {
    size_t before = iov[1].iov_len - sizeof(open_out);
    memcpy(&open_out, (const char *) iov[1].iov_base + before, sizeof(open_out));
    if (open_out.open_flags & MLP_FOPEN_DIRECT_IO) {
      open_out.open_flags |= MLP_FOPEN_PARALLEL_DIRECT_WRITES;
      size_t n = 0;
      marked[n++] = iov[0];
      if (before > 0) marked[n].iov_base = iov[1].iov_base, marked[n++].iov_len = before;
      marked[n].iov_base = &open_out, marked[n++].iov_len = sizeof(open_out);
      iov = marked;
      count = n;
      __atomic_add_fetch(&parallel_opens_answered, 1, __ATOMIC_RELAXED);
    }
  }
  opening_unique = 0;
  if (writev(fuse_chan_fd(ch), iov, (int) count) < 0) {
    int err = errno;
    struct fuse_session *se = fuse_chan_session(ch);
    // ENOENT: the request was interrupted and its answer is not wanted.
    if (err != ENOENT && (se == NULL || !fuse_session_exited(se))) perror("fuse: writing device");
    return -err;
  }
  return 0;
}

static void mlp_channel_destroy (struct fuse_chan *ch) {
  int fd = fuse_chan_fd(ch);
  if (fd != -1) close(fd);
}

static struct fuse_chan_ops mlp_channel_ops = {
  .receive = mlp_channel_receive,
  .send = mlp_channel_send,
  .destroy = mlp_channel_destroy,
};

// libfuse's channel for a new mount, swapped for ours on a duplicate of its descriptor (libfuse 2.9 exports no way to
// take the descriptor from its channel, and destroying the channel closes it); on any failure the mount keeps
// libfuse's channel. Only mounts that allow parallel direct writes get ours, so turning that off runs libfuse's own
// channel exactly as before.
static struct fuse_chan* mlp_own_channel (struct fuse_chan *kernel) {
  int fd = dup(fuse_chan_fd(kernel));
  struct fuse_chan *ch = fd < 0 ? NULL : fuse_chan_new(&mlp_channel_ops, fd, fuse_chan_bufsize(kernel), NULL);
  if (ch == NULL) {
    if (fd >= 0) close(fd);
    return kernel;
  }
  fuse_chan_destroy(kernel);
  return ch;
}

// fuse_native_parallel_direct_writes(on?) → [on for the next mounts (0/1), opens answered with the flag so far]
NAPI_METHOD(fuse_native_parallel_direct_writes) {
  NAPI_ARGV(1)
  bool on = false;
  if (napi_get_value_bool(env, argv[0], &on) == napi_ok) parallel_direct_writes_wanted = on ? 1 : 0;
  return uint32_pair(env, (uint32_t) parallel_direct_writes_wanted,
                     __atomic_load_n(&parallel_opens_answered, __ATOMIC_RELAXED));
}
`,
  },
  {
    why: 'the count of requests waiting for the JavaScript thread',
    after: 'static fuse_thread_locals_t* get_thread_locals();\n',
    insert: `
// mlproxy: requests handed to the JavaScript thread and not yet taken by it, big writes (bulk data) left out, so that
// JavaScript working through bulk data in pieces can tell whether someone waits behind it (src/fs/bulk-queue.ts).
static uint32_t requests_waiting = 0;
static size_t bulk_write_min_bytes = SIZE_MAX;

static void count_waiting (fuse_thread_locals_t *l) {
  l->waiting_counted = !(l->op == op_write && l->len >= bulk_write_min_bytes);
  if (l->waiting_counted) __atomic_add_fetch(&requests_waiting, 1, __ATOMIC_RELAXED);
}

// Runs on the JavaScript thread as it takes the request.
static void count_taken (fuse_thread_locals_t *l) {
  if (l->waiting_counted) __atomic_sub_fetch(&requests_waiting, 1, __ATOMIC_RELAXED);
  l->waiting_counted = 0;
}

// requests_waiting() -> the count; requests_waiting(bytes) also leaves writes of at least that many bytes uncounted
// from now on.
NAPI_METHOD(fuse_native_requests_waiting) {
  NAPI_ARGV(1)
  uint32_t bytes;
  if (napi_get_value_uint32(env, argv[0], &bytes) == napi_ok) bulk_write_min_bytes = bytes;
  napi_value out;
  napi_create_uint32(env, __atomic_load_n(&requests_waiting, __ATOMIC_RELAXED), &out);
  return out;
}
`,
  },
  {
    why: "a new worker's first request waits for the JavaScript thread to make the worker's locals: that counts too",
    after: '    return spare;\n  }\n',
    insert:
      '\n  // mlproxy: counted before the lock, so that every new worker waiting for its locals counts.\n' +
      '  __atomic_add_fetch(&requests_waiting, 1, __ATOMIC_RELAXED);\n',
  },
  {
    why: 'until the locals are made (the request itself is counted again as it is handed over, microseconds later)',
    after: '  uv_async_send(&(ft->async));\n  uv_sem_wait(&(ft->sem));\n',
    insert: '  __atomic_sub_fetch(&requests_waiting, 1, __ATOMIC_RELAXED);\n',
  },
  {
    why: 'a request counts as waiting from its hand-over to the JavaScript thread',
    after: '  l->op_fn = fuse_native_dispatch_##name;\\\n  blk\\\n',
    insert: '  count_waiting(l);\\\n',
  },
  {
    why: 'until the JavaScript thread takes it',
    after: '  void (*fn)(uv_async_t *, fuse_thread_locals_t *, fuse_thread_t *) = l->op_fn;\n',
    insert: '  count_taken(l);\n',
  },
  {
    why: "the mount runs on our channel when it allows parallel direct writes (otherwise on libfuse's own, as before)",
    after: '  if (ch == NULL) {\n    napi_throw_error(env, "fuse failed", "fuse failed");\n    return NULL;\n  }\n',
    insert: '  if (parallel_direct_writes_wanted) ch = mlp_own_channel(ch);\n',
  },
  {
    why: 'the export',
    after: '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n',
    insert:
      '  NAPI_EXPORT_FUNCTION(fuse_native_thread_locals)\n  NAPI_EXPORT_FUNCTION(fuse_native_parallel_direct_writes)\n' +
      '  NAPI_EXPORT_FUNCTION(fuse_native_requests_waiting)\n',
  },
];
/** The one line replaced rather than followed: the key gets its destructor. */
const KEY_BEFORE = '  pthread_key_create(&(thread_locals_key), NULL); // TODO: add destructor\n';
const KEY_AFTER = '  pthread_key_create(&(thread_locals_key), thread_locals_spare);\n';

const BINDING_GYP = {
  targets: [
    {
      target_name: 'fuse',
      include_dirs: ['<!(node -e "require(\'napi-macros\')")', '<!(node -e "require(\'fuse-shared-library/include\')")'],
      libraries: ['<!(node -e "require(\'fuse-shared-library/lib\')")'],
      sources: ['fuse-native.c'],
      cflags: ['-g', '-O3', '-Wall'],
    },
  ],
};

function fail(message) {
  console.error(`build-fuse-binding: ${message}`);
  process.exit(1);
}

function patchedSource() {
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  if (version !== VERSION) fail(`fuse-native is ${version}; this fix is written against ${VERSION} (package.json pins it)`);
  let c = readFileSync(join(pkgDir, 'fuse-native.c'), 'utf8');
  const once = (text, what) => {
    const at = c.indexOf(text);
    if (at < 0 || c.indexOf(text, at + 1) >= 0) fail(`fuse-native.c does not hold exactly one place for ${what}`);
    return at;
  };
  for (const e of EDITS) {
    const at = once(e.after, e.why) + e.after.length;
    c = c.slice(0, at) + e.insert + c.slice(at);
  }
  const key = once(KEY_BEFORE, "the key's destructor");
  return c.slice(0, key) + KEY_AFTER + c.slice(key + KEY_BEFORE.length);
}

const source = patchedSource();
const stamp = `${VERSION} ${createHash('sha256').update(source).digest('hex')} node ${process.versions.modules}\n`;
const current = existsSync(installed) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;

if (process.argv.includes('--check')) {
  if (!current) fail(`${installed} is not this build: run node native/build-fuse-binding.mjs`);
  process.exit(0);
}
if (current) {
  console.log('build-fuse-binding: current');
  process.exit(0);
}
mkdirSync(buildDir, { recursive: true });
writeFileSync(join(buildDir, 'fuse-native.c'), source);
writeFileSync(join(buildDir, 'binding.gyp'), JSON.stringify(BINDING_GYP, null, 2) + '\n');
try {
  nodeGypRebuild(buildDir);
} catch (err) {
  fail(`the binding: ${err.message}`);
}
mkdirSync(dirname(installed), { recursive: true });
copyFileSync(join(buildDir, 'build', 'Release', 'fuse.node'), installed);
writeFileSync(stampFile, stamp);
console.log(`build-fuse-binding: built and installed ${installed}`);

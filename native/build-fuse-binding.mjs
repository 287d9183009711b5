// Owns the FUSE binding mlproxy runs on: fuse-native 2.2.6 built from its own source with one fix of ours, so that a
// libfuse worker thread that exits gives back what the binding set up for it.
//   node native/build-fuse-binding.mjs          build it (skipped when the build is current), install it where
//                                               fuse-native loads it first (node_modules/fuse-native/build/Release)
//   node native/build-fuse-binding.mjs --check  exit 1 unless the binding fuse-native loads is this build
//
// Why: libfuse 2.9 starts a worker whenever every worker is busy and ends one when more than ten are idle, so a
// burst of slow requests (closes waiting for fdatasync under --state-dir) starts and ends hundreds of threads. The
// binding gives each new thread its locals (a buffer, and a uv_async_t on Node's loop) and never frees them (its
// source: `pthread_key_create(..., NULL); // TODO: add destructor`). libuv looks at every async handle on each
// wake-up of the loop, so each thread that ever existed made every later request slower: after eight strict floods
// (about 3,600 threads) an idle transaction took 205 µs, against 87 on this build (docs/performance.md, fifteenth
// pass; bench/idle-after-floods.mjs).
// The fix: a destructor on the thread's key keeps an exiting worker's locals for the next worker the mount starts, so
// the loop holds as many as workers ever ran at once, and a new worker needs no round trip to the loop thread. The
// binding also counts them (fuse_native_thread_locals: locals made, and times a worker took spare ones).
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
    why: 'the mount keeps the locals of its exited threads for the threads it starts next',
    after: '  uv_async_t async;\n  uv_mutex_t mut;\n  uv_sem_t sem;\n',
    insert: '  uv_mutex_t spare_mut;\n  void *spare;\n',
  },
  {
    why: "a thread's locals chain to the next spare ones",
    after: '  fuse_thread_t *fuse;\n  uv_sem_t sem;\n  uv_async_t async;\n',
    insert: '  void *next_spare;\n',
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
  napi_value out, made, reused;
  napi_create_array_with_length(env, 2, &out);
  napi_create_uint32(env, __atomic_load_n(&made_thread_locals, __ATOMIC_RELAXED), &made);
  napi_create_uint32(env, __atomic_load_n(&reused_thread_locals, __ATOMIC_RELAXED), &reused);
  napi_set_element(env, out, 0, made);
  napi_set_element(env, out, 1, reused);
  return out;
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
    why: 'the export',
    after: '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n',
    insert: '  NAPI_EXPORT_FUNCTION(fuse_native_thread_locals)\n',
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

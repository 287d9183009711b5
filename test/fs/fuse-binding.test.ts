// The FUSE binding the server runs on is our build of fuse-native (native/build-fuse-binding.mjs): libfuse ends
// the workers a burst of slow requests started, and the next burst's workers take their locals instead of each
// leaving a new handle on the event loop; and opens can be answered so that the kernel runs direct writes to one
// file side by side; and it counts the requests waiting for the JavaScript thread. Real mounts in this process,
// clients from a shell.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mount } from '../../src/fs/mount.js';
import { BULK_WRITE_MIN_BYTES } from '../../src/fs/bulk-queue.js';
import { threadLocalCounts, parallelOpensAnswered, waitingRequests } from '../../src/fs/fuse-binding.js';
import { ROOT, startServer } from '../helpers/server.js';

const CONTENT = Buffer.from('slow answer\n');
const SLOW_MS = 150;
const READERS = 40;

/** Just enough of a file system for one file, `name` at the root, with `mode` and `size` as its attributes. */
function oneFileOps(name: string, mode: number, size: number) {
  const file = { mode, size, uid: 0, gid: 0, nlink: 1, mtime: new Date(), atime: new Date(), ctime: new Date() };
  const dir = { ...file, mode: 0o40000 | (mode & 0o777) | 0o111, size: 4096, nlink: 2 };
  return {
    getattr: (path: string, cb: (err: number, stat?: object) => void) => (path === '/' ? cb(0, dir) : path === `/${name}` ? cb(0, file) : cb(-2)),
    readdir: (path: string, cb: (err: number, names?: string[]) => void) => cb(0, [name]),
    open: (path: string, flags: number, cb: (err: number, fd?: number) => void) => cb(0, 1),
    release: (path: string, fd: number, cb: (err: number) => void) => cb(0),
  };
}

/** A shell script run from a child process (never this one: it serves the mount); its stdout. */
function shell(script: string, who: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${who} exited with ${code}`))));
  });
}

async function unmountAndRemove(mounted: { unmount(): Promise<void> }, dir: string): Promise<void> {
  await mounted.unmount().catch(() => spawnSync('fusermount', ['-uz', dir]));
  rmSync(dir, { recursive: true, force: true });
}

/** One file whose reads answer after SLOW_MS, so READERS of them overlap. */
function slowOps() {
  return {
    ...oneFileOps('slow', 0o100444, CONTENT.length),
    read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void) => {
      setTimeout(() => cb(pos >= CONTENT.length ? 0 : CONTENT.copy(buf, 0, pos, Math.min(CONTENT.length, pos + len))), SLOW_MS);
    },
  };
}

/** READERS concurrent cats of the slow file. */
function burst(dir: string): Promise<string> {
  return shell(`for i in $(seq ${READERS}); do cat "${dir}/slow" & done; wait`, 'readers');
}

t.test('the binding fuse-native loads is the fixed build', async (t) => {
  t.ok(threadLocalCounts(), 'it counts its thread locals (the prebuilt binding does not)');
  const check = spawnSync(process.execPath, [join(ROOT, 'native/build-fuse-binding.mjs'), '--check'], { encoding: 'utf8' });
  t.equal(check.status, 0, `and it is the build of this checkout's fix ${check.stderr}`);
});

t.test("workers libfuse ends leave their locals to the next burst's workers", async (t) => {
  const before = threadLocalCounts();
  if (!before) return t.fail('the prebuilt binding is loaded: run node native/build-fuse-binding.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-binding-'));
  const mounted = await mount(dir, slowOps(), { fuseNiceBoost: 0, parallelDirectWrites: false });
  t.teardown(() => unmountAndRemove(mounted, dir));
  // Per burst: locals made, and times a new worker took spare ones (their sum is the workers the burst started).
  const made: number[] = [];
  const reused: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = threadLocalCounts() as NonNullable<typeof before>;
    const out = await burst(dir);
    t.equal(out, CONTENT.toString().repeat(READERS), `burst ${i + 1}: every reader got the whole file`);
    const end = threadLocalCounts() as NonNullable<typeof before>;
    made.push(end.made - start.made);
    reused.push(end.reused - start.reused);
  }
  // libfuse keeps ten idle workers and ends the rest after each burst, so every burst starts about thirty anew. A
  // burst's peak is READERS requests and their asynchronous RELEASEs at most, and libfuse starts a worker more
  // whenever none is idle, so the first burst's count moves with the machine; a later burst makes locals only for
  // the workers its peak has beyond the peaks before. The leaking build makes locals for every worker started.
  const story = `made per burst ${made.join(', ')}; spare ones taken ${reused.join(', ')}`;
  const laterStarted = made[1] + reused[1] + made[2] + reused[2];
  const laterMade = made[1] + made[2];
  t.ok(made[0] <= 2 * READERS, `the first burst made about one per worker of its peak (${story})`);
  t.ok(laterStarted >= READERS, `the later bursts started workers anew, ${laterStarted} (the leaking build makes locals for each)`);
  t.ok(laterMade <= READERS / 2, `and made locals for few of them: ${laterMade} (${story})`);
});

const HOLD_MS = 1500;

/**
 * One file, 4096 bytes long by its attributes (so a short write at 0 does not extend it), whose writes are held
 * until a second write arrives or HOLD_MS pass: `overlapped` counts writes that found another one still waiting.
 */
function pairingOps() {
  const seen = { writes: 0, overlapped: 0 };
  let waiting: (() => void) | undefined;
  return {
    ...oneFileOps('f', 0o100666, 4096),
    seen,
    write: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void) => {
      seen.writes++;
      if (waiting) {
        seen.overlapped++;
        const first = waiting;
        waiting = undefined;
        first();
        return cb(len);
      }
      const timer = setTimeout(() => {
        waiting = undefined;
        cb(len);
      }, HOLD_MS);
      waiting = () => {
        clearTimeout(timer);
        cb(len);
      };
    },
  };
}

/** Two processes writing a few bytes at offset 0 of the file, each on its own open, at the same moment. */
async function twoWriters(dir: string): Promise<void> {
  const one = `printf 'x' | dd of="${dir}/f" bs=1 conv=notrunc status=none`;
  await shell(`${one} & ${one} & wait`, 'writers');
}

/** FOPEN_PARALLEL_DIRECT_WRITES is Linux 6.2's. */
function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

t.test('with parallel direct writes allowed, the kernel sends two writes to one file together; without, one at a time', async (t) => {
  if (!kernelAtLeast(6, 2)) return t.skip('the kernel predates parallel direct writes (6.2)');
  for (const parallel of [true, false]) {
    const dir = mkdtempSync(join(tmpdir(), 'mlproxy-parallel-'));
    const ops = pairingOps();
    const opensBefore = parallelOpensAnswered();
    const mounted = await mount(dir, ops, { fuseNiceBoost: 0, parallelDirectWrites: parallel });
    try {
      t.equal(mounted.parallelDirectWrites, parallel, `the mount says parallel writes are ${parallel ? 'on' : 'off'}`);
      await twoWriters(dir);
      t.equal(ops.seen.writes, 2, 'both writes arrived');
      if (parallel) {
        t.equal(ops.seen.overlapped, 1, 'the second arrived while the first was still unanswered');
        t.ok(parallelOpensAnswered() - opensBefore >= 2, 'the opens were answered with the flag');
      } else {
        t.equal(ops.seen.overlapped, 0, 'the kernel held the second until the first was answered');
        t.equal(parallelOpensAnswered(), opensBefore, 'no open was answered with the flag');
      }
    } finally {
      await unmountAndRemove(mounted, dir);
    }
  }
});

/** Keep this thread, which serves the mounts, busy for `ms` (requests handed to it wait meanwhile). */
function blockThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Shell: open `file` on fds 3 to 3 + n - 1, each its own open file (reads on one shared open file queue for its position). */
function openFds(file: string, n: number): string {
  return Array.from({ length: n }, (_, i) => `exec ${3 + i}<"${file}"; `).join('');
}

/** Shell: one 4 KiB read from each of fds 3 to 3 + n - 1, all at once. */
function readAllAtOnce(n: number): string {
  return Array.from({ length: n }, (_, i) => `dd bs=4096 count=1 status=none <&${3 + i} >/dev/null & `).join('') + 'wait; ';
}

const AT_ONCE = 6;
const WARM_UP_READS = 16;

/**
 * `ops` mounted in a fresh directory, which teardown unmounts and removes, and the binding's count of the requests
 * waiting for this thread; undefined, after a failure, on the prebuilt binding, which does not count them.
 */
async function countingMount(t: Test, ops: object): Promise<{ count: () => number; dir: string; mnt: string } | undefined> {
  const count = waitingRequests(BULK_WRITE_MIN_BYTES);
  if (!count) return void t.fail('the prebuilt binding is loaded: run node native/build-fuse-binding.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-waiting-'));
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const mounted = await mount(mnt, ops, { fuseNiceBoost: 0, parallelDirectWrites: false });
  t.teardown(() => unmountAndRemove(mounted, mnt).then(() => rmSync(dir, { recursive: true, force: true })));
  return { count, dir, mnt };
}

/**
 * Clients from a shell: `setUp`, then, once this thread says go, `held`. Resolves once `setUp` is done, with `go` and
 * the clients' end.
 */
async function heldClients(dir: string, setUp: string, held: string): Promise<{ go: () => void; done: Promise<string> }> {
  const goFile = join(dir, 'go');
  const done = shell(`${setUp}: > "${dir}/ready"; while [ ! -e "${goFile}" ]; do sleep 0.01; done; ${held}`, 'clients');
  while (!existsSync(join(dir, 'ready'))) await new Promise((r) => setTimeout(r, 10));
  return { go: () => writeFileSync(goFile, ''), done };
}

/**
 * The kernel sends a closed file's RELEASE without waiting for it, so one may be handed over just as the clients
 * exit: let this thread take what is there before looking.
 */
async function noneWaitsOnceTaken(t: Test, count: () => number): Promise<void> {
  for (let i = 0; i < 100 && count() !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(count(), 0, 'none waits once they were taken');
}

t.test("a new worker's first request counts as waiting while the JavaScript thread makes its locals", async (t) => {
  let reads = 0;
  const ops = {
    ...oneFileOps('f', 0o100444, 0),
    read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void) => (reads++, cb(0)),
  };
  const madeBefore = threadLocalCounts()?.made ?? 0;
  const mounted = await countingMount(t, ops);
  if (!mounted) return;
  const { count, dir, mnt } = mounted;
  // A fresh mount has a worker or two with locals (the ones that took its first requests); six reads at once while
  // this thread is busy need more, and those wait for it twice: first for their locals, then as reads.
  const clients = await heldClients(dir, openFds(`${mnt}/f`, AT_ONCE), readAllAtOnce(AT_ONCE));
  const madeOpen = (threadLocalCounts()?.made ?? 0) - madeBefore;
  clients.go();
  for (let i = 0; i < 200 && count() < AT_ONCE; i++) blockThread(25);
  const waited = count();
  await clients.done;
  t.ok(madeOpen < AT_ONCE, `fewer workers had locals than reads came at once (${madeOpen})`);
  t.equal(waited, AT_ONCE, 'every read counted as waiting, those on new workers too');
  t.equal(reads, AT_ONCE, 'and each was answered once the thread was free');
  t.ok((threadLocalCounts()?.made ?? 0) - madeBefore > madeOpen, 'new workers made their locals meanwhile');
  await noneWaitsOnceTaken(t, count);
});

t.test('the binding counts requests waiting for the JavaScript thread, big writes left out', async (t) => {
  const arrived: string[] = [];
  let warmingUp = true;
  let readsAtOnce = 0;
  let mostReadsAtOnce = 0;
  const ops = {
    ...oneFileOps('f', 0o100666, 0),
    read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void) => {
      if (warmingUp) {
        // Answered late, so that the reads overlap and each takes a worker of its own.
        mostReadsAtOnce = Math.max(mostReadsAtOnce, ++readsAtOnce);
        return void setTimeout(() => (readsAtOnce--, cb(0)), 200);
      }
      arrived.push('read');
      cb(0);
    },
    write: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void) => (arrived.push(`write ${len}`), cb(len)),
  };
  const mounted = await countingMount(t, ops);
  if (!mounted) return;
  const { count, dir, mnt } = mounted;
  t.equal(count(), 0, 'none waits while the thread is free');
  // A new worker's first request counts while it waits for its locals, whatever the request (the test above), and
  // libfuse has always started one worker more than it needed. So first sixteen reads at once: libfuse then ends the
  // workers idle beyond ten, and the mount keeps their locals for any new worker. Then, with the thread kept busy, a
  // 64 KiB write, and a read 0.3 s after it.
  const clients = await heldClients(
    dir,
    `for i in $(seq ${WARM_UP_READS}); do dd if="${mnt}/f" bs=4096 count=1 status=none of=/dev/null & done; wait; ` + `exec 3<"${mnt}/f" 4<>"${mnt}/f"; `,
    `head -c 65536 /dev/zero | dd bs=65536 count=1 iflag=fullblock status=none >&4 & sleep 0.3; dd bs=4096 count=1 status=none <&3 >/dev/null; wait`,
  );
  warmingUp = false;
  clients.go();
  for (let i = 0; i < 200 && count() === 0; i++) blockThread(25);
  // Had the write been counted, the loop would have ended at it, and the read comes within this time.
  blockThread(600);
  const waited = count();
  await clients.done;
  t.ok(mostReadsAtOnce >= 12, `the warm-up's reads overlapped (${mostReadsAtOnce} at once), so the mount has spare locals`);
  t.equal(waited, 1, 'the read waited and was counted; the big write, handed over 0.3 s before it, was not');
  t.same(arrived.sort(), ['read', 'write 65536'], 'both reached the handlers once the thread was free');
  await noneWaitsOnceTaken(t, count);
});

t.test('a server says in its serving line which binding it runs on, and which text scan', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const log = await s.log();
  t.match(log, /"message":"serving".*"fuseBinding":"fixed"/, 'the fixed one');
  t.match(log, /"message":"serving".*"parallelWrites":true/, 'with parallel direct writes on by default');
  t.notMatch(log, /prebuilt binding/, 'and no warning about the prebuilt one');
  // mount-scripts/setup.sh builds the native text scan (native/build-text-scan.mjs) on x86-64.
  if (process.arch === 'x64') {
    t.match(log, /"message":"serving".*"textScan":"native"/, 'the native text scan');
    t.notMatch(log, /text datasets are scanned by/, 'and no warning about a slower one');
  }
});

t.test('--fuse-parallel-writes off mounts without the flag; only on and off are taken', async (t) => {
  const s = await startServer({ args: ['--fuse-parallel-writes', 'off'] });
  t.teardown(() => s.stop());
  t.match(await s.log(), /"message":"serving".*"parallelWrites":false/);
  for (const bad of ['On', 'yes', '', 'of', 'on ']) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/mlproxy.js'), 'serve', '--mountpoint', '/nonexistent/never', `--fuse-parallel-writes=${bad}`], {
      encoding: 'utf8',
    });
    t.equal(r.status, 2, `"${bad}": usage error`);
    t.match(r.stderr, /--fuse-parallel-writes must be on or off/);
  }
});

// The hot ops' handlers (src/fs/dispatch.ts) on a real mount in this process, clients from a shell: every answer
// reaches the client as the op gave it (stat fields beyond 32 bits, offsets past 4 GiB, the open's fd, errnos);
// a request its op leaves pending is answered ETIMEDOUT once, told to the listener, and its late answer dropped;
// an op answering twice answers once. Each of these is followed by requests on the same mount that must still work.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mount } from '../../src/fs/mount.js';
import { sh, testDir } from '../helpers/server.js';

const TIMEOUT_MS = 400;
const BIG_SIZE = 6 * 2 ** 30;
const FAR_OFFSET = 5 * 2 ** 30 + 1;
const MTIME = new Date(1_700_000_000_123);
const OPEN_FD = 7;

type Reply = (code: number, value?: unknown) => void;
type ByteReply = (n: number) => void;

function testOps() {
  const file = (mode: number, size: number) => ({ mode, size, uid: 0, gid: 0, nlink: 1, mtime: MTIME, atime: MTIME, ctime: MTIME });
  const files: Record<string, object> = {
    '/': { ...file(0o40755, 4096), nlink: 2 },
    '/big': file(0o100644, BIG_SIZE),
    '/hang': file(0o100666, 4096),
    // Times may be milliseconds as well as Dates, as fuse-native takes them.
    '/twice': { ...file(0o100444, 3), mtime: MTIME.getTime() + 5000 },
  };
  const seen = { reads: [] as { fd: number; offset: number; len: number }[], flushes: 0, releases: 0 };
  const held: (() => void)[] = [];
  return {
    seen,
    held,
    getattr: (path: string, cb: Reply) => (files[path] ? cb(0, files[path]) : cb(-2)),
    open: (path: string, flags: number, cb: Reply) => cb(0, path === '/big' ? OPEN_FD : 1),
    read(path: string, fd: number, buf: Buffer, len: number, offset: number, cb: ByteReply) {
      if (path === '/hang') return void held.push(() => cb(0));
      if (path === '/twice') {
        const n = offset >= 3 ? 0 : buf.write('two'.slice(offset));
        cb(n);
        return cb(-5);
      }
      seen.reads.push({ fd, offset, len });
      cb(buf.write('xyz'.slice(0, len)));
    },
    write(path: string, fd: number, buf: Buffer, len: number, offset: number, cb: ByteReply) {
      if (path === '/hang') return void held.push(() => cb(len));
      cb(-22);
    },
    flush: (path: string, fd: number, cb: Reply) => {
      seen.flushes++;
      cb(0);
    },
    release: (path: string, fd: number, cb: Reply) => {
      seen.releases++;
      cb(0);
    },
  };
}

t.test('hot ops answer through dispatch.ts exactly as their ops say, once, or ETIMEDOUT', async (t) => {
  const dir = await testDir(t, 'mlproxy-dispatch-');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const ops = testOps();
  const timedOut: string[] = [];
  const mounted = await mount(mnt, ops, {
    fuseNiceBoost: 0,
    parallelDirectWrites: false,
    hotDispatch: { onTimeout: (op, path) => timedOut.push(`${op} ${path}`), timeoutMs: TIMEOUT_MS },
  });
  t.teardown(() => mounted.unmount().catch(() => spawnSync('fusermount', ['-uz', mnt])));
  // Clients start outside the mount and cd in: a child made with its cwd in the mount would have this process,
  // which serves it, wait for the mount while it spawns.
  const client = (script: string) => sh(`cd mnt && { ${script}; }`, dir);

  const stat = await client("stat -c '%s %a %h %Y' big");
  t.equal(stat.stdout.trim(), `${BIG_SIZE} 644 1 ${Math.floor(MTIME.getTime() / 1000)}`, 'getattr: a size past 32 bits, mode, links, mtime');
  t.equal((await client('stat -c %Y twice')).stdout.trim(), String(Math.floor(MTIME.getTime() / 1000) + 5), 'a time given in milliseconds');
  const missing = await client('stat missing');
  t.not(missing.code, 0, 'getattr answered ENOENT fails the stat');
  t.match(missing.stderr, /No such file or directory/, 'with ENOENT');

  const far = await client(`dd if=big bs=3 count=1 skip=${FAR_OFFSET} iflag=skip_bytes status=none`);
  t.equal(far.stdout, 'xyz', 'read: the bytes the op wrote into the buffer');
  t.same(ops.seen.reads, [{ fd: OPEN_FD, offset: FAR_OFFSET, len: 3 }], "read: the open's fd, an offset past 4 GiB and the length");
  const refused = await client('printf abc | dd of=big conv=notrunc status=none');
  t.match(refused.stderr, /Invalid argument/, 'write answered -EINVAL: the client gets EINVAL');
  t.ok(ops.seen.flushes >= 2 && ops.seen.releases >= 2, `flush (${ops.seen.flushes}) and release (${ops.seen.releases}) reached their ops`);

  const began = Date.now();
  const hungRead = await client('cat hang');
  const waited = Date.now() - began;
  t.match(hungRead.stderr, /Connection timed out/, 'a read its op never answers: ETIMEDOUT');
  t.ok(waited >= TIMEOUT_MS * 0.9, `after the timeout (${waited} ms)`);
  const hungWrite = await client('printf abc | dd of=hang conv=notrunc status=none');
  t.match(hungWrite.stderr, /Connection timed out/, 'a write its op never answers: ETIMEDOUT');
  t.same(timedOut, ['read /hang', 'write /hang'], 'each timeout told to the listener once, with its op and path');
  t.equal(ops.held.length, 2, 'both ops still hold their answers');
  for (const answerLate of ops.held) answerLate();

  const twice = await client('cat twice; cat twice');
  t.equal(twice.stdout, 'twotwo', 'an op answering twice: the first answer, and the requests after it get their own');
  const after = await client(`dd if=big bs=3 count=1 skip=${FAR_OFFSET} iflag=skip_bytes status=none; stat -c %s big`);
  t.equal(after.stdout, `xyz${BIG_SIZE}\n`, 'late and second answers were dropped: later requests are answered as before');
  t.same(timedOut, ['read /hang', 'write /hang'], 'and nothing else timed out');
});

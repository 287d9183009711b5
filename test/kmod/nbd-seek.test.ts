// mount-scripts/qemu/nbd-seek-server.c, the readahead bench's locality-aware device model, on the host: built with
// gcc, started on a small image of random bytes, spoken to over its unix socket as an NBD client would. Checks the
// handshake (GO with block sizes, EXPORT_NAME, an unsupported option), that reads return the image's bytes, that
// writes, trims, unknown commands and out-of-range reads get the right error and leave the connection usable, and
// that in the server's own accounting (its --trace lines: the model's cost, not wall time) a far seek costs more
// than a near one and a sequential request nothing. No qemu needed; the model's times are scaled down to microseconds.
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/server.js';

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const OPT_REPLY_MAGIC = 0x3e889045565a9n;
const REP_ACK = 1;
const REP_INFO = 3;
const REP_ERR_UNSUP = 0x80000001;
const OPT = { EXPORT_NAME: 1, GO: 7, STRUCTURED_REPLY: 8 };
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, BLOCK_STATUS: 7 };
const EPERM = 1;
const EINVAL = 22;
const IMAGE_BYTES = 8 << 20;

/** A socket read as a byte stream: `take(n)` resolves with the next n bytes. */
class Wire {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;
  constructor(readonly sock: Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }
  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`connection closed with ${this.buf.length} of ${n} bytes`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  send(...parts: Buffer[]) {
    this.sock.write(Buffer.concat(parts));
  }
  async ended(): Promise<boolean> {
    while (!this.closed) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
    return this.buf.length === 0;
  }
}

const u16 = (v: number) => Buffer.from([v >> 8, v & 0xff]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const u64 = (v: bigint | number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};

async function connect(sockPath: string): Promise<Wire> {
  const sock = createConnection(sockPath);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  return new Wire(sock);
}

/** The server's greeting; answers with the client flags. */
async function greet(w: Wire, clientFlags: number) {
  const g = await w.take(18);
  w.send(u32(clientFlags));
  return { nbdmagic: g.readBigUInt64BE(0), ihaveopt: g.readBigUInt64BE(8), flags: g.readUInt16BE(16) };
}

async function option(w: Wire, opt: number, data: Buffer) {
  w.send(u64(IHAVEOPT), u32(opt), u32(data.length), data);
}

async function optionReply(w: Wire) {
  const h = await w.take(20);
  const len = h.readUInt32BE(16);
  return { magic: h.readBigUInt64BE(0), opt: h.readUInt32BE(8), type: h.readUInt32BE(12), data: await w.take(len) };
}

let handle = 0n;
async function request(w: Wire, type: number, offset: number, length: number, opts: { flags?: number; payload?: Buffer } = {}) {
  handle += 1n;
  w.send(u32(0x25609513), u16(opts.flags ?? 0), u16(type), u64(handle), u64(offset), u32(length), opts.payload ?? Buffer.alloc(0));
  if (type === CMD.DISC) return { error: -1, data: Buffer.alloc(0) };
  const r = await w.take(16);
  if (r.readUInt32BE(0) !== 0x67446698 || r.readBigUInt64BE(8) !== handle) throw new Error(`not a simple reply to handle ${handle}: ${r.toString('hex')}`);
  const error = r.readUInt32BE(4);
  return { error, data: type === CMD.READ && error === 0 ? await w.take(length) : Buffer.alloc(0) };
}

interface Trace {
  off: number;
  len: number;
  seekUs: number;
  transferUs: number;
}
const traces = (log: string): Trace[] =>
  [...log.matchAll(/^nbd-seek: read off=(\d+) len=(\d+) seek_us=([\d.]+) transfer_us=([\d.]+)$/gm)].map((m) => ({
    off: Number(m[1]),
    len: Number(m[2]),
    seekUs: Number(m[3]),
    transferUs: Number(m[4]),
  }));

t.test('nbd-seek-server', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nbd-seek-'));
  const bin = join(dir, 'nbd-seek-server');
  const image = join(dir, 'disk.img');
  const sockPath = join(dir, 'sock');
  let server: ChildProcess | null = null;
  let log = '';
  const exited = (p: ChildProcess) => new Promise<number | null>((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve(p.exitCode) : p.once('exit', (c) => resolve(c))));
  t.teardown(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await exited(server);
    }
    await rm(dir, { recursive: true, force: true });
  });

  const cc = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, join(ROOT, 'mount-scripts/qemu/nbd-seek-server.c'), '-lm'], { encoding: 'utf8' });
  t.equal(cc.status, 0, `builds warning-free${cc.status ? `: ${cc.stderr}` : ''}`);
  const bytes = randomBytes(IMAGE_BYTES);
  await writeFile(image, bytes);

  const usage = spawnSync(bin, ['--socket', sockPath], { encoding: 'utf8' });
  t.equal(usage.status, 2, 'missing --image: usage error, exit 2');
  const badRate = spawnSync(bin, ['--socket', sockPath, '--image', image, '--rate-mibps', 'fast'], { encoding: 'utf8' });
  t.equal(badRate.status, 2, 'a parameter that is not a number: exit 2');

  // model scaled down: 10 us settle, 1000 us full stroke over the 8 MiB image, 1000 MiB/s
  const srv = spawn(bin, ['--socket', sockPath, '--image', image, '--seek-min-us', '10', '--seek-max-us', '1000', '--rate-mibps', '1000', '--trace'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server = srv;
  srv.stderr.on('data', (d) => (log += d));
  for (let i = 0; i < 100 && !(await stat(sockPath).catch(() => null)); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(await stat(sockPath).catch(() => null), 'the server creates its socket');

  await t.test('GO handshake, reads, errors, locality accounting, DISC', async (t) => {
    const w = await connect(sockPath);
    const g = await greet(w, 3); // FIXED_NEWSTYLE | NO_ZEROES
    t.equal(g.nbdmagic, NBDMAGIC, 'NBDMAGIC');
    t.equal(g.ihaveopt, IHAVEOPT, 'IHAVEOPT');
    t.equal(g.flags, 3, 'fixed newstyle, no zeroes');

    await option(w, OPT.STRUCTURED_REPLY, Buffer.alloc(0));
    const unsup = await optionReply(w);
    t.equal(unsup.magic, OPT_REPLY_MAGIC, 'option reply magic');
    t.equal(unsup.type, REP_ERR_UNSUP, 'structured replies: NBD_REP_ERR_UNSUP');

    await option(w, OPT.GO, Buffer.concat([u32(0), u16(1), u16(3)])); // default export, ask for block sizes
    const info = await optionReply(w);
    t.equal(info.type, REP_INFO, 'GO: an INFO reply');
    t.equal(info.data.readUInt16BE(0), 0, 'NBD_INFO_EXPORT');
    t.equal(info.data.readBigUInt64BE(2), BigInt(IMAGE_BYTES), 'export size is the image size');
    t.equal(info.data.readUInt16BE(10) & 3, 3, 'has flags, read-only');
    const sizes = await optionReply(w);
    t.equal(sizes.data.readUInt16BE(0), 3, 'NBD_INFO_BLOCK_SIZE when asked');
    t.equal((await optionReply(w)).type, REP_ACK, 'GO ends with an ACK');

    const at = (off: number, len: number) => bytes.subarray(off, off + len);
    const start = await request(w, CMD.READ, 0, 4096);
    t.equal(start.error, 0, 'read at 0');
    t.ok(start.data.equals(at(0, 4096)), 'returns the image bytes');
    const seq = await request(w, CMD.READ, 4096, 65536);
    t.ok(seq.error === 0 && seq.data.equals(at(4096, 65536)), 'sequential read returns the image bytes');
    const far = await request(w, CMD.READ, IMAGE_BYTES - 4096, 4096);
    t.ok(far.error === 0 && far.data.equals(at(IMAGE_BYTES - 4096, 4096)), 'read at the far end returns the image bytes');
    const near = await request(w, CMD.READ, IMAGE_BYTES - 3 * 4096, 4096);
    t.ok(near.error === 0 && near.data.equals(at(IMAGE_BYTES - 3 * 4096, 4096)), 'near read returns the image bytes');

    t.equal((await request(w, CMD.WRITE, 0, 4096, { payload: Buffer.alloc(4096, 7) })).error, EPERM, 'write: EPERM (read-only)');
    t.equal((await request(w, CMD.TRIM, 0, 4096)).error, EPERM, 'trim: EPERM');
    t.equal((await request(w, CMD.FLUSH, 0, 0)).error, EINVAL, 'flush (not offered): EINVAL');
    t.equal((await request(w, CMD.BLOCK_STATUS, 0, 4096)).error, EINVAL, 'block status (not negotiated): EINVAL');
    t.equal((await request(w, 42, 0, 0)).error, EINVAL, 'unknown command: EINVAL');
    t.equal((await request(w, CMD.READ, IMAGE_BYTES - 512, 4096)).error, EINVAL, 'read past the end: EINVAL');
    t.equal((await request(w, CMD.READ, 0, 4096, { flags: 4 })).error, EINVAL, 'read with a flag not offered: EINVAL');
    const after = await request(w, CMD.READ, 1 << 20, 4096);
    t.ok(after.error === 0 && after.data.equals(at(1 << 20, 4096)), 'reads still work after the errors');
    t.ok((await readFile(image)).equals(bytes), 'the image is unchanged');

    await request(w, CMD.DISC, 0, 0);
    t.ok(await w.ended(), 'DISC: the server closes the connection without a reply');
    for (let i = 0; i < 250 && !/client done/.test(log); i++) await new Promise((r) => setTimeout(r, 20));
    t.match(log, /nbd-seek: client done: requests=5 bytes=(\d+) sequential=(\d+) seeks=(\d+) seek_us=\d+ transfer_us=\d+ late_us=\d+ late_1ms=\d+\n/, 'accounting line for the client: only successful reads counted');

    const tr = traces(log);
    t.equal(tr.length, 5, 'one trace line per read served');
    const cost = (off: number) => tr.find((x) => x.off === off) ?? { off, len: 0, seekUs: NaN, transferUs: NaN };
    t.equal(cost(4096).seekUs, 0, 'a request starting where the last ended costs no seek');
    t.ok(cost(IMAGE_BYTES - 4096).seekUs > cost(IMAGE_BYTES - 3 * 4096).seekUs, `a far seek (${cost(IMAGE_BYTES - 4096).seekUs} us) costs more than a near one (${cost(IMAGE_BYTES - 3 * 4096).seekUs} us)`);
    t.ok(cost(IMAGE_BYTES - 4096).seekUs <= 1000, 'no seek costs more than a full stroke');
    t.ok(cost(IMAGE_BYTES - 3 * 4096).seekUs >= 10, 'a backward seek costs at least the settle time');
    t.ok(cost(4096).transferUs > cost(0).transferUs, 'a longer request takes longer to transfer');
  });

  await t.test('EXPORT_NAME handshake without NO_ZEROES, then a forward gap', async (t) => {
    const w = await connect(sockPath);
    await greet(w, 1);
    await option(w, OPT.EXPORT_NAME, Buffer.from('any'));
    const r = await w.take(10 + 124);
    t.equal(r.readBigUInt64BE(0), BigInt(IMAGE_BYTES), 'size, then flags and 124 zero bytes');
    t.ok(r.subarray(10).equals(Buffer.alloc(124)), 'the reserved zeroes');
    const before = traces(log).length;
    await request(w, CMD.READ, 0, 4096);
    await request(w, CMD.READ, 4096 + 512, 4096); // a 512-byte gap: reading through it beats seeking
    const gap = traces(log).slice(before)[1];
    t.ok(gap.seekUs > 0 && gap.seekUs < 10, `a short forward gap costs its transfer time (${gap.seekUs} us), less than a seek`);
    w.sock.end();
    t.ok(await w.ended(), 'closing without DISC is fine');
  });

  await t.test('an unknown client flag closes the connection', async (t) => {
    const w = await connect(sockPath);
    await greet(w, 1 | 0x100);
    t.ok(await w.ended(), 'closed');
  });

  await t.test('SIGTERM: exits 0 and removes its socket', async (t) => {
    srv.kill('SIGTERM');
    t.equal(await exited(srv), 0, 'exit 0');
    t.equal(await stat(sockPath).catch(() => null), null, 'socket removed');
  });
});

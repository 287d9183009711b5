// Every resource limit of src/limits.ts driven to its edge on a real mount: the last allowed request
// succeeds, the next one gets the documented errno, changes nothing, and leaves an event line.
import t from 'tap';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, io, parseStats, waitFor, ROOT } from '../helpers/server.js';
import { LIMITS } from '../../src/limits.js';
import { BINARY_DATASET } from '../../src/protocol.js';

const execFileP = promisify(execFile);
const OPEN_MANY = join(ROOT, 'test/helpers/open-many.mjs');

async function openMany(...specs: string[]): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [OPEN_MANY, ...specs], { maxBuffer: 1 << 20 });
  return stdout;
}

function binaryBatch(records: number): Buffer {
  const b = Buffer.alloc(BINARY_DATASET.headerBytes + records * 8);
  b.writeUInt32LE(BINARY_DATASET.magic, 0);
  b.writeUInt16LE(BINARY_DATASET.version, 4);
  b.writeUInt16LE(BINARY_DATASET.headerBytes, 6);
  b.writeUInt16LE(1, 8);
  b.writeUInt16LE(1, 10);
  for (let i = 0; i < records; i++) b.writeInt32LE(i % 1000, BINARY_DATASET.headerBytes + i * 8);
  return b;
}

t.test('limits at their edges', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const m = `${s.mnt}/models/m`;
  await s.sh('mkdir models/m && echo init > models/m/control');
  const stats = async () => parseStats((await s.sh('cat models/m/stats')).stdout);

  t.test('bytes per write (config, and every file but dataset): EFBIG', async (t) => {
    const max = LIMITS.writeBytes.value;
    const padded = (n: number) => 'batch_size=7\n' + '#'.repeat(n - 'batch_size=7\n'.length - 1) + '\n';
    t.equal(await io('write', `${m}/config`, padded(max)), 'ok', `a ${max}-byte config write is staged`);
    t.match((await s.sh('cat models/m/config_staged')).stdout, /batch_size=7/);
    t.equal(await io('write', `${m}/config`, padded(max + 1).replace('batch_size=7', 'batch_size=9')), 'err EFBIG', 'one byte more is EFBIG');
    t.match((await s.sh('cat models/m/config_staged')).stdout, /batch_size=7/, 'and stages nothing');
    t.equal(await io('write', `${m}/feedback`, 'ml 1\n'.repeat(max / 5 + 1)), 'err EFBIG', 'feedback too');
    t.equal((await stats()).feedback_ml, '0', 'no feedback line counted');
    t.match((await s.sh('tail -n 2 models/m/events')).stdout, /rejected file=feedback feedback: a write of \d+ bytes is over the 65536 byte limit/);
    t.equal(await io('write', `${m}/control`, 'reset\n'), 'ok');
  });

  t.test('samples per dataset batch: EFBIG at the write that passes it and at close; the batch is dropped whole', async (t) => {
    const max = LIMITS.batchSamples.value;
    const at = join(s.dir, 'at.bin');
    const over = join(s.dir, 'over.bin');
    await writeFile(at, binaryBatch(max));
    await writeFile(over, binaryBatch(max + 1));
    const before = await stats();
    t.equal((await s.sh(`cat ${at} > models/m/dataset`)).code, 0, `a batch of ${max} samples is stored`);
    const mid = await stats();
    t.equal(Number(mid.samples_total) - Number(before.samples_total), max);
    const refused = await s.sh(`cat ${over} > models/m/dataset`);
    t.match(refused.stderr, /File too large/, 'one sample more: EFBIG');
    const after = await stats();
    t.equal(after.samples_total, mid.samples_total, 'nothing of the refused batch is stored');
    t.equal(Number(after.writes_rejected), Number(mid.writes_rejected) + 1);
  });

  t.test('transaction queries: 4096 answered, 4097 EINVAL', async (t) => {
    const max = LIMITS.transactionQueries.value;
    const ok = await io('txn', `${m}/recommendation`, '1\\n'.repeat(max));
    t.equal(ok.split('\n').length, max, `${max} answers`);
    t.equal(await io('txn', `${m}/recommendation`, '1\\n'.repeat(max + 1)), 'err EINVAL');
  });

  t.test('open files per model: EMFILE', async (t) => {
    const max = LIMITS.openPerModel.value;
    t.equal(await openMany(`${m}/state:${max}`), `opened ${max} err none`);
    t.equal(await openMany(`${m}/state:${max / 2}`, `${m}/stats:${max}`), `opened ${max} err EMFILE`, 'any mix of files counts');
    t.equal(await openMany(`${m}/state:${max}`), `opened ${max} err none`, 'closing gives them back');
  });

  t.test('open files on the mount: ENFILE', async (t) => {
    const per = LIMITS.openPerModel.value;
    const models = Math.ceil(LIMITS.openTotal.value / per);
    await s.sh(Array.from({ length: models }, (_, i) => `mkdir -p models/o${i}`).join(' && '));
    const specs = Array.from({ length: models }, (_, i) => `${s.mnt}/models/o${i}/state:${per}`);
    t.equal(await openMany(...specs, `${s.mnt}/version:1`), `opened ${LIMITS.openTotal.value} err ENFILE`);
    t.match(await io('read', `${s.mnt}/version`), /^ok mlproxy /, 'and the mount answers afterwards');
  });

  t.test('events retained, and the length of one event line', async (t) => {
    await s.sh('mkdir models/e');
    const bad = 'x'.repeat(5000);
    const n = LIMITS.eventsRetained.value + 20;
    const script = `i=0; while [ $i -lt ${n} ]; do echo "${bad}$i" > models/e/config 2>/dev/null; i=$((i+1)); done; true`;
    await s.sh(script);
    const lines = (await s.sh('cat models/e/events')).stdout.split('\n').filter(Boolean);
    t.equal(lines.length, LIMITS.eventsRetained.value, 'the newest lines are kept, no more');
    t.ok(
      lines.every((l) => Buffer.byteLength(l) + 1 <= LIMITS.eventLineBytes.value),
      'no line is longer than the limit',
    );
    t.match(lines.at(-1), /rejected file=config config: "x+ \.\.\.$/, 'a long line ends in an ellipsis');
  });
});

t.test('state-dir disk full: the close fails with EIO, the server answers, and freeing space heals it', async (t) => {
  const state = await mkdtemp(join(tmpdir(), 'mlproxy-full-'));

  await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', state]);
  t.teardown(async () => {
    await execFileP('umount', ['-l', state]).catch(() => {});
    await rm(state, { recursive: true, force: true });
  });
  await chmod(state, 0o755);
  const s = await startServer({ args: ['--state-dir', state] });
  t.teardown(() => s.stop());
  await s.sh(`mkdir models/d && printf 'inputs=2\\noutputs=1\\nbuffer_capacity=100000\\n' > models/d/config && echo commit > models/d/control`);
  const batch = Array.from({ length: 4000 }, (_, i) => `${i} ${i % 7} ${i % 3}`).join('\\n') + '\\n';
  let result = 'ok';
  let stored = 0;
  for (let i = 0; i < 100 && result === 'ok'; i++) {
    result = await io('write', `${s.mnt}/models/d/dataset`, batch);
    if (result === 'ok') stored++;
  }
  t.equal(result, 'err EIO', `after ${stored} batches the disk is full: the close fails with EIO`);
  t.match(await io('read', `${s.mnt}/version`), /^ok mlproxy /, 'the server answers');
  t.match((await s.sh('cat models/d/events')).stdout, /not written to disk/, 'the events say why');
  t.equal(await io('write', `${s.mnt}/models/d/control`, 'reset'), 'ok', 'reset rewrites the log, which frees the space');
  await waitFor(async () => (await io('write', `${s.mnt}/models/d/dataset`, batch)) === 'ok', 10000, 'a batch to be stored on disk again');
  t.pass('stored again');
});

t.test('docs/protocol.md lists every limit with its value and errno', async (t) => {
  const doc = await readFile(join(ROOT, 'docs/protocol.md'), 'utf8');
  const rows = doc.slice(doc.indexOf('## Limits'), doc.indexOf('## Errors at a glance')).split('\n');
  for (const [name, limit] of Object.entries(LIMITS) as [string, { value: number; errno?: string }][]) {
    const row = rows.find((l) => l.includes(`| ${limit.value} |`) && (!limit.errno || l.includes(limit.errno)));
    t.ok(row, `${name}: a row with ${limit.value}${limit.errno ? ` and ${limit.errno}` : ''}`);
  }
});

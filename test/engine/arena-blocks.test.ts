// Row blocks in WebAssembly memory (wasm-range.ts) go back to it on every path that drops them: no collector does.
import t from 'tap';
import { createBus } from '../../src/events.js';
import { Registry } from '../../src/engine/registry.js';
import { createOps } from '../../src/fs/ops.js';
import { wasmRange } from '../../src/engine/data/wasm-range.js';
import { mldsBatch } from '../helpers/mlds.js';

type Cb = (code: number, ...rest: unknown[]) => void;
type Op = (...args: never[]) => void;

t.test('blocks waiting in a buffer, or in a batch never stored, go back to the arena', async (t) => {
  const arena = wasmRange();
  if (!arena) return t.fail('WebAssembly SIMD runs on Node 20: the module must load');
  const bus = createBus();
  const registry = new Registry(bus);
  t.teardown(() => registry.close());
  const ops = createOps({ registry, bus, log: () => {}, version: 'test', testFiles: false });
  const call = (op: Op, ...args: unknown[]) =>
    new Promise<unknown[]>((resolve, reject) =>
      (op as (...a: unknown[]) => void)(...args, ((code: number, ...rest: unknown[]) =>
        code < 0 ? reject(Object.assign(new Error(`errno ${code}`), { errno: code })) : resolve(rest)) as Cb),
    );
  const write = (fd: number, file: string, data: Buffer) => new Promise<number>((resolve) => ops.write(`/models/m/${file}`, fd, data, data.length, 0, resolve));
  const open = async (file: string) => (await call(ops.open, `/models/m/${file}`, 1))[0] as number;
  const close = async (fd: number, file: string) => {
    try {
      await call(ops.flush, `/models/m/${file}`, fd);
    } finally {
      await call(ops.release, `/models/m/${file}`, fd);
    }
  };
  const put = async (file: string, text: string) => {
    const fd = await open(file);
    await write(fd, file, Buffer.from(text));
    await close(fd, file);
  };
  const model = async (inputs: number) => {
    await call(ops.mkdir, '/models/m', 0o755);
    await put('config', `inputs=${inputs}\noutputs=1\nscale=1000\nbuffer_capacity=100000\n`);
    await put('control', 'commit\n');
  };
  // 40,000 rows of 4 values: ten blocks of 4,096 rows.
  const batch = mldsBatch(
    3,
    1,
    Int32Array.from({ length: 160_000 }, (_, i) => i % 1000),
  );
  const writeBatch = async (fd: number) => {
    let short = 0;
    for (let at = 0; at < batch.length; at += 65_536)
      if ((await write(fd, 'dataset', batch.subarray(at, at + 65_536))) !== Math.min(65_536, batch.length - at)) short++;
    t.equal(short, 0, 'every write of the batch taken whole');
  };
  const free = arena.freeBlocks;

  await model(3);
  let fd = await open('dataset');
  await writeBatch(fd);
  await close(fd, 'dataset');
  t.equal(arena.freeBlocks, free - 10, 'a stored batch: its ten blocks wait in the buffer');
  await put('config', 'inputs=4\n');
  await put('control', 'commit\n');
  t.equal(arena.freeBlocks, free, 'a new row width drops the buffer: they are back');

  await put('config', 'inputs=3\n');
  await put('control', 'commit\n');
  fd = await open('dataset');
  await writeBatch(fd);
  await close(fd, 'dataset');
  t.equal(arena.freeBlocks, free - 10, 'another stored batch waits');
  await call(ops.rmdir, '/models/m');
  t.equal(arena.freeBlocks, free, 'the model removed: back');

  await model(3);
  fd = await open('dataset');
  await writeBatch(fd);
  t.equal(arena.freeBlocks, free - 10, 'a batch still open holds its blocks');
  await call(ops.rmdir, '/models/m');
  await t.rejects(close(fd, 'dataset'), { errno: -2 }, 'its close after the model went: ENOENT');
  t.equal(arena.freeBlocks, free, 'and its blocks are back');
});

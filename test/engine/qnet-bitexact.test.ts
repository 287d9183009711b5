// The integer network has one specification and two implementations: the TypeScript evaluator
// (src/engine/infer/qnet-eval.ts) and the kernel's C (kmod/mlp_qnet.c, run here as the host program
// kmod/hosttest/qnet_cli). Both get the same files and inputs (quantised float networks of many widths, and
// random networks with extreme weights, shifts and inputs that saturate) and must print identical outputs;
// both must reject the same broken files.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeQnet, encodeQnet, netViolation, QNET_LIMITS, type Affine, type QuantNet } from '../../src/engine/infer/qnet-format.js';
import { evalQnet } from '../../src/engine/infer/qnet-eval.js';
import { quantise } from '../../src/engine/infer/quantise.js';
import type { Snapshot } from '../../src/engine/infer/network.js';

const kmod = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../kmod');
// Built into a private directory, so a parallel `make -C kmod hosttest` (test/kmod/hosttest.test.ts) never
// overwrites the binary this test is running.
const bindir = mkdtempSync(path.join(tmpdir(), 'qnet-cli-'));
const cli = path.join(bindir, 'qnet_cli');
t.teardown(() => rmSync(bindir, { recursive: true, force: true }));

// Deterministic, so a failure reproduces.
let seed = 0x5eed1234;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const I32 = [-(2 ** 31), 2 ** 31 - 1] as const;

function randomAffine(extreme: boolean): Affine {
  if (!extreme) return { mul: int(-70000, 70000), add: BigInt(int(-(2 ** 40), 2 ** 40)), shift: int(0, 24) };
  const lim = 2n ** 61n;
  const add = [lim, -lim, 0n, BigInt(int(-(2 ** 52), 2 ** 52)) * 512n][int(0, 3)];
  return { mul: [I32[1], -I32[1], 1, -1, int(I32[0] + 1, I32[1])][int(0, 4)], add, shift: int(0, 62) };
}

function randomNet(sizes: number[], extreme: boolean): QuantNet {
  const layers = sizes.slice(1).map((outSize, l) => {
    const inSize = sizes[l];
    const wMax = extreme ? 32767 : int(1, 32767);
    return {
      inSize,
      outSize,
      weightShift: extreme ? [0, 30, int(0, 30)][int(0, 2)] : int(4, 20),
      relu: l + 2 < sizes.length,
      bias: Int32Array.from({ length: outSize }, () => (extreme ? [I32[0], I32[1], int(I32[0], I32[1])][int(0, 2)] : int(-(2 ** 20), 2 ** 20))),
      weights: Int16Array.from({ length: inSize * outSize }, () => (extreme && rand() < 0.3 ? [32767, -32767][int(0, 1)] : int(-wMax, wMax))),
    };
  });
  return {
    generation: int(0, 2 ** 40),
    inputAffine: Array.from({ length: sizes[0] }, () => randomAffine(extreme)),
    layers,
    outputAffine: Array.from({ length: sizes[sizes.length - 1] }, () => randomAffine(extreme)),
  };
}

function randomSnapshot(sizes: number[]): Snapshot {
  const gauss = () => (rand() + rand() + rand() - 1.5) * 1.4;
  return {
    generation: int(1, 1000),
    layers: sizes.slice(1).map((outSize, l) => ({
      inSize: sizes[l],
      outSize,
      kernel: Float32Array.from({ length: sizes[l] * outSize }, () => gauss() / Math.sqrt(sizes[l])),
      bias: Float32Array.from({ length: outSize }, () => gauss() * 0.1),
      relu: l + 2 < sizes.length,
    })),
    inMean: Float32Array.from({ length: sizes[0] }, () => rand()),
    inStd: Float32Array.from({ length: sizes[0] }, () => 0.05 + rand()),
    outMean: Float32Array.from({ length: sizes[sizes.length - 1] }, () => rand() * 2 - 1),
    outStd: Float32Array.from({ length: sizes[sizes.length - 1] }, () => 0.01 + rand()),
  };
}

function inputsFor(n: number, rows: number, extreme: boolean): number[][] {
  const special = [I32[0], I32[1], 0, 1, -1, 1000, -1000];
  return Array.from({ length: rows }, () =>
    Array.from({ length: n }, () => (extreme && rand() < 0.5 ? special[int(0, special.length - 1)] : int(-3000, 3000))),
  );
}

interface Case {
  name: string;
  bytes: Buffer;
  rows: number[][];
}

t.test('TypeScript and C evaluators agree bit for bit', async (t) => {
  const flags = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-Wconversion', '-Wno-sign-conversion', `-I${kmod}`];
  const sources = [path.join(kmod, 'hosttest/qnet_cli.c'), path.join(kmod, 'mlp_qnet.c')];
  const build = spawnSync('cc', [...flags, '-o', cli, ...sources], { encoding: 'utf8', timeout: 120_000 });
  t.equal(build.status, 0, `qnet_cli builds: ${build.stderr}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'qnet-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  const cases: Case[] = [];
  const shapes: number[][] = [
    [1, 1],
    [2, 1, 1],
    [2, 16, 16, 1],
    [2, 32, 32, 1],
    [3, 64, 5],
    [16, 64, 64, 64, 16],
    [4, 7, 9, 3],
  ];
  for (let w = 2; w <= QNET_LIMITS.width; w += 9) shapes.push([2, w, w, 1]);
  for (const sizes of shapes) {
    const snap = randomSnapshot(sizes);
    cases.push({ name: `quantised ${sizes.join('-')}`, bytes: encodeQnet(quantise(snap, 1000)), rows: inputsFor(sizes[0], 200, false) });
    for (const extreme of [false, true]) {
      const net = randomNet(sizes, extreme);
      t.equal(netViolation(net), undefined, `random ${sizes.join('-')} is a valid network`);
      cases.push({ name: `random${extreme ? ' extreme' : ''} ${sizes.join('-')}`, bytes: encodeQnet(net), rows: inputsFor(sizes[0], 200, extreme) });
    }
  }

  let saturated = 0;
  for (const [i, c] of cases.entries()) {
    const file = path.join(dir, `net${i}.qnet`);
    await writeFile(file, c.bytes);
    const input = c.rows.map((r) => r.join(' ')).join('\n') + '\n';
    const r = spawnSync(cli, [file], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
    const lines = r.stdout.trimEnd().split('\n');
    const net = decodeQnet(c.bytes);
    t.equal(lines[0], `ok ${net.generation}`, `${c.name}: C accepts it`);
    const want = c.rows.map((row) => Array.from(evalQnet(net, row)).join(' '));
    saturated += want.filter((l) => /2147483647|-2147483648/.test(l)).length;
    const diff = want.findIndex((w, k) => w !== lines[k + 1]);
    t.equal(diff, -1, `${c.name}: ${want.length} rows identical${diff >= 0 ? ` (row ${diff}: ts ${want[diff]} c ${lines[diff + 1]})` : ''}`);
  }
  t.ok(saturated > 0, `the extreme cases reach saturation (${saturated} rows)`);
});

t.test('both sides reject the same broken files', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'qnet-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const good = encodeQnet(randomNet([2, 16, 16, 1], false));
  const resealed = (edit: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    edit(b);
    b.writeUInt32LE(crc32(b.subarray(0, b.length - 4)), b.length - 4);
    return b;
  };
  const broken: [string, Buffer, string][] = [
    ['a flipped byte', Buffer.from(good).fill(good[good.length >> 1] ^ 0x40, good.length >> 1, (good.length >> 1) + 1), 'EBADMSG'],
    ['truncated', good.subarray(0, good.length - 1), 'EINVAL'],
    ['bad magic', resealed((b) => (b[0] ^= 1)), 'EINVAL'],
    ['version 2', resealed((b) => b.writeUInt16LE(2, 4)), 'EINVAL'],
    ['5 layers', resealed((b) => b.writeUInt16LE(5, 12)), 'E2BIG'],
    ['hidden width 65', resealed((b) => b.writeUInt16LE(65, 34)), 'E2BIG'],
    ['weight shift 31', resealed((b) => (b[32 + 8 + 2 * 16] = 31)), 'EINVAL'],
    ['affine shift 63', resealed((b) => (b[32 + 8 + 12] = 63)), 'EINVAL'],
    ['affine offset 2^62', resealed((b) => b.writeBigInt64LE(2n ** 62n, 32 + 8)), 'EINVAL'],
  ];
  const errno: Record<string, number> = { EINVAL: 22, E2BIG: 7, EBADMSG: 74 };
  for (const [i, [what, bytes, code]] of broken.entries()) {
    const file = path.join(dir, `bad${i}.qnet`);
    await writeFile(file, bytes);
    const r = spawnSync(cli, [file], { input: '', encoding: 'utf8' });
    t.equal(r.stdout.trim(), `reject ${errno[code]}`, `${what}: C rejects it (${code})`);
    t.throws(() => decodeQnet(bytes), `${what}: TypeScript rejects it`);
  }
});

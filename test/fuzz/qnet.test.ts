// Property-based fuzzing (fast-check) of the integer network export (`qnet`), the one binary file the kernel
// parses: every network the quantiser accepts round-trips through encode and decode byte for byte, and no
// mutation of a valid file (random bytes, flipped bytes with the checksum fixed up so the parser reaches the
// contents, truncation, extension) makes the decoder throw anything but its documented QnetFormatError.
// The C parser's agreement on broken files is test/engine/qnet-bitexact.test.ts's job.
import t from 'tap';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { decodeQnet, encodeQnet, netViolation, QnetFormatError } from '../../src/engine/infer/qnet-format.js';
import { evalQnet } from '../../src/engine/infer/qnet-eval.js';
import { quantise, QuantiseError } from '../../src/engine/infer/quantise.js';
import type { Snapshot } from '../../src/engine/infer/network.js';

const RUNS = Number(process.env.MLPROXY_FUZZ_RUNS ?? 300);
const params = (seed: number) => ({ numRuns: RUNS, seed });

const float = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

/** A float network of 1 to 3 layers, up to 12 wide, with the statistics training would have produced. */
const snapshots: fc.Arbitrary<Snapshot> = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 2, maxLength: 4 }).chain((sizes) =>
  fc.record({
    generation: fc.integer({ min: 1, max: 2 ** 40 }),
    layers: fc.tuple(
      ...sizes.slice(1).map((outSize, l) =>
        fc.record({
          inSize: fc.constant(sizes[l]),
          outSize: fc.constant(outSize),
          kernel: fc.array(float(-3, 3), { minLength: sizes[l] * outSize, maxLength: sizes[l] * outSize }).map((a) => Float32Array.from(a)),
          bias: fc.array(float(-1, 1), { minLength: outSize, maxLength: outSize }).map((a) => Float32Array.from(a)),
          relu: fc.constant(l + 2 < sizes.length),
        }),
      ),
    ),
    inMean: fc.array(float(-100, 100), { minLength: sizes[0], maxLength: sizes[0] }).map((a) => Float32Array.from(a)),
    inStd: fc.array(float(0.01, 50), { minLength: sizes[0], maxLength: sizes[0] }).map((a) => Float32Array.from(a)),
    outMean: fc.array(float(-100, 100), { minLength: sizes.at(-1) ?? 1, maxLength: sizes.at(-1) ?? 1 }).map((a) => Float32Array.from(a)),
    outStd: fc.array(float(0.01, 50), { minLength: sizes.at(-1) ?? 1, maxLength: sizes.at(-1) ?? 1 }).map((a) => Float32Array.from(a)),
  }),
);

/** Encode a snapshot as the server would, or undefined where the quantiser refuses it (the file answers EFBIG). */
function exportOf(s: Snapshot, scale: number): Buffer | undefined {
  try {
    const net = quantise(s, scale);
    return netViolation(net) ? undefined : encodeQnet(net);
  } catch (err) {
    if (err instanceof QuantiseError) return undefined;
    throw err;
  }
}

/** Decode, allowing only the documented refusal; an accepted file must re-encode to itself. */
function decodesOrRefuses(buf: Buffer): boolean {
  try {
    const net = decodeQnet(buf);
    return netViolation(net) === undefined && encodeQnet(net).equals(buf);
  } catch (err) {
    if (err instanceof QnetFormatError) return true;
    throw new Error(`decodeQnet threw ${String((err as Error)?.stack ?? err)}`, { cause: err });
  }
}

/** Recompute the trailing CRC-32, so a mutation reaches the parser's content checks instead of the checksum. */
function fixChecksum(buf: Buffer): Buffer {
  if (buf.length >= 4) buf.writeUInt32LE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4);
  return buf;
}

t.test('every exported network round-trips byte for byte and evaluates the same after decoding', (t) => {
  let exported = 0;
  fc.assert(
    fc.property(snapshots, fc.constantFrom(1, 10, 1000), fc.array(fc.integer({ min: -5000, max: 5000 }), { maxLength: 12 }), (s, scale, probe) => {
      const bytes = exportOf(s, scale);
      if (!bytes) return true;
      exported++;
      const net = decodeQnet(bytes);
      if (!encodeQnet(net).equals(bytes)) return false;
      const input = Array.from({ length: s.layers[0].inSize }, (_, i) => probe[i] ?? 0);
      return Buffer.from(evalQnet(net, input).buffer).equals(Buffer.from(evalQnet(decodeQnet(Buffer.from(bytes)), input).buffer));
    }),
    params(101),
  );
  t.ok(exported > RUNS / 2, `${exported} of ${RUNS} random networks were exportable and round-tripped`);
  t.end();
});

t.test('no mutation of a valid file throws anything but QnetFormatError', (t) => {
  // Half the flips land in the header and the size table, where a wrong value steers every later read.
  const position = fc.oneof(fc.nat({ max: 63 }), fc.nat());
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: position, value: fc.integer({ min: 0, max: 255 }), fix: fc.boolean() }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0), fix: fc.boolean() }),
    fc.record({ kind: fc.constant('extend' as const), at: fc.nat({ max: 64 }), value: fc.integer({ min: 0, max: 255 }), fix: fc.boolean() }),
  );
  fc.assert(
    fc.property(snapshots, fc.array(mutation, { minLength: 1, maxLength: 4 }), (s, mutations) => {
      let buf = exportOf(s, 1000);
      if (!buf) return true;
      for (const m of mutations) {
        if (m.kind === 'flip' && buf.length) buf[m.at % buf.length] = m.value;
        if (m.kind === 'truncate') buf = buf.subarray(0, m.at % (buf.length + 1));
        if (m.kind === 'extend') buf = Buffer.concat([buf, Buffer.alloc(m.at + 1, m.value)]);
        buf = Buffer.from(buf);
        if (m.fix) fixChecksum(buf);
      }
      return decodesOrRefuses(buf);
    }),
    params(202),
  );
  t.end();
});

t.test('random bytes are refused with QnetFormatError, never a crash', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), (bytes, fix) => {
      const buf = Buffer.from(bytes);
      // A plausible header on random bytes gets past the first checks more often.
      if (buf.length >= 48 && fix) {
        buf.writeUInt32LE(0x4e514c4d, 0);
        buf.writeUInt16LE(1, 4);
        buf.writeUInt16LE(32, 6);
        buf.writeUInt32LE(buf.length, 8);
        buf.writeUInt16LE(1 + (buf[12] % 4), 12);
        buf[14] = 1;
        for (let i = 32; i < 42; i++) buf[i] = buf[i] % 17;
        fixChecksum(buf);
      }
      return decodesOrRefuses(buf);
    }),
    params(303),
  );
  t.end();
});

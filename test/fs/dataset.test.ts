// The dataset file: text and binary samples, the all-or-nothing reject, large writes, the bounded buffer and export.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, io, parseStats } from '../helpers/server.js';

function binary(inputs: number, outputs: number, rows: number[][], opts: { magic?: number; version?: number; reserved?: number } = {}): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32LE(opts.magic ?? 0x53444c4d, 0);
  header.writeUInt16LE(opts.version ?? 1, 4);
  header.writeUInt16LE(16, 6);
  header.writeUInt16LE(inputs, 8);
  header.writeUInt16LE(outputs, 10);
  header.writeUInt32LE(opts.reserved ?? 0, 12);
  const body = Buffer.alloc(rows.length * (inputs + outputs) * 4);
  rows.flat().forEach((v, i) => body.writeInt32LE(v, i * 4));
  return Buffer.concat([header, body]);
}

t.test('dataset', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m && printf "inputs=2\\noutputs=1\\nscale=1000\\nbuffer_capacity=1000000\\n" > models/m/config && echo commit > models/m/control');
  const dir = `${s.mnt}/models/m`;
  const stats = async () => parseStats((await s.sh('cat models/m/stats')).stdout);

  t.equal((await s.sh('printf "# header comment\\n1000 2000 3000\\n\\n 4000\\t-5000 6000 # trailing\\n7 8 9" > models/m/dataset')).code, 0);
  t.equal((await stats()).samples_total, '3', 'three samples, comments and blanks ignored, last line without newline counts');
  t.equal((await s.sh('cat models/m/dataset')).stdout, '1000 2000 3000\n4000 -5000 6000\n7 8 9\n', 'read exports the buffer in fixed point');

  const bad = ['1 2', '1 2 3 4', '1 x 3', 'NaN 1 2', 'Infinity 1 2', '1e10 1 2', '-1000000001 1 2', '0x10 1 2', '1,5 2 3'];
  for (const line of bad) {
    t.equal(await io('write', `${dir}/dataset`, `10 20 30\n${line}\n40 50 60\n`), 'err EINVAL', `${line} rejects the whole write`);
  }
  let st = await stats();
  t.equal(st.samples_total, '3', 'nothing of a rejected write was stored');
  t.equal(st.writes_rejected, String(bad.length));
  t.match((await s.sh('cat models/m/events')).stdout, /rejected file=dataset dataset line 2: expected 3 numbers, got 2/);
  t.equal(await io('write', `${dir}/dataset`, '1e9 -1e9 0.5\n'), 'ok', '±1e9 itself is allowed');

  // Binary form.
  const good = join(s.dir, 'good.bin');
  await writeFile(
    good,
    binary(2, 1, [
      [1, 2, 3],
      [4, 5, 6],
      [-7, -8, -9],
    ]),
  );
  t.equal((await s.sh(`cat ${good} > models/m/dataset`)).code, 0);
  st = await stats();
  t.equal(st.samples_total, '7');
  t.match((await s.sh('cat models/m/dataset')).stdout, /1 2 3\n4 5 6\n-7 -8 -9\n$/);
  const cases: [string, Buffer][] = [
    ['wrong version', binary(2, 1, [[1, 2, 3]], { version: 2 })],
    ['wrong widths', binary(3, 1, [[1, 2, 3, 4]])],
    ['reserved not zero', binary(2, 1, [[1, 2, 3]], { reserved: 1 })],
    ['partial record', binary(2, 1, [[1, 2, 3]]).subarray(0, 16 + 10)],
    [
      'value beyond 1e9',
      binary(2, 1, [
        [1, 2, 3],
        [2000000000, 1, 1],
      ]),
    ],
    ['bad magic', binary(2, 1, [[1, 2, 3]], { magic: 0x12345678 })],
  ];
  for (const [what, bytes] of cases) {
    const file = join(s.dir, 'bad.bin');
    await writeFile(file, bytes);
    const r = await s.sh(`cat ${file} > models/m/dataset`);
    t.not(r.code, 0, `binary ${what} fails`);
  }
  t.equal((await stats()).samples_total, '7', 'no malformed binary sample was stored');

  // A write far larger than one FUSE request, with lines straddling request boundaries.
  const lines: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < 10 * 1024 * 1024; i++) {
    const line = `${i % 1000} ${-(i % 777)} ${(i * 7) % 100003}\n`;
    lines.push(line);
    bytes += line.length;
  }
  const big = join(s.dir, 'big.txt');
  await writeFile(big, lines.join(''));
  const r = await s.sh(`cat ${big} > models/m/dataset`);
  t.equal(r.code, 0, `a ${bytes} byte cat works: ${r.stderr}`);
  st = await stats();
  t.equal(st.samples_total, String(7 + lines.length), 'every line of the 10 MB write arrived');
  t.equal(st.samples_buffered, String(7 + lines.length));

  // The same file with one bad line at its very end stores nothing.
  await writeFile(big, lines.join('') + '1 2\n');
  t.not((await s.sh(`cat ${big} > models/m/dataset`)).code, 0);
  t.equal((await stats()).samples_total, String(7 + lines.length), 'a 10 MB write with a bad last line stores nothing');

  // The buffer is bounded: oldest out, counted.
  await s.sh('printf "buffer_capacity=100\\n" > models/m/config && echo commit > models/m/control');
  st = await stats();
  t.equal(st.samples_buffered, '100');
  t.equal(st.samples_dropped, String(7 + lines.length - 100));
  await s.sh('for i in $(seq 1 10); do echo "$i 0 0"; done > models/m/dataset');
  st = await stats();
  t.equal(st.samples_buffered, '100');
  t.equal(st.samples_dropped, String(7 + lines.length - 100 + 10));
  t.match((await s.sh('tail -n 1 models/m/dataset')).stdout, /^10 0 0\n$/, 'the newest sample is last');

  // One batch far larger than the buffer keeps only what the buffer can hold, and counts the rest.
  const before = await stats();
  await writeFile(big, Array.from({ length: 5000 }, (_, i) => `${i} 1 1\n`).join(''));
  t.equal((await s.sh(`cat ${big} > models/m/dataset`)).code, 0);
  st = await stats();
  t.equal(Number(st.samples_total), Number(before.samples_total) + 5000, 'every sample of the batch counted');
  t.equal(Number(st.samples_dropped), Number(before.samples_dropped) + 5000, 'the buffer was full: 100 out, 4900 never stored');
  t.match((await s.sh('head -n 1 models/m/dataset')).stdout, /^4900 1 1\n$/, 'the newest 100 of the batch are kept');
});

t.test('big writes decoded in pieces while other requests are served mean what they mean whole', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m && printf "inputs=2\\noutputs=1\\nscale=1000\\nbuffer_capacity=1000000\\n" > models/m/config && echo commit > models/m/control');
  const stats = async () => parseStats((await s.sh('cat models/m/stats')).stdout);
  // Lines of uneven length (so that no piece boundary falls on a line's end by design), and a 20 KiB comment
  // line, longer than a piece (src/fs/bulk-queue.ts).
  const lines: string[] = [];
  for (let i = 0; i < 60000; i++) lines.push(`${(i * 7919) % 100003} ${-(i % 777)} ${i % 13 ? i : i * 7}\n`);
  const text = lines.slice(0, 30000).join('') + `# ${'x'.repeat(20480)}\n` + lines.slice(30000).join('');
  await writeFile(join(s.dir, 'big.txt'), text);
  await writeFile(join(s.dir, 'bad.txt'), lines.slice(0, 1000).join('') + '1 2\n' + lines.slice(1000, 3000).join(''));
  // A reader of `stats` keeps the server busy with other requests, so big writes queue and go in pieces.
  const busy = (script: string) =>
    s.sh(`(while [ ! -e ${s.dir}/stop ]; do cat models/m/stats > /dev/null; done) & ${script}; r=$?; touch ${s.dir}/stop; wait; exit $r`);
  const good = await busy(`dd if=${s.dir}/big.txt of=models/m/dataset bs=128k status=none`);
  t.equal(good.code, 0, `the write of ${text.length} bytes in 128 KiB writes works: ${good.stderr}`);
  t.equal((await stats()).samples_total, String(lines.length), 'every sample stored once');
  t.equal((await s.sh('cat models/m/dataset')).stdout, lines.join(''), 'and exactly as written, in order');
  await s.sh(`rm ${s.dir}/stop`);
  const bad = await busy(`dd if=${s.dir}/bad.txt of=models/m/dataset bs=128k status=none`);
  t.not(bad.code, 0, 'a bad line well inside a 128 KiB write fails it');
  t.match(bad.stderr, /Invalid argument/);
  t.equal((await stats()).samples_total, String(lines.length), 'and nothing of its batch is stored');
});

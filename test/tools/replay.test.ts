// mlproxy replay against a real mount: multi-file datasets in batches, a bad line named FILE:LINE with
// nothing of its batch stored, stdin with plain progress lines, the dataset log, and clear errors.
import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, parseStats, waitFor, testDir, type Server } from '../helpers/server.js';
import { encodeRecord } from '../../src/engine/store/datalog.js';
import { tool } from './fixtures/tool.js';

async function makeModel(s: Server, name: string, config: string): Promise<void> {
  const r = await s.sh(`mkdir models/${name} && printf '${config.replace(/\n/g, '\\n')}' > models/${name}/config && echo commit > models/${name}/control`);
  if (r.code !== 0) throw new Error(`model ${name}: ${r.stderr}`);
}
const stats = async (s: Server, name: string) => parseStats((await s.sh(`cat models/${name}/stats`)).stdout);
const dataset = async (s: Server, name: string) => (await s.sh(`cat models/${name}/dataset`)).stdout;

t.test('replay', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const mnt = ['--mountpoint', s.mnt];

  t.test('several files, in batches: every sample stored, in order', async (t) => {
    await makeModel(s, 'm', 'inputs=2\noutputs=1\nbuffer_capacity=100000\n');
    const a = join(s.dir, 'a.txt');
    const b = join(s.dir, 'b.txt');
    const expected: string[] = [];
    let textA = '# from host a\n\n';
    for (let i = 0; i < 23; i++) {
      textA += `${i} ${-i * 0.5}\t${i * 2} # sample ${i}\r\n`;
      expected.push(`${i} ${-i * 0.5} ${i * 2}`);
    }
    let textB = '';
    for (let i = 0; i < 40; i++) {
      textB += `  ${i}e-3 ${i + 0.25} -${i}\n`;
      expected.push(`${i / 1000} ${i + 0.25} ${-i}`);
    }
    await writeFile(a, textA);
    await writeFile(b, textB.trimEnd()); // the last line without its newline counts
    const r = await tool(['replay', '--model', 'm', ...mnt, '--batch-samples', '7', a, b]);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '', 'nothing on stdout');
    const st = await stats(s, 'm');
    t.equal(st.samples_total, String(expected.length), 'samples_total is the count of sample lines');
    t.equal(st.writes_rejected, '0');
    t.equal(await dataset(s, 'm'), expected.join('\n') + '\n', 'read back in order');
    t.match(
      r.stderr,
      /^replay m: stored 63 samples in 9 batches from 2 files in [\d.]+s \(\d+ samples\/s\); model now: samples_total 63, samples_buffered 63\/100000, train_steps 0, loss nan, state created\n/m,
      'summary line',
    );
    t.match(r.stderr, /note: the model has no network yet/, 'says why it will not train');
  });

  t.test('a bad line: FILE:LINE, non-zero exit, nothing of its batch stored', async (t) => {
    await makeModel(s, 'bad', 'inputs=2\noutputs=1\n');
    const good = join(s.dir, 'good.txt');
    const bad = join(s.dir, 'bad.txt');
    await writeFile(good, '1 1 1\n2 2 2\n3 3 3\n');
    await writeFile(bad, '4 4 4\n5 5 5\n# comment\n6 6 6\n7 7 7\n8 8 8\n9 9\n10 10 10\n');
    const r = await tool(['replay', '--model', 'bad', ...mnt, '--batch-samples', '5', good, bad]);
    t.equal(r.code, 1);
    t.match(r.stderr, `mlproxy replay: ${bad}:7: expected 3 numbers (2 inputs + 1 output), got 2\n`);
    t.match(r.stderr, `stopped: 5 samples stored in 1 batch, through ${bad}:2; nothing after that was written (to resume, replay what follows ${bad}:2)`);
    const st = await stats(s, 'bad');
    t.equal(st.samples_total, '5', 'the first batch only: none of the bad batch (lines 4-6 of bad.txt)');
    t.equal(st.writes_rejected, '0', 'the bad batch never reached the server');
    t.equal(await dataset(s, 'bad'), '1 1 1\n2 2 2\n3 3 3\n4 4 4\n5 5 5\n');

    for (const [line, message] of [
      ['1 x 3', '"x" is not a number'],
      ['1 2 3 4', 'expected 3 numbers (2 inputs + 1 output), got 4'],
      ['1e10 1 1', 'is beyond ±1000000000'],
      ['0x10 1 1', 'is not a number'],
      ['NaN 1 1', 'is not a number'],
    ]) {
      const f = join(s.dir, 'one-bad.txt');
      await writeFile(f, `1 2 3\n${line}\n`);
      const r2 = await tool(['replay', '--model', 'bad', ...mnt, f]);
      t.equal(r2.code, 1, line);
      t.match(r2.stderr, `${f}:2: `, `${line}: named by FILE:LINE`);
      t.match(r2.stderr, message);
      t.match(r2.stderr, 'stopped: no sample was stored');
    }
    t.equal((await stats(s, 'bad')).samples_total, '5', 'nothing more stored');
  });

  t.test('stdin, with plain progress lines at most once a second', async (t) => {
    await makeModel(s, 'in', 'inputs=1\noutputs=1\nscale=1000\n');
    const pieces: string[] = [];
    for (let p = 0; p < 6; p++) {
      let text = '';
      for (let i = 0; i < 30; i++) text += `${p * 30 + i} ${-(p * 30 + i)}\n`;
      pieces.push(text);
    }
    // The gaps count from the first batch stored: on a loaded machine the child may start after every piece was
    // written, read them at once and finish inside a second, printing no progress line at all.
    const r = await tool(['replay', '--model', 'in', ...mnt, '--batch-samples', '25', '-'], {
      input: pieces,
      gapMs: 500,
      between: async (piece) => {
        if (piece === 1) await waitFor(async () => Number((await stats(s, 'in')).samples_total) >= 25, 30_000, 'the first batch');
      },
    });
    t.equal(r.code, 0, r.stderr);
    t.equal((await stats(s, 'in')).samples_total, '180');
    const progress = r.stderr.split('\n').filter((l) => /^replay in: \d+ samples, \d+ samples\/s, loss \S+, train_steps \d+$/.test(l));
    t.ok(progress.length >= 1, `progress lines appear:\n${r.stderr}`);
    t.ok(progress.length <= Math.ceil(r.ms / 1000), `at most one a second (${progress.length} in ${r.ms} ms)`);
    t.match(r.stderr, /replay in: stored 180 samples in 8 batches from stdin in/);
    t.match(await dataset(s, 'in'), /^0 0\n1 -1\n[^]*\n179 -179\n$/);
  });

  t.test('a file of known size gets a share and an ETA', async (t) => {
    await makeModel(s, 'big', 'inputs=3\noutputs=2\nbuffer_capacity=1000000\n');
    const f = join(s.dir, 'big.txt');
    let text = '';
    for (let i = 0; i < 400000; i++) text += `${i} ${i % 7} ${i % 13} ${-i} ${i % 3}\n`;
    await writeFile(f, text);
    const r = await tool(['replay', '--model', 'big', ...mnt, '--batch-samples', '20000', f]);
    t.equal(r.code, 0, r.stderr);
    t.equal((await stats(s, 'big')).samples_total, '400000');
    // Progress is printed at most once a second of the replay itself (not of the process, whose start-up
    // counts in r.ms): expect a line only when the replay's own summary says it ran that long and more.
    const replaySeconds = Number(/from 1 file in ([\d.]+)s/.exec(r.stderr)?.[1] ?? 0);
    if (replaySeconds >= 1.5) t.match(r.stderr, /^replay big: \d+\/~?\d+ samples \(\d+%\), \d+ samples\/s, ETA \S+, loss/m, 'progress with share and ETA');
    t.match(r.stderr, /stored 400000 samples in 20 batches/);
  });

  t.test('the dataset log format', async (t) => {
    await makeModel(s, 'lg', 'inputs=2\noutputs=1\nscale=1000\n');
    const rows = new Float32Array([1.5, -2, 0.007, 3, 4, 5, 0.001, 0, -0.25]);
    const f = join(s.dir, 'dataset.log');
    const first = encodeRecord([rows.subarray(0, 6)], 3);
    const second = encodeRecord([rows.subarray(6)], 3);
    await writeFile(f, Buffer.concat([first, second, second.subarray(0, 10)]));
    const r = await tool(['replay', '--model', 'lg', ...mnt, f]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, `warning: ${f}:record 3 (byte ${first.length + second.length}): the file ends inside a record`, 'a torn tail is skipped with a warning');
    t.equal(await dataset(s, 'lg'), '1500 -2000 7\n3000 4000 5000\n1 0 -250\n', 'real-unit rows scaled back to the model');

    await writeFile(f, encodeRecord([new Float32Array([1, 2, 3, 4])], 4));
    const wide = await tool(['replay', '--model', 'lg', ...mnt, '--format', 'log', f]);
    t.equal(wide.code, 1);
    t.match(wide.stderr, `${f}:record 1: rows of 4 values, the model takes 3 numbers`);
  });

  t.test('errors from the mount, one clear message each', async (t) => {
    const f = join(s.dir, 'one.txt');
    await writeFile(f, '1 2\n');
    let r = await tool(['replay', '--model', 'nope', ...mnt, f]);
    t.equal(r.code, 1);
    t.equal(
      r.stderr,
      `mlproxy replay: model nope: model "nope" does not exist (no ${s.mnt}/models/nope); create it with mkdir and commit its config first, or it was removed meanwhile\n`,
    );
    r = await tool(['replay', '--model', 'x', '--mountpoint', s.dir, f]);
    t.equal(r.code, 1);
    t.match(r.stderr, `${s.dir} is not an mlproxy mount`);
    await makeModel(s, 'e', 'inputs=1\noutputs=1\n');
    r = await tool(['replay', '--model', 'e', ...mnt, f, join(s.dir, 'missing.txt')]);
    t.equal(r.code, 1);
    t.match(r.stderr, `missing.txt: no such file`);
    t.equal((await stats(s, 'e')).samples_total, '0', 'inputs are checked before anything is written');
  });

  t.test('a batch the server refuses: which batch, why, and where', async (t) => {
    await makeModel(s, 'cfg', 'inputs=1\noutputs=1\n');
    const first = '1 1\n2 2\n3 3\n';
    const r = await tool(['replay', '--model', 'cfg', ...mnt, '--batch-samples', '3', '-'], {
      input: [first, '4 4\n5 5\n6 6\n'],
      between: async () => {
        await waitFor(async () => (await stats(s, 'cfg')).samples_total === '3', 5000, 'first batch');
        await s.sh(`printf 'inputs=2\\n' > models/cfg/config && echo commit > models/cfg/control`);
      },
    });
    t.equal(r.code, 1);
    t.match(r.stderr, /the server refused batch 2 \(3 samples, stdin:4 to stdin:6\) \(EINVAL\): dataset line 1: expected 3 numbers, got 2 \(that is stdin:4\)/);
    t.match(r.stderr, /stopped: 3 samples stored before it, through stdin:3/);
  });

  t.test('a full buffer with overflow=reject', async (t) => {
    await makeModel(s, 'full', 'inputs=1\noutputs=1\nbuffer_capacity=4\nbatch_size=2\noverflow=reject\n');
    const r = await tool(['replay', '--model', 'full', ...mnt, '--batch-samples', '3', '-'], { input: '1 1\n2 2\n3 3\n4 4\n5 5\n' });
    t.equal(r.code, 1);
    t.match(r.stderr, /writing batch 2 \(2 samples, stdin:4 to stdin:5\): the server refused the samples for lack of room \(ENOSPC\)/);
    t.equal((await stats(s, 'full')).samples_total, '3');
  });

  t.test('Ctrl-C stops after the batch being written', async (t) => {
    await makeModel(s, 'int', 'inputs=1\noutputs=1\n');
    const r = await tool(['replay', '--model', 'int', ...mnt, '--batch-samples', '4', '-'], {
      input: ['1 1\n2 2\n3 3\n4 4\n5 5\n', '6 6\n', '7 7\n'],
      between: async (piece, child) => {
        if (piece !== 2) return;
        await waitFor(async () => (await stats(s, 'int')).samples_total === '4', 5000, 'first batch');
        child.kill('SIGINT');
        await new Promise((r) => child.once('exit', r));
      },
    });
    t.equal(r.code, 130);
    t.match(r.stderr, 'mlproxy replay: SIGINT: stopped: 4 samples stored in 1 batch, through stdin:4; nothing after that was written');
    t.equal((await stats(s, 'int')).samples_total, '4', 'the unfinished batch was not written');
  });

  t.test('usage errors', async (t) => {
    for (const [args, message] of [
      [['replay', 'f'], '--model NAME is required'],
      [['replay', '--model', 'm'], 'no FILE given'],
      [['replay', '--model', 'm', '--batch-samples', '0', 'f'], '--batch-samples must be'],
      [['replay', '--model', 'm', '--format', 'xml', 'f'], '--format must be auto or one of text csv jsonl log'],
      [['replay', '--model', 'm', '-', '-'], 'standard input (-) can be read only once'],
      [['replay', '--model', 'BAD', 'f'], 'is not a model name'],
      [['replay', '--bogus'], "Unknown option '--bogus'"],
    ] as [string[], string][]) {
      const r = await tool(args);
      t.equal(r.code, 2, args.join(' '));
      t.match(r.stderr, message);
    }
    const help = await tool(['replay', '--help']);
    t.equal(help.code, 0);
    t.match(help.stdout, /^Usage: mlproxy replay --model NAME/);
  });

  t.test('a dead mount', async (t) => {
    const f = join(s.dir, 'one.txt');
    s.proc.kill('SIGKILL');
    await new Promise((r) => s.proc.once('exit', r));
    const r = await tool(['replay', '--model', 'm', ...mnt, f]);
    t.equal(r.code, 1);
    t.match(r.stderr, `the mount at ${s.mnt} is dead (transport endpoint is not connected)`);
  });
});

t.test('replay of a dataset log written by a server with --state-dir', async (t) => {
  const dir = await testDir(t, 'mlproxy-tools-');
  const state = join(dir, 'state');
  const s = await startServer({ args: ['--state-dir', state], dir });
  t.teardown(() => s.stop()); // registered after the directory's removal, so it runs before it
  const mnt = ['--mountpoint', s.mnt];
  for (const [scale, rows] of [
    ['1000', '1500 -2000 7\n3 4 -5\n'],
    ['1', '0.1 -2.5 1e-7\n123456.7 0 -1\n'],
  ]) {
    const config = `inputs=2\noutputs=1\nscale=${scale}\n`;
    await makeModel(s, `src${scale}`, config);
    await makeModel(s, `dst${scale}`, config);
    // Two batches: two records.
    await s.sh(`printf '${rows}' > models/src${scale}/dataset && printf '9 8 7\n' > models/src${scale}/dataset`);
    const copy = join(dir, `src${scale}.log`);
    // The log's segments, in name order, make one log (docs/offline.md).
    const model = join(state, 'models', `src${scale}`);
    const segments = (await readdir(model)).filter((n) => /^dataset\.\d{10}\.log$/.test(n)).sort();
    await writeFile(copy, Buffer.concat(await Promise.all(segments.map((n) => readFile(join(model, n))))));
    const r = await tool(['replay', '--model', `dst${scale}`, ...mnt, copy]);
    t.equal(r.code, 0, r.stderr);
    t.equal(await dataset(s, `dst${scale}`), await dataset(s, `src${scale}`), `scale ${scale}: the same buffer read back`);
    t.equal((await stats(s, `dst${scale}`)).samples_total, '3');
  }
});

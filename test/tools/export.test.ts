// mlproxy export against a real mount: csv and jsonl in real units, written atomically, and the round
// trip export → replay into a fresh model giving back the same dataset; plus the pure progress text.
import t from 'tap';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, parseStats, type Server } from '../helpers/server.js';
import { renderBar, renderLine, formatDuration, formatCount } from '../../src/tools/progress.js';
import { tool } from './fixtures/tool.js';

async function makeModel(s: Server, name: string, config: string): Promise<void> {
  const r = await s.sh(`mkdir models/${name} && printf '${config.replace(/\n/g, '\\n')}' > models/${name}/config && echo commit > models/${name}/control`);
  if (r.code !== 0) throw new Error(`model ${name}: ${r.stderr}`);
}
const stats = async (s: Server, name: string) => parseStats((await s.sh(`cat models/${name}/stats`)).stdout);
const dataset = async (s: Server, name: string) => (await s.sh(`cat models/${name}/dataset`)).stdout;

t.test('export', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const mnt = ['--mountpoint', s.mnt];

  t.test('fixed point: csv and jsonl in real units, and back', async (t) => {
    const config = 'inputs=2\noutputs=1\nscale=1000\nbuffer_capacity=50000\n';
    await makeModel(s, 'src', config);
    let text = '';
    for (let i = 0; i < 20000; i++) text += `${i * 7 - 70000} ${(i * 13) % 2001} ${-i}\n`;
    await writeFile(join(s.dir, 'src.txt'), text);
    t.equal((await s.sh(`cat ${join(s.dir, 'src.txt')} > models/src/dataset`)).code, 0);
    await s.sh(`printf '1500 -2000 7\\n' > models/src/dataset`);
    const original = await dataset(s, 'src');

    const csvFile = join(s.dir, 'out', 'src.csv');
    await s.sh(`mkdir ${join(s.dir, 'out')}`);
    const csv = await tool(['export', 'src', ...mnt, '--format', 'csv', '--output', csvFile]);
    t.equal(csv.code, 0, csv.stderr);
    t.equal(csv.stdout, '', '--output: nothing on stdout');
    t.match(csv.stderr, `export src: 20001 samples (2 inputs, 1 output, scale 1000) written as csv to ${csvFile} in `);
    const csvText = await readFile(csvFile, 'utf8');
    const csvLines = csvText.split('\n');
    t.equal(csvLines[0], 'x1,x2,y1', 'header');
    t.equal(csvLines[1], '-70,0,0', 'values divided by scale');
    t.equal(csvLines[20001], '1.5,-2,0.007', 'real units');
    t.equal(csvLines.length, 20003, 'one row per sample and a final newline');
    t.same(await readdir(join(s.dir, 'out')), ['src.csv'], 'no temporary file left behind');

    const jsonl = await tool(['export', 'src', ...mnt, '--format', 'jsonl']);
    t.equal(jsonl.code, 0, jsonl.stderr);
    const docs = jsonl.stdout.trimEnd().split('\n');
    t.equal(docs.length, 20001);
    t.same(JSON.parse(docs[20000]), { x: [1.5, -2], y: [0.007] });
    t.equal(docs[0], '{"x":[-70,0],"y":[0]}');
    const jsonlFile = join(s.dir, 'src.jsonl');
    await writeFile(jsonlFile, jsonl.stdout);

    await makeModel(s, 'fromcsv', config);
    await makeModel(s, 'fromjsonl', config);
    let r = await tool(['replay', '--model', 'fromcsv', ...mnt, csvFile]);
    t.equal(r.code, 0, r.stderr);
    r = await tool(['replay', '--model', 'fromjsonl', ...mnt, jsonlFile]);
    t.equal(r.code, 0, r.stderr);
    t.equal(await dataset(s, 'fromcsv'), original, 'csv round trip: the same dataset read back');
    t.equal(await dataset(s, 'fromjsonl'), original, 'jsonl round trip: the same dataset read back');

    // Into a model with another scale: real units carry over, the fixed-point text follows the scale.
    await makeModel(s, 'tenths', 'inputs=2\noutputs=1\nscale=10\n');
    const f = join(s.dir, 'last.csv');
    await writeFile(f, 'x1,x2,y1\n1.5,-2,0.7\n');
    t.equal((await tool(['replay', '--model', 'tenths', ...mnt, f])).code, 0);
    t.equal(await dataset(s, 'tenths'), '15 -20 7\n');
  });

  t.test('decimals (scale 1) round trip, and a model of another width is refused', async (t) => {
    await makeModel(s, 'dec', 'inputs=3\noutputs=2\n');
    let text = '';
    for (let i = 0; i < 500; i++) text += `${Math.sin(i).toFixed(6)} ${(i / 7).toFixed(5)} ${i * 1e-4} ${-i * 123.456} ${Math.cos(i) * 1e5}\n`;
    await writeFile(join(s.dir, 'dec.txt'), text);
    t.equal((await tool(['replay', '--model', 'dec', ...mnt, '-q', join(s.dir, 'dec.txt')])).code, 0);
    const original = await dataset(s, 'dec');
    for (const format of ['csv', 'jsonl']) {
      const out = join(s.dir, `dec.${format}`);
      const e = await tool(['export', 'dec', ...mnt, '--format', format, '-o', out, '-q']);
      t.equal(e.code, 0, e.stderr);
      t.equal(e.stderr, '', '--quiet');
      await makeModel(s, `dec-${format}`, 'inputs=3\noutputs=2\n');
      t.equal((await tool(['replay', '--model', `dec-${format}`, ...mnt, out])).code, 0);
      t.equal(await dataset(s, `dec-${format}`), original, `${format}: the same dataset read back`);
    }
    await makeModel(s, 'narrow', 'inputs=2\noutputs=2\n');
    const r = await tool(['replay', '--model', 'narrow', ...mnt, join(s.dir, 'dec.csv')]);
    t.equal(r.code, 1);
    t.match(r.stderr, `${join(s.dir, 'dec.csv')}:1: the header has 5 columns, the model takes 4 numbers (2 inputs + 2 outputs)`);
    const j = await tool(['replay', '--model', 'narrow', ...mnt, join(s.dir, 'dec.jsonl')]);
    t.match(j.stderr, `${join(s.dir, 'dec.jsonl')}:1: expected 2 x and 2 y values, got 3 and 2`);
    t.equal((await stats(s, 'narrow')).samples_total, '0');
  });

  t.test('an empty buffer, a replaced file, and failures that leave the old file alone', async (t) => {
    await makeModel(s, 'empty', 'inputs=1\noutputs=2\n');
    const out = join(s.dir, 'keep.csv');
    await writeFile(out, 'old\n');
    let r = await tool(['export', 'empty', ...mnt, '--format', 'csv', '--output', out]);
    t.equal(r.code, 0, r.stderr);
    t.equal(await readFile(out, 'utf8'), 'x1,y1,y2\n', 'header only, the old content replaced');

    await writeFile(out, 'old\n');
    r = await tool(['export', 'nope', ...mnt, '--format', 'csv', '--output', out]);
    t.equal(r.code, 1);
    t.equal(
      r.stderr,
      `mlproxy export: model nope: model "nope" does not exist (no ${s.mnt}/models/nope); create it with mkdir and commit its config first, or it was removed meanwhile\n`,
    );
    t.equal(await readFile(out, 'utf8'), 'old\n', 'untouched');
    r = await tool(['export', 'empty', ...mnt, '--format', 'csv', '--output', join(s.dir, 'no', 'such', 'dir.csv')]);
    t.equal(r.code, 1);
    t.match(r.stderr, 'its directory');
    t.notOk(
      (await readdir(s.dir)).some((f) => f.endsWith('.tmp')),
      'no temporary file left',
    );
  });

  t.test('usage errors', async (t) => {
    for (const [args, message] of [
      [['export', 'm'], '--format csv|jsonl is required'],
      [['export', 'm', '--format', 'xml'], '--format must be one of csv jsonl'],
      [['export', '--format', 'csv'], 'no model NAME given'],
      [['export', 'a', 'b', '--format', 'csv'], 'one model NAME expected, got 2'],
    ] as [string[], string][]) {
      const r = await tool(args);
      t.equal(r.code, 2, args.join(' '));
      t.match(r.stderr, message);
    }
    const help = await tool(['export', '--help']);
    t.equal(help.code, 0);
    t.match(help.stdout, /^Usage: mlproxy export NAME --format csv\|jsonl/);
  });
});

t.test('progress text', async (t) => {
  t.equal(formatDuration(5.4), '5s');
  t.equal(formatDuration(125), '2m05s');
  t.equal(formatDuration(7300), '2h01m');
  t.equal(formatCount(9999), '9999');
  t.equal(formatCount(123456), '123k');
  t.equal(formatCount(1234567), '1.23M');
  const view = {
    label: 'replay m',
    done: 450000,
    total: 1000000,
    estimated: true,
    fraction: 0.45,
    rate: 52000,
    eta: 10.6,
    loss: '0.0123456',
    trainSteps: '1920',
  };
  t.equal(renderLine(view), 'replay m: 450000/~1000000 samples (45%), 52000 samples/s, ETA 11s, loss 0.0123456, train_steps 1920');
  t.equal(renderLine({ label: 'replay m', done: 7, rate: 3.2 }), 'replay m: 7 samples, 3 samples/s');
  const bar = renderBar(view, 100);
  t.match(bar, /^replay m \[#+-+\] {2}45% 450k\/~1\.00M 52\.0k\/s ETA 11s loss 0\.0123 steps 1920$/);
  t.ok(bar.length <= 99, 'fits the terminal');
  t.ok(renderBar(view, 40).length <= 39, 'a narrow terminal gets a cut line, no bar');
  t.notMatch(renderBar(view, 40), /\[/);
});

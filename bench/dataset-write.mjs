// Benchmark 6, bulk dataset writes: wall time of `cat file > dataset` for a 10 MB file, text and binary,
// through a real mount, against the same cat into a file on tmpfs (or /tmp) in the same run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticData, datasetText, datasetBinary, summarize, fmt, mb, table, report, run, progress, machine, startServer, createModel } from './lib.mjs';

const INPUTS = 16;
const OUTPUTS = 4;
const TARGET_BYTES = 10 * 1024 * 1024;
const REPS = 7;

function timeCat(file, target) {
  const t0 = performance.now();
  execFileSync('sh', ['-c', 'cat "$1" > "$2"', 'sh', file, target]);
  return performance.now() - t0;
}

run(async () => {
  const scratchRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const scratch = mkdtempSync(join(scratchRoot, 'mlproxy-bench-'));
  const server = await startServer();
  try {
    // Text: lines of 20 numbers with 5 decimals, about 170 bytes a sample; binary: 80 bytes a sample.
    const textRows = Math.ceil((TARGET_BYTES / datasetText(...Object.values(syntheticData(100, INPUTS, OUTPUTS)), INPUTS, OUTPUTS).length) * 100);
    const d = syntheticData(textRows, INPUTS, OUTPUTS, 31);
    let text = datasetText(d.xs, d.ys, INPUTS, OUTPUTS);
    // Trim to whole lines at or below 10 MiB.
    text = text.slice(0, text.lastIndexOf('\n', TARGET_BYTES) + 1);
    const textSamples = text.split('\n').length - 1;
    const binRows = Math.floor((TARGET_BYTES - 16) / ((INPUTS + OUTPUTS) * 4));
    const b = syntheticData(binRows, INPUTS, OUTPUTS, 33);
    const binary = datasetBinary(b.xs, b.ys, INPUTS, OUTPUTS, 1000);
    const files = { text: join(scratch, 'samples.txt'), binary: join(scratch, 'samples.bin') };
    writeFileSync(files.text, text);
    writeFileSync(files.binary, binary);

    createModel(server, 'bulk', `inputs=${INPUTS}\noutputs=${OUTPUTS}\nhidden=64,64\n`);
    const dataset = server.path('models', 'bulk', 'dataset');
    const sink = join(scratch, 'copy');
    const times = { text: [], binary: [], textSink: [], binarySink: [] };
    for (const kind of ['text', 'binary']) timeCat(files[kind], dataset); // warm-up
    for (let r = 0; r < REPS; r++) {
      for (const kind of ['text', 'binary']) {
        times[kind].push(timeCat(files[kind], dataset));
        times[`${kind}Sink`].push(timeCat(files[kind], sink));
      }
      progress(`rep ${r + 1}: text ${fmt(times.text.at(-1))} ms, binary ${fmt(times.binary.at(-1))} ms`);
    }
    const stats = server.stats('bulk');
    const expected = (REPS + 1) * (textSamples + binRows);
    if (stats.samples_total !== expected) throw new Error(`expected ${expected} samples stored, stats say ${stats.samples_total}`);

    const s = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summarize(v)]));
    const sizes = { text: statSync(files.text).size, binary: statSync(files.binary).size };
    const samples = { text: textSamples, binary: binRows };
    const rows = ['text', 'binary'].map((k) => [
      k,
      `${mb(sizes[k])} MiB, ${fmt(samples[k])} samples`,
      fmt(s[k].p50),
      `${fmt(s[k].min)}–${fmt(s[k].max)}`,
      fmt(sizes[k] / 1048576 / (s[k].p50 / 1000)),
      fmt(samples[k] / (s[k].p50 / 1000)),
      fmt(s[`${k}Sink`].p50),
      `${fmt(s[k].p50 / s[`${k}Sink`].p50)}×`,
    ]);
    const section = `
\`cat FILE > models/bulk/dataset\` run by \`sh\`, timed from spawn to exit, for a model with 16 inputs and 4
outputs (hidden 64,64, default buffer_capacity 10000, initialised, not training). Each cat is one batch: decoded as it
arrives, stored when the file closes (only the newest 10000 samples stay in the buffer). ${REPS} repetitions after one
warm-up each, interleaved with the same cat into a file on ${scratchRoot} for comparison; every sample was
checked to arrive (\`samples_total\`).

${table(['form', 'size', 'wall p50 (ms)', 'range (ms)', 'MiB/s', 'samples/s', `same cat to ${scratchRoot} p50 (ms)`, 'mount ÷ local'], rows)}

No goal was set for this. For the same 10 MiB, text takes ${fmt(s.text.p50 / s.binary.p50)}× the wall time of binary while carrying
${fmt(samples.text / samples.binary)}× the samples, so decoding text (a line split and a regular expression per number) is where the time goes;
the binary form is what the kernel module writes.`;
    report('dataset-write', {
      title: 'Bulk dataset write: 10 MB cat > dataset',
      section,
      goals: [],
      data: { machine: machine(), times, sizes, samples },
    });
  } finally {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});

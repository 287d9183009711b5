// Benchmark 5, memory: the server's resident set (VmRSS of the server process, worker thread included)
//   a) per idle model: 50 models with the default config created and initialised through the mount,
//      then started and trained once each (which gives each a network in the training worker), then removed;
//   b) a 150 s flood: one writer sends dataset batches back to back to one started model with a bounded
//      buffer; RSS, samples in and dropped sampled every second (RSS at 10 s vs 60 s, and whether it still
//      grows between the last two quarters: V8 sizes its heap up over the first minute or so);
//   c) one dataset file held open while 72 MiB is written to it (one batch, not closed until the end);
//   d) TensorFlow.js tensors the real training code leaves behind when a model is removed, rebuilt or
//      given a new learning rate (counted inside the training process; RSS is too coarse for this).
// Part b's RSS over time is drawn as a plot beside its table.
//   node bench/memory.mjs [--quick] [--out FILE] [--svg-dir DIR]
//     --quick  few models, a short flood and stream, few cycles: the CI smoke run (test/bench/smoke.test.ts)
import { closeSync, openSync, writeSync } from 'node:fs';
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { syntheticData, datasetBinary, fmt, mb, table, report, run, progress, machine, startServer, createModel, poll, sleep } from './lib.mjs';
import { lineChart } from './svg.mjs';

const QUICK = process.argv.includes('--quick');
const MODELS = QUICK ? 4 : 100;
const GOAL_PER_MODEL = 10 * 1024 * 1024;
// V8 keeps sizing its heap up for the first minute or so of a flood (70 s here), so the flood runs long
// enough to compare two windows after that. BENCH_FLOOD_SECONDS overrides it.
const FLOOD_MS = 1000 * Number(process.env.BENCH_FLOOD_SECONDS ?? (QUICK ? 8 : 150));
const FLOOD_CAPACITY = 100_000;
const FLOOD_BATCH = 1000;
// A batch may hold at most 2^20 samples (src/limits.ts, EFBIG): 80 MiB of 80-byte records is 1,048,576, so the
// stream stops past 72 MiB (944,000 samples in batches of 1,000, 9.4x the buffer): whole 8 MiB marks under the limit.
const STREAM_BYTES = (QUICK ? 16 : 72) * 1024 * 1024;
const STREAM_MARK = (QUICK ? 4 : 8) * 1024 * 1024;
const INPUTS = 16;
const OUTPUTS = 4;

const TF_CYCLES = QUICK ? 2 : 20;
const CHURN_SETS = QUICK ? 2 : 6;
const CHURN_MODELS = QUICK ? 3 : 50;
// Readings a second apart before a figure is taken as settled (the last of them).
const SETTLE_READINGS = QUICK ? 1 : 3;
const PLOT_FILE = 'performance-memory-flood.svg';

/**
 * Fork the real training process with a tensor counter beside it (bench/tf-memory-probe.mjs), drive it with
 * its own requests, and count the tensors it holds after each kind of lifecycle, per event.
 */
async function workerLeftovers() {
  const child = fork(fileURLToPath(new URL('./tf-memory-probe.mjs', import.meta.url)), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['--expose-gc'],
  });
  let nextId = 0;
  const pending = new Map();
  const memoryWaiters = new Map();
  child.on('message', (r) => {
    if (r?.memoryFor !== undefined) {
      memoryWaiters.get(r.memoryFor)?.(r);
      memoryWaiters.delete(r.memoryFor);
    } else if (r && pending.has(r.id)) {
      pending.get(r.id)(r);
      pending.delete(r.id);
    }
  });
  const lost = new Promise((_, reject) => child.once('exit', (code, signal) => reject(new Error(`training process exited (${signal ?? code})`))));
  lost.catch(() => {});
  const send = (body, waiters = pending) =>
    Promise.race([
      new Promise((resolve) => {
        const id = ++nextId;
        waiters.set(id, resolve);
        child.send({ ...body, id });
      }),
      lost,
    ]);
  const call = async (body) => {
    const r = await send(body);
    if (!r.ok) throw new Error(`training process: ${r.error}`);
    return r;
  };
  // The probe answers on its own channel; the training code also answers this request (a dispose of nothing).
  const memory = () => send({ op: 'dispose', model: '__bench_memory__' }, memoryWaiters);
  const spec = { inputs: INPUTS, hidden: [64, 64], outputs: OUTPUTS, learningRate: 0.01 };
  const data = syntheticData(1024, INPUTS, OUTPUTS, 41);
  const round = (model, learningRate = 0.01) =>
    call({ op: 'train', model, xs: data.xs.slice(), ys: data.ys.slice(), batchSize: 32, batches: 32, learningRate });
  const measure = async (fn) => {
    await fn(-1); // once to warm up
    const m0 = await memory();
    for (let i = 0; i < TF_CYCLES; i++) await fn(i);
    const m1 = await memory();
    return { tensors: (m1.numTensors - m0.numTensors) / TF_CYCLES, bytes: (m1.numBytes - m0.numBytes) / TF_CYCLES };
  };
  try {
    const removed = await measure(async (i) => {
      await call({ op: 'build', model: `r${i}`, spec });
      await round(`r${i}`);
      await call({ op: 'dispose', model: `r${i}` });
    });
    await call({ op: 'build', model: 'keep', spec });
    await round('keep');
    const rebuilt = await measure(async () => {
      await call({ op: 'build', model: 'keep', spec });
      await round('keep');
    });
    let lr = 0.01;
    const retuned = await measure(async () => {
      lr = lr === 0.01 ? 0.02 : 0.01;
      await round('keep', lr);
    });
    // RSS of the training process over repeated sets of models made, trained once and removed (default config).
    const churn = [];
    const small = { inputs: 1, hidden: [32, 32], outputs: 1, learningRate: 0.01 };
    const xs = Float32Array.from({ length: 1024 }, (_, i) => i / 1024);
    for (let set = 0; set < CHURN_SETS; set++) {
      for (let i = 0; i < CHURN_MODELS; i++) {
        const model = `c${set}-${i}`;
        await call({ op: 'build', model, spec: small });
        await call({ op: 'train', model, xs: xs.slice(), ys: xs.map((v) => Math.sin(3 * v)), batchSize: 32, batches: 32, learningRate: 0.01 });
        await call({ op: 'dispose', model });
      }
      const m = await memory();
      churn.push({ set: set + 1, models: (set + 1) * CHURN_MODELS, rss: m.rss, heapUsed: m.heapUsed, tensors: m.numTensors });
    }
    const rows = [
      { label: 'model removed', short: 'removed model', how: 'rmdir (build, train a round, dispose)', ...removed },
      { label: 'model rebuilt', short: 'rebuild', how: 'init, reinit, a hidden/inputs/outputs commit (build again, train a round)', ...rebuilt },
      { label: 'learning rate changed', short: 'learning_rate change', how: 'a learning_rate commit (train a round with the new rate)', ...retuned },
    ];
    const params = INPUTS * 64 + 64 + 64 * 64 + 64 + 64 * OUTPUTS + OUTPUTS;
    return { rows, params, leaks: rows.some((r) => r.tensors > 0), churn };
  } finally {
    const exited = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
    child.kill('SIGTERM');
    await exited;
  }
}

/** RSS after letting the server settle: the last of a few readings a second apart. */
async function settledRss(server, seconds = SETTLE_READINGS) {
  let r;
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    r = server.rss();
  }
  return r;
}

run(async () => {
  // --- a) per idle model ------------------------------------------------------------------------
  progress(`a) ${MODELS} idle models`);
  const perModel = {};
  let server = await startServer();
  try {
    server.read('version');
    perModel.empty = await settledRss(server);
    // Load the training worker once with a probe model, so its fixed cost is not charged to the models.
    createModel(server, 'probe', 'inputs=1\noutputs=1\n', { start: true });
    server.write(Array.from({ length: 64 }, (_, i) => `${i / 64} ${(2 * i) / 64}`).join('\n') + '\n', 'models', 'probe', 'dataset');
    await poll(() => server.stats('probe').train_rounds >= 1, 60000, 'the probe model to train');
    server.write('stop\n', 'models', 'probe', 'control');
    perModel.worker = await settledRss(server);

    const names = (prefix) => Array.from({ length: MODELS }, (_, i) => `${prefix}${i}`);
    const samples = Array.from({ length: 64 }, (_, i) => `${i / 64} ${Math.sin(i / 10)}`).join('\n') + '\n';
    /** Give every model samples, start it, wait until each finished a round, stop them all. */
    const trainEach = async (list) => {
      for (const m of list) {
        server.write(samples, 'models', m, 'dataset');
        server.write('start\n', 'models', m, 'control');
      }
      await poll(() => list.every((m) => server.stats(m).train_rounds >= 1), 180000, 'every model to train');
      for (const m of list) server.write('stop\n', 'models', m, 'control');
      await poll(() => list.every((m) => server.stats(m).training === 0), 60000, 'training to pause');
    };
    const removeAll = (list) => list.forEach((m) => execFileSync('rmdir', [server.path('models', m)]));

    const first = names('m');
    for (const m of first) createModel(server, m, undefined, { init: true });
    perModel.idle = await settledRss(server);
    progress('a) training each once');
    await trainEach(first);
    perModel.trained = await settledRss(server);
    removeAll(first);
    perModel.removed = await settledRss(server);
    // The same again with new models: does the memory the first ones left behind get reused?
    progress('a) again with new models');
    const second = names('n');
    for (const m of second) createModel(server, m, undefined, { init: true });
    await trainEach(second);
    perModel.trained2 = await settledRss(server);
    removeAll(second);
    perModel.removed2 = await settledRss(server);
  } finally {
    await server.stop();
  }
  const idleEach = (perModel.idle.rss - perModel.worker.rss) / MODELS;
  const trainedEach = (perModel.trained.rss - perModel.worker.rss) / MODELS;

  // --- b) the flood -----------------------------------------------------------------------------
  progress(`b) ${FLOOD_MS / 1000} s flood`);
  server = await startServer();
  const flood = { timeline: [] };
  const stream = { points: [] };
  try {
    createModel(server, 'flood', `inputs=${INPUTS}\noutputs=${OUTPUTS}\nhidden=64,64\nbuffer_capacity=${FLOOD_CAPACITY}\nscale=1000\n`, { start: true });
    const batches = Array.from({ length: 16 }, (_, i) => {
      const d = syntheticData(FLOOD_BATCH, INPUTS, OUTPUTS, 100 + i);
      return datasetBinary(d.xs, d.ys, INPUTS, OUTPUTS, 1000);
    });
    const datasetPath = server.path('models', 'flood', 'dataset');
    flood.before = server.rss();
    const t0 = performance.now();
    let nextSample = t0 + 1000;
    let writes = 0;
    let bytes = 0;
    let maxRss = 0;
    while (performance.now() - t0 < FLOOD_MS) {
      const fd = openSync(datasetPath, 'w');
      try {
        writeSync(fd, batches[writes % batches.length]);
      } finally {
        closeSync(fd);
      }
      writes++;
      bytes += batches[0].length;
      if (performance.now() >= nextSample) {
        nextSample += 1000;
        const r = server.rss();
        maxRss = Math.max(maxRss, r.rss);
        const s = server.stats('flood');
        flood.timeline.push({
          t: Math.round((performance.now() - t0) / 1000),
          rss: r.rss,
          server: r.server,
          children: r.children,
          samples_total: s.samples_total,
          samples_dropped: s.samples_dropped,
          buffered: s.samples_buffered,
          train_steps: s.train_steps,
        });
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const end = server.stats('flood');
    flood.end = { ...end, seconds, writes, bytes, maxRss, hwm: server.rss().hwm };

    // --- c) one batch that never closes --------------------------------------------------------
    progress(`c) ${STREAM_BYTES / 1048576} MiB on one open dataset file`);
    server.write('stop\n', 'models', 'flood', 'control');
    await poll(() => server.stats('flood').training === 0, 30000, 'training to pause');
    stream.before = (await settledRss(server, Math.min(2, SETTLE_READINGS))).rss;
    const records = batches[0].subarray(16); // records without the header
    const fd = openSync(datasetPath, 'w');
    let written = 0;
    try {
      writeSync(fd, batches[0].subarray(0, 16));
      let mark = STREAM_MARK;
      while (written < STREAM_BYTES) {
        writeSync(fd, records);
        written += records.length;
        if (written >= mark) {
          stream.points.push({ written, rss: server.rss().rss });
          mark += STREAM_MARK;
        }
      }
      stream.beforeClose = server.rss().rss;
    } finally {
      const c0 = performance.now();
      closeSync(fd);
      stream.closeMs = performance.now() - c0;
    }
    stream.afterClose = server.rss().rss;
    stream.settled = (await settledRss(server)).rss;
    stream.written = written;
    stream.hwm = server.rss().hwm;
    stream.samples = written / (4 * (INPUTS + OUTPUTS));
  } finally {
    await server.stop();
  }

  // --- d) tensors left in the training worker --------------------------------------------------------
  progress('d) tensors left in the training worker');
  const tensors = await workerLeftovers();

  // --- Report --------------------------------------------------------------------------------------
  const at = (t) => flood.timeline.reduce((best, p) => (Math.abs(p.t - t) < Math.abs(best.t - t) ? p : best), flood.timeline[0]);
  const r10 = at(10);
  const r30 = at(30);
  const r60 = at(60);
  const rEnd = flood.timeline[flood.timeline.length - 1];
  // RSS saws up and down with garbage collection, so compare windows, not single readings: the highest
  // reading of the third quarter of the flood against the highest of the fourth (V8 grows its heap over the first minute).
  const win = (from, to) => {
    const ps = flood.timeline.filter((p) => p.t >= from && p.t < to);
    const xs = ps.map((p) => p.rss);
    const samples = ps[ps.length - 1].samples_total - ps[0].samples_total;
    return { min: Math.min(...xs), max: Math.max(...xs), samples, bytes: samples * (INPUTS + OUTPUTS) * 4 };
  };
  const secs = FLOOD_MS / 1000;
  const q3 = Math.round(secs / 2);
  const q4 = Math.round((3 * secs) / 4);
  const early = win(q3, q4);
  const late = win(q4, secs + 1);
  const growth = late.max - early.max;
  const bounded = growth <= Math.max(0.1 * early.max, 16 * 1024 * 1024);
  const e = flood.end;
  const idleOk = idleEach <= GOAL_PER_MODEL;
  const streamGrowth = stream.beforeClose - stream.before;
  // Bounded if the last three quarters of the stream add no more than max(16 MiB, 10 %) to the RSS at one quarter.
  const quarter = stream.points.find((p) => p.written >= STREAM_BYTES / 4) ?? stream.points[0];
  const streamLate = stream.beforeClose - quarter.rss;
  const streamBounded = streamLate <= Math.max(16 * 1024 * 1024, 0.1 * quarter.rss);

  const MiB = 1024 * 1024;
  const floodPoints = (key) => [[0, flood.before[key] / MiB], ...flood.timeline.map((p) => [p.t, p[key] / MiB])];
  const plot = lineChart({
    title: `RSS over the ${FLOOD_MS / 1000} s dataset flood (one reading a second)`,
    xLabel: 'seconds into the flood',
    yLabel: 'MiB',
    series: [
      { name: 'total', points: floodPoints('rss') },
      { name: 'server', points: floodPoints('server') },
      // Before the flood's model trains there is no training process: its reading is 0 MiB.
      { name: 'training process', points: floodPoints('children') },
    ],
  });

  const churn = (() => {
    const c = tensors.churn;
    const half = Math.floor(c.length / 2);
    const growth = c[c.length - 1].rss - c[half - 1].rss;
    const heap = c[c.length - 1].heapUsed - c[half - 1].heapUsed;
    return {
      sets: c.length - half,
      growth,
      heap,
      perModel: growth / ((c.length - half) * CHURN_MODELS),
      heapPerModel: heap / ((c.length - half) * CHURN_MODELS),
      settles: growth <= 8 * 1024 * 1024,
    };
  })();
  const section = `
Resident set size (VmRSS from /proc/PID/status) of the server and of its training process (a child of the
server; "total" is their sum), after letting it settle (the last of ${SETTLE_READINGS === 1 ? 'one reading a second after the step' : `${SETTLE_READINGS} readings a second apart`}).

**a) Per model.** ${MODELS} models with the default config (inputs=1, outputs=1, hidden=32,32,
buffer_capacity=10000) made through the mount with \`mkdir\`, \`commit\`, \`init\`. The training process is
started first by a probe model, so its one-off cost is shown separately and not charged to the models.
"trained once" adds 64 samples and \`start\` to each, waits until each has finished a training round
(so each also has a network and optimizer in the training process), then \`stop\`.

${table(
  ['state', 'server (MiB)', 'training process (MiB)', 'total (MiB)', 'per model, total (MiB)'],
  [
    ['empty, just mounted', perModel.empty, '—'],
    ['training started (one probe model trained)', perModel.worker, `training: ${mb(perModel.worker.rss - perModel.empty.rss)} once`],
    [`+ ${MODELS} idle models (initialised)`, perModel.idle, mb(idleEach)],
    [`+ each trained once, then stopped`, perModel.trained, mb(trainedEach)],
    [`after rmdir of the ${MODELS} models`, perModel.removed, `${mb(perModel.removed.rss - perModel.worker.rss)} MiB kept in total`],
    [`${MODELS} new models, each trained once, then stopped`, perModel.trained2, `${mb(perModel.trained2.rss - perModel.removed.rss)} MiB more in total`],
    ['after rmdir of those', perModel.removed2, `${mb(perModel.removed2.rss - perModel.worker.rss)} MiB kept in total`],
  ].map(([label, r, each]) => [label, mb(r.server), r.children ? mb(r.children) : '—', mb(r.rss), each]),
)}

RSS is not returned after rmdir (V8 keeps its heap, and a WebAssembly memory never shrinks). Whether removed
models leak cannot be read from RSS, which saws by tens of MiB with garbage collection; part d counts the training
process's tensors directly.

Goal ≤ 10 MiB per idle model — ${idleOk ? '**met**' : '**missed**'} (${mb(idleEach)} MiB; ${mb(trainedEach)} MiB once trained).

**b) ${FLOOD_MS / 1000} s flood.** One model (16 inputs, 4 outputs, hidden 64,64, buffer_capacity=${fmt(FLOOD_CAPACITY)},
i.e. ${mb(FLOOD_CAPACITY * (INPUTS + OUTPUTS) * 4)} MiB of samples), started, so it trains throughout. The writer opens
\`dataset\`, writes one binary batch of ${fmt(FLOOD_BATCH)} samples (${fmt(16 + FLOOD_BATCH * (INPUTS + OUTPUTS) * 4)} bytes), closes, and repeats for
${fmt(e.seconds)} s: ${fmt(e.writes)} batches, ${fmt(e.samples_total)} samples in (${fmt(e.samples_total / e.seconds)} samples/s,
${mb(e.bytes / e.seconds)} MiB/s), ${fmt(e.samples_dropped)} dropped by the bounded buffer, ${fmt(e.samples_buffered)} buffered at the end,
${fmt(e.train_steps)} training steps meanwhile.

${table(
  ['time', 'RSS total (MiB)', 'server', 'training process', 'samples in', 'samples dropped'],
  [
    ['before', mb(flood.before.rss), mb(flood.before.server), flood.before.children ? mb(flood.before.children) : '—', '0', '0'],
    ...[...new Set([flood.timeline[0], r10, r30, r60, rEnd])].map((p) => [
      `${p.t} s`,
      mb(p.rss),
      mb(p.server),
      mb(p.children),
      fmt(p.samples_total),
      fmt(p.samples_dropped),
    ]),
    [`${q3}–${q4} s: lowest / highest reading`, `${mb(early.min)} / ${mb(early.max)}`, '', '', '', ''],
    [`${q4}–${secs} s: lowest / highest reading`, `${mb(late.min)} / ${mb(late.max)}`, '', '', '', ''],
    ['highest sampled / peaks (VmHWM) added', `${mb(e.maxRss)} / ${mb(e.hwm)}`, '', '', '', ''],
  ],
)}

RSS saws up and down with garbage collection (readings once a second) and V8 sizes its heap up over the first
minute or so, so single readings (${r10.t} s: ${mb(r10.rss)}, ${r60.t} s: ${mb(r60.rss)} MiB) say little; two late windows are compared instead: the
highest reading of ${q4}–${secs} s is ${mb(growth)} MiB above the highest of ${q3}–${q4} s — ${bounded ? '**bounded**' : '**not bounded**'} (criterion: ≤ 10 % of it or
≤ 16 MiB, whichever is larger) while ${fmt(late.samples)} more samples (${mb(late.bytes)} MiB) went in.

![RSS of the server and its training process over the flood](${PLOT_FILE})

**c) One batch that is not closed.** A batch is stored whole or not at all when its file closes; only its newest
${fmt(FLOOD_CAPACITY)} samples (buffer_capacity) can reach the buffer. ${mb(stream.written)} MiB of binary records
(${fmt(stream.samples)} samples, ${fmt(stream.samples / FLOOD_CAPACITY)}× the buffer) written on one open file, RSS read as it goes:

${table(
  ['written (MiB)', ...stream.points.map((p) => mb(p.written)), 'closed', 'settled'],
  [['RSS (MiB)', ...stream.points.map((p) => mb(p.rss)), mb(stream.afterClose), mb(stream.settled)]],
)}

${
  streamBounded
    ? `RSS stays bounded while the batch streams in: +${mb(streamGrowth)} MiB over the whole stream, of which ${mb(streamLate)} MiB after the first quarter
(criterion: ≤ max(16 MiB, 10 %)); peak ${mb(stream.hwm)} MiB, close ${fmt(stream.closeMs)} ms. The decoder keeps at most a bounded multiple
of buffer_capacity rows and counts the rest as dropped.`
    : `RSS grows with the open batch: +${mb(streamGrowth)} MiB for ${mb(stream.written)} MiB written (${fmt(streamGrowth / stream.written)} bytes per byte),
${mb(streamLate)} MiB of it after the first quarter; peak ${mb(stream.hwm)} MiB, close ${fmt(stream.closeMs)} ms. The memory goes to samples that will
be dropped on arrival. **Fix:** the decoder should validate every record but keep only the newest buffer_capacity rows, counting the rest
as dropped; memory per open file would then be bounded by the buffer size, whatever the writer sends.`
}

**d) What training leaves behind.** The real training code (dist/engine/train/training-worker.js) runs in a child
process of this benchmark, driven with its own requests, beside a probe that reads TensorFlow.js's tensor count
from the same engine (bench/tf-memory-probe.mjs). ${TF_CYCLES} times each, for a 16-64-64-4 network (${fmt(tensors.params)} weights):

${table(
  ['lifecycle', 'as the server does it', 'tensors left each time', 'bytes left each time'],
  tensors.rows.map((r) => [r.label, r.how, fmt(r.tensors), fmt(r.bytes)]),
)}

${
  tensors.leaks
    ? `**A leak:** the worker disposes each model's network but not its Adam optimizer, whose moment
variables (two per weight tensor) stay alive; a learning-rate change replaces the optimizer without disposing the
old one. Small per event, but it never comes back, so a long-lived server that creates and removes models, or
reinitialises them, grows without bound. **Fix:** dispose \`held.optimizer\` together with \`held.net\` in \`build\` and
\`dispose\`, and the old optimizer when \`train\` replaces it.`
    : 'Nothing is left behind: removed, rebuilt and re-tuned models free all their tensors.'
}

The same training process over ${CHURN_SETS} sets of ${CHURN_MODELS} models (default config) each built, trained one round and removed,
measured after a full garbage collection in the process (forked with --expose-gc for this):

${table(
  ['models so far', ...tensors.churn.map((c) => fmt(c.models))],
  [
    ['RSS (MiB)', ...tensors.churn.map((c) => mb(c.rss))],
    ['JavaScript heap used (MiB)', ...tensors.churn.map((c) => mb(c.heapUsed))],
    ['live tensors', ...tensors.churn.map((c) => fmt(c.tensors))],
  ],
)}

${
  churn.settles
    ? `Over the last ${churn.sets} sets the process grew ${mb(churn.growth)} MiB (JavaScript heap ${mb(churn.heap)} MiB, ${fmt(churn.heapPerModel)} bytes per model): it settles, models come and go without growing it.`
    : `Over the last ${churn.sets} sets the process still grew ${mb(churn.growth)} MiB (${fmt(churn.perModel / 1024)} KiB per model)${tensors.leaks ? '' : ' with no tensors left'}: memory outside tfjs's tensor count (the WebAssembly heap's fragmentation, or JavaScript objects) grows with model churn. Worth a longer run and a heap snapshot of the training process.`
}`;
  report('memory', {
    title: 'Memory: per model and under a flood',
    section,
    plots: [{ file: PLOT_FILE, svg: plot }],
    goals: [
      {
        metric: 'RSS per idle model (default config)',
        goal: '≤ 10 MiB',
        measured: `${mb(idleEach)} MiB (${mb(trainedEach)} MiB trained once)`,
        met: idleOk,
        fix: 'allocate the training buffer lazily (on the first sample) and check what else a session holds from creation: its event log and mode-policy windows.',
      },
      {
        metric: `RSS over a ${FLOOD_MS / 1000} s dataset flood stays bounded`,
        goal: `highest RSS of ${q4}–${secs} s ≤ highest of ${q3}–${q4} s + max(10 %, 16 MiB)`,
        measured: `${mb(early.max)} → ${mb(late.max)} MiB (RSS at ${r10.t} s ${mb(r10.rss)}, at ${r60.t} s ${mb(r60.rss)} MiB)`,
        met: bounded,
        fix: 'find what grows per batch (the per-open decoder, the event log, the samples_ingested events) with a heap snapshot of the server taken during the flood.',
      },
    ],
    findings: [
      ...(!churn.settles
        ? [
            `The training process keeps growing with model churn: +${mb(churn.growth)} MiB RSS over its last ${churn.sets * CHURN_MODELS} models made, trained once and removed (${fmt(churn.perModel / 1024)} KiB each)${tensors.leaks ? '' : ', with no tensors left behind'}. Not a tensor leak; check the WebAssembly heap and JavaScript objects with a longer run.`,
          ]
        : []),
      ...(tensors.leaks
        ? [
            `The training worker leaks TensorFlow.js tensors: ${tensors.rows.map((r) => `${fmt(r.tensors)} tensors (${fmt(r.bytes / 1024)} KiB) per ${r.short}`).join(', ')} for a 16-64-64-4 network, never freed (the Adam optimizer is not disposed). Fix: dispose the optimizer with the network, and the old one when a learning-rate change replaces it.`,
          ]
        : []),
      ...(!streamBounded
        ? [
            `A dataset batch that is never closed grows the server without bound: +${mb(streamGrowth)} MiB RSS for ${mb(stream.written)} MiB written on one open file (peak ${mb(stream.hwm)} MiB), although only the newest buffer_capacity samples can be kept. Back-to-back closed batches stay bounded. Fix: let the decoder validate every record but keep only the newest buffer_capacity rows, counting the rest as dropped.`,
          ]
        : []),
    ],
    data: {
      machine: machine(),
      perModel,
      idleEach,
      trainedEach,
      flood,
      stream: { ...stream, growth: streamGrowth, late: streamLate, bounded: streamBounded },
      tensors,
    },
  });
});

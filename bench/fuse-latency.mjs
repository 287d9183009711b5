// Benchmark 4, FUSE latency: recommendation transactions through a real mount, with the model idle and
// while it trains in the worker (started, full buffer, fed new samples so training never stops).
// Every condition runs in short blocks, rotated, so all of them see the same machine state:
//   idle / training as the server runs it / training with the server's trainer (its training process, or
//   thread in older builds) at the other
//   priority (an experiment: nice 19 if the server trains at nice 0, nice 0 if it already trains at 19),
//   each on the machine as it is and with one competing process keeping a CPU busy (other work).
// The held-open transactions' p99 over time, window by window, is drawn as a plot beside the tables.
//   node bench/fuse-latency.mjs [--quick] [--out FILE] [--svg-dir DIR]
//     --quick  two short rounds: the CI smoke run (test/bench/smoke.test.ts), seconds
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import {
  syntheticData,
  datasetText,
  summarize,
  ns,
  fmt,
  us,
  pct,
  table,
  report,
  run,
  progress,
  machine,
  startServer,
  createModel,
  openTransaction,
  poll,
  startHog,
  sleep,
  threadTicks,
  findTrainer,
  trainerNice,
} from './lib.mjs';
import { lineChart } from './svg.mjs';

const QUICK = process.argv.includes('--quick');
const INPUTS = 16;
const OUTPUTS = 4;
const ROUNDS = QUICK ? 2 : 5; // each condition gets one block per round
const HELD_PER_BLOCK = QUICK ? 600 : 6000;
const OPEN_PER_BLOCK = QUICK ? 80 : 800;
// The plot's unit: the p99 of each run of this many held-open transactions (its 5th slowest at 500).
const PLOT_WINDOW = QUICK ? 100 : 500;
const PLOT_FILE = 'performance-fuse-latency.svg';
const GOAL_RATIO = 2;

const CONDITIONS = [
  { key: 'idle', training: false, nice: false, hog: false },
  { key: 'training', training: true, nice: false, hog: false },
  { key: 'alt', training: true, nice: true, hog: false },
  { key: 'idleHog', training: false, nice: false, hog: true },
  { key: 'trainingHog', training: true, nice: false, hog: true },
  { key: 'altHog', training: true, nice: true, hog: true },
];

run(async () => {
  const server = await startServer();
  let hog;
  try {
    createModel(server, 'lat', `inputs=${INPUTS}\noutputs=${OUTPUTS}\nhidden=64,64\nbuffer_capacity=10000\n`);
    const full = syntheticData(10000, INPUTS, OUTPUTS, 21);
    server.write(datasetText(full.xs, full.ys, INPUTS, OUTPUTS), 'models', 'lat', 'dataset');
    const feed = syntheticData(32 * 64, INPUTS, OUTPUTS, 23);
    const feedBatches = Array.from({ length: 64 }, (_, i) =>
      datasetText(feed.xs.subarray(i * 32 * INPUTS, (i + 1) * 32 * INPUTS), feed.ys.subarray(i * 32 * OUTPUTS, (i + 1) * 32 * OUTPUTS), INPUTS, OUTPUTS),
    );
    const q = syntheticData(256, INPUTS, OUTPUTS, 25);
    const queries = Array.from({ length: 256 }, (_, r) => Array.from(q.xs.subarray(r * INPUTS, (r + 1) * INPUTS), (v) => v.toFixed(4)).join(' ') + '\n');
    const recPath = server.path('models', 'lat', 'recommendation');
    const txn = openTransaction(server, 'lat');
    const buf = Buffer.alloc(4096);
    let f = 0;
    const feedOnce = () => server.write(feedBatches[f++ % feedBatches.length], 'models', 'lat', 'dataset');

    /** One block of transactions; when `training`, feed 32 samples every 250 ms (not timed). */
    const block = (training) => {
      const held = new Float64Array(HELD_PER_BLOCK);
      const heldEnd = new Float64Array(HELD_PER_BLOCK); // ms from the block's start, for the plot
      const opened = new Float64Array(OPEN_PER_BLOCK);
      const start = performance.now();
      let nextFeed = start;
      const maybeFeed = () => {
        if (training && performance.now() >= nextFeed) {
          feedOnce();
          nextFeed += 250;
        }
      };
      for (let i = 0; i < HELD_PER_BLOCK; i++) {
        maybeFeed();
        const a = process.hrtime.bigint();
        const n = txn.ask(queries[i & 255]);
        const b = process.hrtime.bigint();
        if (n <= 0 || txn.answer(n).split(' ').length !== OUTPUTS) throw new Error(`bad answer: ${txn.answer(n)}`);
        held[i] = ns(a, b);
        heldEnd[i] = performance.now() - start;
      }
      for (let i = 0; i < OPEN_PER_BLOCK; i++) {
        maybeFeed();
        const a = process.hrtime.bigint();
        const fd = openSync(recPath, 'r+');
        writeSync(fd, queries[i & 255]);
        const n = readSync(fd, buf, 0, buf.length, 0);
        closeSync(fd);
        const b = process.hrtime.bigint();
        if (n <= 0) throw new Error('empty answer');
        opened[i] = ns(a, b);
      }
      return { held, heldEnd, opened };
    };

    const fresh = () => ({ held: [], opened: [], steps: 0, seconds: 0, blockP99: [], timeline: [], heldSeconds: 0 });
    const acc = Object.fromEntries(CONDITIONS.map((c) => [c.key, fresh()]));
    /** A block's held-open transactions into its condition's record, and their p99 window by window onto its timeline. */
    const keep = (a, r) => {
      a.blockP99.push(summarize(r.held).p99);
      a.held.push(...r.held);
      a.opened.push(...r.opened);
      for (let i = 0; i + PLOT_WINDOW <= r.held.length; i += PLOT_WINDOW)
        a.timeline.push([a.heldSeconds + r.heldEnd[i + PLOT_WINDOW - 1] / 1000, summarize(r.held.subarray(i, i + PLOT_WINDOW)).p99 / 1000]);
      a.heldSeconds += r.heldEnd[r.held.length - 1] / 1000;
    };
    let trainingSeen = 0;
    let trainingChecks = 0;
    let trainer; // where the server trains: { pid, tid, kind }
    let ownNice; // the nice value the server gives it
    let altNice; // the other one, for the experiment

    const runCondition = async (c) => {
      const a = acc[c.key];
      if (c.hog) {
        hog = startHog();
        await sleep(100);
      }
      try {
        if (!c.training) {
          keep(a, block(false));
          return;
        }
        const rounds = server.stats('lat').train_rounds;
        feedOnce();
        server.write('start\n', 'models', 'lat', 'control');
        await poll(() => server.stats('lat').train_rounds >= rounds + 2, 30000, 'training to run');
        if (c.nice) setPriority(trainer.tid, altNice);
        const ticks0 = trainer ? undefined : threadTicks(server.pid);
        const s0 = server.stats('lat');
        const t0 = performance.now();
        const r = block(true);
        const s1 = server.stats('lat');
        a.seconds += (performance.now() - t0) / 1000;
        if (c.nice) setPriority(trainer.tid, ownNice);
        if (!trainer) {
          trainer = findTrainer(server.pid, ticks0);
          ownNice = trainerNice(trainer);
          altNice = ownNice >= 10 ? 0 : 19;
        }
        a.steps += s1.train_steps - s0.train_steps;
        trainingChecks += 2;
        trainingSeen += s0.training + s1.training;
        keep(a, r);
        server.write('stop\n', 'models', 'lat', 'control');
        await poll(() => server.stats('lat').training === 0, 30000, 'training to pause');
      } finally {
        hog?.stop();
        hog = undefined;
      }
    };

    progress('warm-up');
    block(false);
    await runCondition(CONDITIONS[1]); // also finds the trainer for the nice experiment
    for (const k of Object.keys(acc)) Object.assign(acc[k], fresh());
    trainingSeen = trainingChecks = 0;
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order so no condition always follows the same one.
      for (let i = 0; i < CONDITIONS.length; i++) await runCondition(CONDITIONS[(i + r) % CONDITIONS.length]);
      progress(`round ${r + 1}/${ROUNDS}`);
    }
    txn.close();

    // --- Report -------------------------------------------------------------------------------------
    const S = Object.fromEntries(
      Object.entries(acc).map(([k, a]) => [
        k,
        { held: summarize(a.held), opened: summarize(a.opened), rate: a.seconds ? (a.steps * 32) / a.seconds : NaN, n: a.held.length, m: a.opened.length },
      ]),
    );
    const row = (label, k, base, form) => {
      const x = S[k][form];
      const b = S[base][form];
      return [
        label,
        fmt(form === 'held' ? S[k].n : S[k].m),
        us(x.p50),
        us(x.p99),
        us(x.p999),
        `${fmt(x.p50 / b.p50)}×`,
        `${fmt(x.p99 / b.p99)}×`,
        Number.isNaN(S[k].rate) ? '—' : fmt(S[k].rate),
      ];
    };
    const header = ['condition', 'transactions', 'p50 (µs)', 'p99 (µs)', 'p99.9 (µs)', 'p50 ÷ idle', 'p99 ÷ idle', 'training samples/s'];
    const who = trainer.kind === 'process' ? 'training process' : 'training thread';
    const rowsFor = (form) => [
      row('idle', 'idle', 'idle', form),
      row(`training (${who} at nice ${ownNice}, as the server runs it)`, 'training', 'idle', form),
      row(`training, ${who} at nice ${altNice} (experiment)`, 'alt', 'idle', form),
      row('one competing busy process: idle', 'idleHog', 'idleHog', form),
      row(`one competing busy process: training (nice ${ownNice})`, 'trainingHog', 'idleHog', form),
      row(`one competing busy process: training, nice ${altNice} (experiment)`, 'altHog', 'idleHog', form),
    ];
    const ratio = (k, base, p) => S[k].held[p] / S[base].held[p];
    const r50 = ratio('training', 'idle', 'p50');
    const r99 = ratio('training', 'idle', 'p99');
    // Under competition, nice 0 against nice 19, whichever of the two the server runs by default.
    const fixed = ownNice >= 10; // the server already trains at a low priority
    const [hi, lo] = fixed ? ['altHog', 'trainingHog'] : ['trainingHog', 'altHog'];
    const h99 = ratio(hi, 'idleHog', 'p99');
    const n99 = ratio(lo, 'idleHog', 'p99');
    const met = r50 <= GOAL_RATIO && r99 <= GOAL_RATIO;
    // The p99 ratio round by round (each training block against the idle block of its round): how stable it is.
    const perRound = (k, base) => acc[k].blockP99.map((v, i) => v / acc[base].blockP99[i]);
    const range = (xs) => `${fmt(Math.min(...xs))}×–${fmt(Math.max(...xs))}×`;
    const roundsTraining = perRound('training', 'idle');
    const roundsAlt = perRound('alt', 'idle');
    const niceHelps = S[lo].held.p99 < S[hi].held.p99;
    const slowest = acc.training.timeline.reduce((w, p) => (p[1] > w[1] ? p : w), [0, 0]);
    const worstWindow = { p99: slowest[1], ratio: (slowest[1] * 1000) / S.idle.held.p99 };
    const plot = lineChart({
      title: `Recommendation p99 over time, held-open fd (p99 of each ${fmt(PLOT_WINDOW)} transactions)`,
      xLabel: "seconds into the condition's blocks",
      yLabel: 'µs',
      yLog: true,
      series: [
        { name: 'idle', points: acc.idle.timeline },
        { name: `training (nice ${ownNice})`, points: acc.training.timeline },
        { name: 'competing process: idle', points: acc.idleHog.timeline },
        { name: `competing process: training (nice ${ownNice})`, points: acc.trainingHog.timeline },
      ],
    });
    const section = `
A model 16-64-64-4 on a real mount, one query line (16 numbers) per transaction, answered by the fast path;
wall time per transaction as seen by the calling process. "idle": the model is initialised or stopped, nothing
trains. "training": started with a full 10000-sample buffer and fed 32 new samples every 250 ms (the feeding
write is not timed), so the worker trains throughout (${trainingSeen}/${trainingChecks} stats reads saw \`training 1\`).
"one competing busy process": a process spinning on one CPU for the whole block, standing in for other work
on the machine. The server trains in ${trainer.kind === 'process' ? `a child process (pid ${trainer.pid})` : `a worker thread (found by its CPU time, thread ${trainer.tid})`}, which runs at nice ${ownNice}${fixed ? ' (it renices itself)' : ''};
the experiment rows renice it to ${altNice} from outside for the block${fixed ? ', to show what the low priority buys' : ' — what `os.setPriority(19)` called inside the training worker would do'}. ${ROUNDS} rounds; in each, every condition runs one block of ${fmt(HELD_PER_BLOCK)} held-open
transactions and ${fmt(OPEN_PER_BLOCK)} open-to-close ones, in rotated order. Ratios are against the idle block of the same
machine state.

**Held-open file** (write a line, pread at 0; how the kernel module asks):

${table(header, rowsFor('held'))}

The held-open transactions over time (p99 of each ${fmt(PLOT_WINDOW)} in a row; each condition's ${ROUNDS} blocks back to back, the
time the blocks took, feeding included):

![recommendation p99 over time, idle and training, quiet and with a competing process](${PLOT_FILE})

${
  worstWindow.ratio >= 3
    ? `The slowest window of training at nice ${ownNice} (${us(worstWindow.p99 * 1000)} µs, ${fmt(worstWindow.ratio)}× the idle blocks' p99) stands out of its line: part of the tail comes in bursts.`
    : `No window of training at nice ${ownNice} reached 3× the idle blocks' p99 (the slowest: ${us(worstWindow.p99 * 1000)} µs, ${fmt(worstWindow.ratio)}×): no burst of slow answers stands out.`
}

**Open, write, pread, close** (how a shell asks):

${table(header, rowsFor('opened'))}

Goal: during training ≤ ${GOAL_RATIO}× idle, held-open file, p50 and p99 — ${met ? '**met**' : '**missed**'} (p50 ${fmt(r50)}×, p99 ${fmt(r99)}×).
Round by round the p99 ratio ranged ${range(roundsTraining)} at nice ${ownNice} and ${range(roundsAlt)} at nice ${altNice}.
With one competing busy process, training makes p99 ${fmt(h99)}× idle with the ${who} at nice 0 and ${fmt(n99)}× at nice 19,
training then running at ${pct(S[lo].rate / S[hi].rate)} of its nice-0 speed.
${
  S.idle.held.p50 > S.training.held.p50
    ? `\nIdle is slower than training at p50 (${us(S.idle.held.p50)} vs ${us(S.training.held.p50)} µs): with nothing else running the CPUs go idle between
requests and each request pays for waking them (a virtual machine's vCPUs especially; the request crosses the
client, the kernel, fuse-native's thread and the JavaScript thread). A busy machine answers faster.`
    : ''
}`;
    const fixFor = () =>
      fixed
        ? `the ${who} already runs at nice ${ownNice} (the nice-${altNice} experiment: p99 ${fmt(ratio('alt', 'idle', 'p99'))}× idle; round by round ${range(roundsTraining)} at nice ${ownNice}), so what remains is the FUSE request's own path: with training on one of the ${machine().nproc} CPUs, the client, the kernel, fuse-native's thread and the JavaScript thread share the other, and a nice-19 task that holds a CPU is not always preempted at once. Worth trying: SCHED_IDLE for the training process (\`chrt --idle 0\`), which yields to any other task; and profiling the server's event loop during rounds (GC after each round's weights arrive, batch assembly) with --cpu-prof.`
        : niceHelps
          ? `the tail is the FUSE thread waiting for a CPU while the training thread holds one and other work the other. Run the trainer at a low priority: \`os.setPriority(19)\` inside it lets requests preempt training. The experiment does this from outside: quiet, p99 ${fmt(ratio('alt', 'idle', 'p99'))}× idle; with one competing busy process, ${fmt(h99)}× → ${fmt(n99)}×, training keeping ${pct(S[lo].rate / S[hi].rate)} of its speed while the other work runs.`
          : `renicing the ${who} did not help in this run (p99 ${fmt(h99)}× → ${fmt(n99)}× with a competing process), so the tail is not training holding the CPU; look at the server's event loop during rounds (GC after each round's weights arrive, batch assembly) with --cpu-prof.`;
    report('fuse-latency', {
      title: 'FUSE latency: recommendation transactions, idle vs training',
      section,
      plots: [{ file: PLOT_FILE, svg: plot }],
      goals: [
        {
          metric: 'recommendation p50 during training ÷ idle (held fd)',
          goal: `≤ ${GOAL_RATIO}×`,
          measured: `${fmt(r50)}× (${us(S.idle.held.p50)} → ${us(S.training.held.p50)} µs)`,
          met: r50 <= GOAL_RATIO,
          fix: fixFor(),
        },
        {
          metric: 'recommendation p99 during training ÷ idle (held fd)',
          goal: `≤ ${GOAL_RATIO}×`,
          measured: `${fmt(r99)}× (${us(S.idle.held.p99)} → ${us(S.training.held.p99)} µs)`,
          met: r99 <= GOAL_RATIO,
          fix: fixFor(),
        },
      ],
      findings: [
        `With one competing busy process on the ${machine().nproc} CPUs, training at nice 0 raises the recommendation p99 to ${fmt(h99)}× idle (${us(S.idleHog.held.p99)} → ${us(S[hi].held.p99)} µs); ${
          niceHelps
            ? `with the ${who} at nice 19 it is ${fmt(n99)}× (${us(S[lo].held.p99)} µs), at the price of training throughput while the other work runs (${fmt(S[lo].rate)} vs ${fmt(S[hi].rate)} samples/s: training gets what the other work leaves, and here that work includes this benchmark's client sending transactions back to back). For a server whose first duty is answering the kernel that is the right trade${fixed ? ', and the worker makes it: it renices itself to 19.' : '; the worker should renice itself.'}`
            : `at nice 19 it is ${fmt(n99)}×: the ${who}'s priority does not decide it in this run.`
        }`,
      ],
      data: {
        machine: machine(),
        stats: S,
        trainer,
        ownNice,
        altNice,
        roundsTraining,
        roundsAlt,
        plotWindow: PLOT_WINDOW,
        timelines: Object.fromEntries(Object.entries(acc).map(([k, a]) => [k, a.timeline])),
      },
    });
  } finally {
    hog?.stop();
    await server.stop();
  }
});

// Shared by the benchmarks: timing statistics, the machine description, a real mlproxy server on a
// temporary FUSE mount (always unmounted, whatever way the benchmark ends), and result output.
import { spawn, execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { readAll } from './read-all.mjs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Statistics

/** Percentiles of a list of durations (any unit; nearest-rank on a sorted copy). */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const at = (q) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return { n, min: sorted[0], p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[n - 1], mean: sum / n };
}

/**
 * The builds an A/B names on its command line, as NAME=ROOT (an mlproxy checkout or copy with dist/ built); the
 * root is everything after the first '=', so a path may hold one.
 */
export function parseBuilds(args) {
  const builds = args.map((arg) => {
    const at = arg.indexOf('=');
    if (at < 1 || at === arg.length - 1) throw new Error(`expected NAME=ROOT, got ${arg}`);
    return { name: arg.slice(0, at), root: arg.slice(at + 1) };
  });
  if (builds.length === 0) throw new Error('name at least one build: NAME=ROOT');
  // A checkout without build/ (a fresh git worktree) decodes text with the WebAssembly scan, about 1.4x slower than
  // the native one: an A/B of two such builds measures that, not the change.
  const scans = builds.map((b) => (existsSync(join(b.root, TEXT_SCAN_ADDON)) ? 'native' : 'webassembly'));
  if (new Set(scans).size > 1) {
    const list = builds.map((b, i) => `${b.name}: ${scans[i]}`).join(', ');
    console.error(`warning: the builds decode text with different scans (${list}); run native/build-text-scan.mjs in each`);
  }
  return builds;
}

/** Where native/build-text-scan.mjs leaves the native text scan in a checkout (src/engine/data/native-scanner.ts). */
const TEXT_SCAN_ADDON = 'build/text-scan/build/Release/text_scan.node';

export function median(values) {
  return summarize(values).p50;
}

/** Nanoseconds from process.hrtime.bigint() differences, as a Number. */
export const ns = (a, b) => Number(b - a);

/** Format a number with a sensible number of digits for a table. */
export function fmt(value, digits = 3) {
  if (value === undefined || value === null || Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}

export const us = (nsValue) => fmt(nsValue / 1000);
export const ratio = (a, b) => (b === 0 ? NaN : a / b);
export const pct = (x) => `${fmt(100 * x)} %`;
export const mb = (bytes) => fmt(bytes / (1024 * 1024));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Block the calling thread without an event-loop turn (for loops that must stay synchronous). */
export function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// ---------------------------------------------------------------------------------------------
// The machine

export function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  let nproc = String(cpus().length);
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {}
  return {
    nproc: Number(nproc),
    cpu: model,
    ramGiB: Number((memKb / 1024 / 1024).toFixed(1)),
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    date: new Date().toISOString(),
  };
}

/** How busy the machine is besides us: the 1-minute load average and CPU pressure (PSI), if available. */
export function load() {
  const loadavg = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  let pressure = NaN;
  try {
    pressure = Number(/some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]);
  } catch {}
  return { loadavg, cpuPressure10s: pressure };
}
const loadAtStart = load();
const startedAt = Date.now();

// ---------------------------------------------------------------------------------------------
// TensorFlow.js, loaded quietly (it advises Node users to install tfjs-node, which is not used here)

export async function loadTf() {
  const { log, warn } = console;
  console.log = () => {};
  console.warn = () => {};
  try {
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('cpu');
    tf.tensor([0]).dispose(); // the cpu backend's greeting comes with its first tensor
    return { tf, wasm };
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

export async function useBackend(tf, name) {
  const { log, warn } = console;
  console.log = () => {};
  console.warn = () => {};
  try {
    if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} is not available`);
    await tf.ready();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/** The network the training worker builds, in the benchmark's own process. */
export function tfModel(tf, inputs, hidden, outputs, learningRate = 0.01) {
  const net = tf.sequential();
  const sizes = [...hidden, outputs];
  sizes.forEach((units, i) => {
    net.add(tf.layers.dense({ units, activation: i === sizes.length - 1 ? 'linear' : 'relu', ...(i === 0 ? { inputShape: [inputs] } : {}) }));
  });
  net.compile({ optimizer: tf.train.adam(learningRate), loss: 'meanSquaredError' });
  return net;
}

export function setWeights(tf, net, weights) {
  const shapes = net.getWeights().map((w) => w.shape);
  const tensors = weights.map((w, i) => tf.tensor(w, shapes[i]));
  net.setWeights(tensors);
  tensors.forEach((t) => t.dispose());
}

/** A deterministic pseudo-random generator, so runs train on the same data. */
export function rng(seed = 1) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Rows of a smooth target function of the inputs: something a 16-64-64-4 network can learn. */
export function syntheticData(rows, inputs = 16, outputs = 4, seed = 7) {
  const rand = rng(seed);
  const xs = new Float32Array(rows * inputs);
  const ys = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inputs; i++) xs[r * inputs + i] = rand() * 2 - 1;
    for (let j = 0; j < outputs; j++) {
      let v = 0;
      for (let i = 0; i < inputs; i++) v += Math.sin((i + 1) * (j + 1) * 0.37) * xs[r * inputs + i];
      ys[r * outputs + j] = Math.tanh(v) + 0.1 * xs[r * inputs + ((j * 5) % inputs)] ** 2;
    }
  }
  return { xs, ys };
}

/**
 * The FUSE benches' recommendation queries: 256 lines of `inputs` fixed-point integers (inputs of syntheticData's
 * seed 33 times `scale`), which a transaction client cycles through.
 */
export function queryText(inputs, outputs, scale) {
  const q = syntheticData(256, inputs, outputs, 33);
  const line = (r) => Array.from(q.xs.subarray(r * inputs, (r + 1) * inputs), (v) => String(Math.round(v * scale))).join(' ');
  return Array.from({ length: 256 }, (_, r) => line(r)).join('\n') + '\n';
}

/** The same samples as dataset text: one line of inputs then outputs per sample. */
export function datasetText(xs, ys, inputs, outputs) {
  const rows = xs.length / inputs;
  const lines = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = [];
    for (let i = 0; i < inputs; i++) a.push(xs[r * inputs + i].toFixed(5));
    for (let j = 0; j < outputs; j++) a.push(ys[r * outputs + j].toFixed(5));
    lines[r] = a.join(' ');
  }
  return lines.join('\n') + '\n';
}

/** The samples as the FUSE ceilings benchmarks write them: in fixed point (times `scale`), as integers. */
export function fixedPointText(xs, ys, inputs, outputs, scale) {
  const fixed = (a) => a.map((v) => Math.round(v * scale));
  return datasetText(fixed(xs), fixed(ys), inputs, outputs).replace(/\.00000/g, '');
}

/** The same samples in the binary dataset form, values in fixed point divided by `scale` on the server. */
export function datasetBinary(xs, ys, inputs, outputs, scale) {
  const rows = xs.length / inputs;
  const width = inputs + outputs;
  const buf = Buffer.alloc(16 + rows * width * 4);
  buf.writeUInt32LE(0x53444c4d, 0);
  buf.writeUInt16LE(1, 4);
  buf.writeUInt16LE(16, 6);
  buf.writeUInt16LE(inputs, 8);
  buf.writeUInt16LE(outputs, 10);
  buf.writeUInt32LE(0, 12);
  let at = 16;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inputs; i++, at += 4) buf.writeInt32LE(Math.round(xs[r * inputs + i] * scale), at);
    for (let j = 0; j < outputs; j++, at += 4) buf.writeInt32LE(Math.round(ys[r * outputs + j] * scale), at);
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Threads of a process (Linux /proc): CPU time and nice value per thread id

/** The fields of a stat file (stat(5)) after the command name: [0] is the state, field 3. */
function statFields(path) {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const taskStat = (pid, tid) => statFields(`/proc/${pid}/task/${tid}/stat`);
/** utime + stime of stat fields. */
const ticksOf = (f) => Number(f[11]) + Number(f[12]);

/** CPU ticks (utime + stime) used so far by each thread of a process. */
export function threadTicks(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), ticksOf(taskStat(pid, tid)));
    } catch {}
  }
  return out;
}

/**
 * CPU ticks used so far by a whole process (/proc/PID/stat, which keeps the time of threads that have exited, as
 * libfuse's idle workers do) and by its main thread alone.
 */
export function processTicks(pid) {
  return { all: ticksOf(statFields(`/proc/${pid}/stat`)), main: ticksOf(taskStat(pid, pid)) };
}

/** The thread (not the main one) that used the most CPU since `before` (a threadTicks result). */
export function busiestThread(pid, before) {
  let best = 0;
  let tid;
  for (const [t, ticks] of threadTicks(pid)) {
    const d = ticks - (before.get(t) ?? 0);
    if (t !== pid && d > best) [best, tid] = [d, t];
  }
  return tid;
}

export function threadNice(pid, tid) {
  return Number(taskStat(pid, tid)[16]);
}

/** Child processes of `pid` (scanning /proc), with their command lines. */
export function childProcesses(pid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {}
  }
  return out;
}

/**
 * Where a server (or a benchmark's own TrainingWorker) trains: mlproxy's training runs in a child process
 * running training-worker.js; older builds ran it in a worker thread, found as the busiest thread.
 * Returns { pid, tid, kind } — renice `tid` (a process's main thread when kind is 'process').
 */
export function findTrainer(pid, ticksBefore) {
  const child = childProcesses(pid).find((c) => c.cmdline.includes('training-worker'));
  if (child) return { pid: child.pid, tid: child.pid, kind: 'process' };
  const tid = busiestThread(pid, ticksBefore);
  return { pid, tid, kind: 'thread' };
}

export function trainerNice(t) {
  return threadNice(t.pid, t.tid);
}

// ---------------------------------------------------------------------------------------------
// Competing load: a process that keeps one CPU busy, standing in for the other work on a real machine.
// It ends by itself when this process is gone (its parent changes) or after `seconds`, so a benchmark
// killed outright cannot leave it behind.

const hogs = new Set();
const HOG = `
const { readFileSync } = require('node:fs');
const ppid = () => readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[1];
const parent = ppid();
const end = Date.now() + Number(process.argv[1]) * 1000;
let x = 0;
for (;;) {
  const until = Date.now() + 50;
  while (Date.now() < until) x = (x * 1103515245 + 12345) | 0;
  if (ppid() !== parent || Date.now() > end) process.exit(0);
}`;

export function startHog(seconds = 120) {
  const proc = spawn(process.execPath, ['-e', HOG, String(seconds)], { stdio: 'ignore' });
  hogs.add(proc);
  return {
    pid: proc.pid,
    stop() {
      try {
        proc.kill('SIGKILL');
      } catch {}
      hogs.delete(proc);
    },
  };
}

/** Run `fn` with one competing CPU hog running. */
export async function withHog(fn) {
  const hog = startHog();
  try {
    await sleep(100);
    return await fn();
  } finally {
    hog.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// A real server on a real mount

const live = new Set();
/** C clients running (runFuseClient): stopped first, so that no request is left waiting on a server being killed. */
const clients = new Set();
/** Work directories (workDir), removed last, once nothing runs from them. */
const workDirs = new Set();
function cleanupAll() {
  for (const c of clients) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  for (const h of hogs) {
    try {
      h.kill('SIGKILL');
    } catch {}
  }
  for (const s of live) s.kill();
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  workDirs.clear();
}

/** A fresh temporary directory for a benchmark's data and binaries, removed however the benchmark ends. */
export function workDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  workDirs.add(dir);
  return dir;
}
process.on('exit', cleanupAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanupAll();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig] ?? 0));
  });
}

function mountedAt(dir) {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === dir);
}

export function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
}

/** RSS of a process and its children (mlproxy trains in a child process): each, and the sum. */
export function rssTree(pid) {
  const own = rssOf(pid);
  let children = 0;
  let childrenHwm = 0;
  for (const c of childProcesses(pid)) {
    try {
      const r = rssOf(c.pid);
      children += r.rss;
      childrenHwm += r.hwm;
    } catch {}
  }
  return { rss: own.rss + children, hwm: own.hwm + childrenHwm, server: own.rss, serverHwm: own.hwm, children, childrenHwm };
}

/**
 * Start a FUSE server process on a fresh temporary mountpoint and resolve once `readyFile` shows in the mount.
 * `command(mnt, dir)` is its argv, `logFile(dir)` where it logs (shown if it fails to start); `cpus` pins it (and whatever it starts) with taskset, e.g. '0'.
 * However the benchmark ends, the process is stopped and the mount removed.
 */
export async function startMountProcess({ name, command, readyFile, env = {}, cpus, logFile }) {
  const dir = mkdtempSync(join(tmpdir(), `${name}-bench-`));
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const argv = command(mnt, dir);
  const pinned = cpus === undefined ? argv : ['taskset', '-c', String(cpus), ...argv];
  const proc = spawn(pinned[0], pinned.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  let exited = false;
  const exitP = new Promise((resolve) => proc.on('exit', (code) => ((exited = true), resolve(code))));
  const server = {
    name,
    dir,
    mnt,
    pid: proc.pid,
    proc,
    /** Synchronous last-resort cleanup (process exit). */
    kill() {
      if (!exited) {
        try {
          proc.kill('SIGKILL');
        } catch {}
      }
      try {
        if (mountedAt(mnt)) execFileSync('fusermount', ['-uz', mnt], { stdio: 'ignore' });
      } catch {}
      rmSync(dir, { recursive: true, force: true });
      live.delete(server);
    },
    async stop() {
      if (!exited) proc.kill('SIGTERM');
      const code = await Promise.race([exitP, sleep(10000).then(() => 'timeout')]);
      if (code === 'timeout') proc.kill('SIGKILL');
      server.kill();
    },
    /** RSS of the server and its children together (and each: server, children). */
    rss: () => rssTree(proc.pid),
    path: (...parts) => join(mnt, ...parts),
  };
  live.add(server);
  // bench/run-all.sh cleans up after a benchmark that was killed outright: it needs the pid and mountpoint.
  if (process.env.MLPROXY_BENCH_PIDS) appendFileSync(process.env.MLPROXY_BENCH_PIDS, `${proc.pid} ${mnt}\n`);
  const deadline = Date.now() + 30000;
  while (!(mountedAt(mnt) && existsSync(join(mnt, readyFile)))) {
    if (exited || Date.now() > deadline) {
      const log = logFile && existsSync(logFile(dir)) ? readFileSync(logFile(dir), 'utf8') : '';
      server.kill();
      throw new Error(`${name} did not come up:\n${stderr}\n${log}`);
    }
    await sleep(50);
  }
  return server;
}

/**
 * Start `mlproxy serve` on a fresh temporary mountpoint; resolves once the mount answers.
 * `args(dir)`: more serve flags (e.g. a --state-dir inside the server's own temporary dir);
 * `cpus`: pin the server (and its training process) to these CPUs with taskset, e.g. '0';
 * `root`: another build's checkout to run (an A/B); `nodeArgs`: node flags (e.g. --cpu-prof); `name`: for its temp dir;
 * `metricsListen`: off unless a benchmark measures the server as it runs by default, /metrics on ('127.0.0.1:0').
 */
export async function startServer({ env = {}, args = () => [], cpus, root = ROOT, nodeArgs = [], name = 'mlproxy', metricsListen = 'off' } = {}) {
  const logFile = (dir) => join(dir, 'server.log');
  const server = await startMountProcess({
    name,
    env,
    cpus,
    readyFile: 'version',
    logFile,
    command: (mnt, dir) => [
      process.execPath,
      ...nodeArgs,
      join(root, 'bin/mlproxy.js'),
      'serve',
      '--mountpoint',
      mnt,
      '--metrics-listen',
      metricsListen,
      '--log-file',
      logFile(dir),
      '--log-level',
      'warn',
      ...args(dir),
    ],
  });
  const { mnt } = server;
  return Object.assign(server, {
    read: (...parts) => readAll(join(mnt, ...parts)),
    write: (data, ...parts) => writeFileSync(join(mnt, ...parts), data),
    stats(model) {
      const out = {};
      for (const line of readAll(join(mnt, 'models', model, 'stats'))
        .trim()
        .split('\n')) {
        const [k, v] = line.split(' ');
        out[k] = Number.isNaN(Number(v)) ? v : Number(v);
      }
      return out;
    },
  });
}

/** Read a whole file, following the protocol: read until a read returns 0 bytes. */
export { readAll };

/** bench/baselines/fuse-client.c built into `dir`: the C client the FUSE benchmarks drive every server with. */
export function buildFuseClient(dir) {
  const out = join(dir, 'fuse-client');
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-pthread', '-o', out, join(ROOT, 'bench/baselines/fuse-client.c')]);
  return out;
}

/**
 * Run the C client (buildFuseClient) pinned to `cpu` with `args`; resolves to its JSON report. Asynchronous so that
 * a signal stops the benchmark at once (its handler runs on the event loop, which a loop of synchronous runs never
 * reaches); the cleanup kills a client still running.
 */
export function runFuseClient(clientBin, cpu, args) {
  return new Promise((resolve, reject) => {
    const child = execFile('taskset', ['-c', String(cpu), clientBin, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout) => {
      clients.delete(child);
      if (err) reject(err);
      else resolve(JSON.parse(stdout));
    });
    clients.add(child);
  });
}

/**
 * The model the FUSE benchmarks against the floor serve (ceilings, mlds-ab, idle-after-floods, text-scan-builds):
 * 16 inputs and 4 outputs in fixed point, scale 1000, and the config that creates it.
 */
export const CEILINGS_MODEL = Object.freeze({
  inputs: 16,
  outputs: 4,
  scale: 1000,
  config: 'inputs=16\noutputs=4\nhidden=64,64\nscale=1000\nbuffer_capacity=100000\n',
});

/**
 * The FUSE benchmarks' flood: `writers` threads sending text batches of `rows` samples in 64 KiB writes to a sink
 * while `readers` threads run transactions on a held fd.
 */
export const FLOOD = Object.freeze({ writers: 16, readers: 16, rows: 4000, chunk: 65536 });

/** The C client's arguments for a flood of `seconds` on one server's transaction file and sink. */
export function floodArgs({ seconds, txn, queries, sink, data }) {
  return ['flood', String(seconds), txn, queries, String(FLOOD.readers), sink, data, String(FLOOD.writers), String(FLOOD.chunk)];
}

/** The bare fuse-native baseline (bench/baselines/bare-fuse-native.mjs), mounted and serving its sink; `nodeArgs` e.g. --cpu-prof. */
export function startBareFuseNative({ name = 'bare-fuse-native', cpus, nodeArgs = [], env = {} } = {}) {
  return startMountProcess({
    name,
    cpus,
    env,
    readyFile: 'sink',
    command: (mnt) => [process.execPath, ...nodeArgs, join(ROOT, 'bench/baselines/bare-fuse-native.mjs'), mnt],
  });
}

/** Create a model through the mount: mkdir, config, commit, optionally init and start. */
export function createModel(server, name, config, { init = true, start = false } = {}) {
  execFileSync('mkdir', [server.path('models', name)]);
  if (config) server.write(config, 'models', name, 'config');
  server.write('commit\n', 'models', name, 'control');
  if (init) server.write('init\n', 'models', name, 'control');
  if (start) server.write('start\n', 'models', name, 'control');
}

/** A held-open recommendation transaction file: write one line of inputs, pread the answer at 0. */
export function openTransaction(server, model) {
  const fd = openSync(server.path('models', model, 'recommendation'), 'r+');
  const buf = Buffer.alloc(4096);
  return {
    fd,
    ask(line) {
      writeSync(fd, line);
      const n = readSync(fd, buf, 0, buf.length, 0);
      return n;
    },
    answer: (n) => buf.toString('utf8', 0, n),
    close: () => closeSync(fd),
  };
}

export async function poll(check, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Output: each benchmark hands back a markdown section and its goals. With `--out FILE` they are
// written as JSON for bench/report.mjs; without it the section is printed.

// A reader that stops early (`| head`) must not end a benchmark before its cleanup (mounts, servers, its temporary
// directory): what would have gone to the closed pipe is dropped, and the benchmark runs on to its end.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

export function progress(msg) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** The value after `flag` on the command line, or undefined. */
function argValue(flag) {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Write a result's plots into `dir`, each under its own file name; returns the paths written. */
export function writePlots(result, dir) {
  return (result.plots ?? []).map((p) => {
    const path = join(dir, p.file);
    writeFileSync(path, p.svg);
    return path;
  });
}

/**
 * Hands a benchmark's result on: `--out FILE` writes it as JSON for bench/report.mjs (plots included, drawn, so the
 * report writes them next to the doc's tables); `--svg-dir DIR` writes its plots there; the section is printed.
 * @param {string} name  the benchmark's file name without .mjs
 * @param {{title: string, section: string, goals: {metric: string, goal: string, measured: string, met: boolean, note?: string}[],
 *   plots?: {file: string, svg: string}[], data: object}} result  a plot's `file` is a bare name the section links to
 */
export function report(name, result) {
  const out = argValue('--out');
  const payload = { name, ...result, load: { start: loadAtStart, end: load() }, seconds: (Date.now() - startedAt) / 1000 };
  if (out) writeFileSync(out, JSON.stringify(payload, null, 2));
  const svgDir = argValue('--svg-dir');
  if (svgDir) for (const path of writePlots(result, svgDir)) progress(`wrote ${path}`);
  process.stdout.write(`\n## ${result.title}\n\n${result.section.trim()}\n\n`);
  process.stdout.write(`load average ${payload.load.start.loadavg} → ${payload.load.end.loadavg}, ${fmt(payload.seconds)} s\n`);
  for (const g of result.goals) process.stdout.write(`goal ${g.met ? 'MET ' : 'MISSED'}  ${g.metric}: ${g.measured} (goal ${g.goal})\n`);
}

/** A markdown table from a header row and rows of cells. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Run an async main, reporting failure with a non-zero exit after cleanup. */
export function run(main) {
  main().then(
    () => {
      cleanupAll();
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`${err?.stack ?? err}\n`);
      cleanupAll();
      process.exit(1);
    },
  );
}

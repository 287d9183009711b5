#!/usr/bin/env node
// Live fuzzing against a real mount: random and mutated operations on every writable file of several
// models of a server run with --state-dir, checked against a small model of the state the accepted
// operations predict. Usage (after npm run build):
//   node bench/fuzz-live.mjs [--seed N] [--ops N] [--restarts N] [--chaos N] [--json FILE]
// The driver runs its operations one at a time (so the expected state is exact) while holding several
// files of the same model open at once and interleaving their writes; --chaos N child processes hammer a
// model of their own and race mkdir/rmdir, whose outcomes must all be documented errnos. Afterwards, and
// after each clean restart from the state dir, every model's state, committed and staged config, mode,
// buffered samples and counters must equal the prediction. Exit status 0 when everything held.
import { spawn, execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readAll } from './read-all.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/mlproxy.js');
const dist = (p) => import(join(ROOT, 'dist', p));
const { DatasetDecoder, parseQueries, parseFeedback, formatRows } = await dist('engine/data/codec.js');
const { flatten } = await dist('engine/data/row-blocks.js');
const { parseConfigText, validateConfig, formatConfig, DEFAULT_CONFIG } = await dist('engine/session/config.js');
const { VERBS, BINARY_DATASET, isKeyword, keywordFromWrite } = await dist('protocol.js');
const { MODES, CORRECTION_REPEAT } = await dist('modes/index.js');

/** Errnos an operation may legitimately end with; anything else (EIO, ENOTCONN, ETIMEDOUT) is a failure. */
const DOCUMENTED = new Set([
  'EINVAL',
  'ENOENT',
  'EEXIST',
  'ENOSPC',
  'EACCES',
  'EPERM',
  'ENODATA',
  'EFBIG',
  'EBUSY',
  'EISDIR',
  'EMFILE',
  'ENFILE',
  'ENOTEMPTY',
  'EBADF',
]);
const MODELS = ['f0', 'f1', 'f2'];
const ALLOWED = {
  init: ['created', 'initialized', 'stopped'],
  reinit: ['initialized', 'started', 'running', 'stopped'],
  start: ['initialized', 'started', 'running', 'stopped'],
  stop: ['started', 'running', 'stopped'],
  prepare_dataset: ['started', 'running'],
  discard_dataset: ['started', 'running'],
};

/** mulberry32: a seeded generator, so a run repeats exactly. (bench/lib.mjs is not imported: it owns signals.) */
function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// The server

function startServer(dir, stateDir) {
  const mnt = join(dir, 'mnt');
  const log = join(dir, 'server.log');
  const stderr = openSync(join(dir, 'server.stderr'), 'a');
  const proc = spawn(process.execPath, [BIN, 'serve', '--mountpoint', mnt, '--state-dir', stateDir, '--metrics-listen', 'off', '--log-file', log], {
    stdio: ['ignore', stderr, stderr],
  });
  closeSync(stderr);
  const deadline = Date.now() + 30000;
  while (!existsSync(join(mnt, 'version')) || !readFileSync('/proc/mounts', 'utf8').includes(` ${mnt} `)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`server did not come up; see ${log}`);
    execFileSync('sleep', ['0.05']);
  }
  return { proc, mnt, log };
}

async function stopServer(server) {
  if (server.proc.exitCode === null) {
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.once('exit', r));
  }
  if (readFileSync('/proc/mounts', 'utf8').includes(` ${server.mnt} `)) execFileSync('fusermount', ['-uz', server.mnt]);
  return server.proc.exitCode;
}

// ---------------------------------------------------------------------------------------------
// The expected state of one model

/** The stats counters the model predicts (the rest depend on timing: training, mode transitions). */
const CHECKED_COUNTERS = [
  'samples_total',
  'samples_dropped',
  'samples_rejected',
  'writes_rejected',
  'inferences',
  'kernel_fallbacks',
  'samples_corrected',
  'config_commits',
].concat(['ml', 'default', 'critical', 'fallback'].map((source) => `feedback_${source}`));

function freshModel() {
  return {
    state: 'created',
    config: { ...DEFAULT_CONFIG, hidden: [...DEFAULT_CONFIG.hidden] },
    staged: {},
    mode: 'emergency', // undefined once the automatic policy or feedback may have moved it
    rows: [], // Float32Array rows, oldest first
    lastQuery: undefined,
    counters: Object.fromEntries(CHECKED_COUNTERS.map((k) => [k, 0])),
  };
}

function push(m, flat) {
  const width = m.config.inputs + m.config.outputs;
  for (let i = 0; i < flat.length; i += width) {
    m.rows.push(flat.slice(i, i + width));
    if (m.rows.length > m.config.buffer_capacity) {
      m.rows.shift();
      m.counters.samples_dropped++;
    }
  }
  m.counters.samples_total += flat.length / width;
}

function commit(m) {
  if (Object.keys(m.staged).length === 0) return true;
  const next = { ...m.config, ...m.staged };
  try {
    validateConfig(next);
  } catch {
    return false;
  }
  const widthChanged = next.inputs !== m.config.inputs || next.outputs !== m.config.outputs;
  if (widthChanged) {
    m.counters.samples_dropped += m.rows.length;
    m.rows = [];
    m.lastQuery = undefined;
  } else if (next.buffer_capacity < m.rows.length) {
    m.counters.samples_dropped += m.rows.length - next.buffer_capacity;
    m.rows = m.rows.slice(m.rows.length - next.buffer_capacity);
  }
  m.config = next;
  m.staged = {};
  m.counters.config_commits++;
  return true;
}

/** A verb's expected outcome: true (ok) or the errno, applying its effect. */
function verb(m, v) {
  if (v === 'commit') return commit(m) || 'EINVAL';
  if (v === 'reset') return ((m.rows = []), true);
  if (v === 'save') return m.state === 'created' ? 'ENODATA' : true;
  if (v === 'load') return 'ENOENT';
  if (!ALLOWED[v].includes(m.state)) return 'EINVAL';
  if (v === 'init') m.state = 'initialized';
  if (v === 'start' && (m.state === 'initialized' || m.state === 'stopped')) m.state = 'started';
  if (v === 'stop') m.state = 'stopped';
  if (v === 'prepare_dataset') m.state = 'running';
  if (v === 'discard_dataset') ((m.rows = []), (m.state = 'started'));
  return true;
}

/** What a clean restart keeps: config, state, mode, buffered samples; counters start again. */
function afterRestart(m) {
  const next = freshModel();
  return { ...next, state: m.state, config: m.config, mode: m.mode, rows: m.rows };
}

// ---------------------------------------------------------------------------------------------
// Inputs: valid, mutated and hostile

function generators(random) {
  const int = (n) => Math.floor(random() * n);
  const pick = (list) => list[int(list.length)];
  const chance = (p) => random() < p;
  const number = () => {
    const r = random();
    if (r < 0.45) return String(int(2000) - 1000);
    if (r < 0.8) return (random() * 200 - 100).toFixed(int(6));
    if (r < 0.95) return `${int(9) + 1}e${int(4)}`;
    return String(int(2e9) - 1e9);
  };
  const flip = (buf) => {
    if (buf.length) buf[int(buf.length)] ^= 1 << int(8);
    return buf;
  };
  const textRows = (width, n) =>
    Array.from({ length: n }, () => Array.from({ length: width }, number).join(pick([' ', '\t', '  '])) + (chance(0.1) ? ' # c' : '')).join('\n') +
    (chance(0.8) ? '\n' : '');
  function binary(m, n) {
    const width = m.config.inputs + m.config.outputs;
    const b = Buffer.alloc(BINARY_DATASET.headerBytes + n * width * 4);
    b.writeUInt32LE(BINARY_DATASET.magic, 0);
    b.writeUInt16LE(BINARY_DATASET.version, 4);
    b.writeUInt16LE(BINARY_DATASET.headerBytes, 6);
    b.writeUInt16LE(chance(0.9) ? m.config.inputs : int(5), 8);
    b.writeUInt16LE(m.config.outputs, 10);
    for (let i = 0; i < n * width; i++) b.writeInt32LE(int(4000) - 2000, BINARY_DATASET.headerBytes + i * 4);
    return b;
  }
  const payloads = {
    valid: (m) => Buffer.from(textRows(m.config.inputs + m.config.outputs, 1 + int(60))),
    flipped: (m) => flip(Buffer.from(textRows(m.config.inputs + m.config.outputs, 1 + int(20)))),
    wrongWidth: (m) => Buffer.from(textRows(m.config.inputs + m.config.outputs + pick([-1, 1]), 1 + int(5))),
    random: () => Buffer.from(Array.from({ length: 1 + int(300) }, () => int(256))),
    nuls: (m) => Buffer.from(textRows(m.config.inputs + m.config.outputs, 3).replace(/ /g, () => (chance(0.3) ? '\0' : ' '))),
    partialUtf8: (m) => Buffer.concat([Buffer.from(textRows(m.config.inputs + m.config.outputs, 2)), Buffer.from([0xe2, 0x82])]),
    hugeLine: () => Buffer.from('1 '.repeat(33000 + int(3000)) + '\n'),
    binary: (m) => binary(m, int(30)),
    binaryFlipped: (m) => flip(binary(m, 1 + int(10))),
    beyond: (m) => Buffer.from(Array.from({ length: m.config.inputs + m.config.outputs }, () => '2e9').join(' ') + '\n'),
  };
  const configText = () => {
    const lines = Array.from({ length: 1 + int(3) }, () =>
      pick([
        () => `inputs=${1 + int(3)}`,
        () => `outputs=${1 + int(2)}`,
        () => `hidden=${pick(['4', '8,4', 'none', '3'])}`,
        () => `batch_size=${pick([8, 16, 32, 9000])}`,
        () => `buffer_capacity=${pick([50, 200, 1000, 5000, 0])}`,
        () => `scale=${pick(['1', '10', '1000', '0', '-1'])}`,
        () => `durability=${pick(['strict', 'batch', 'sometimes'])}`,
        () => `learning_rate=${pick(['0.01', '0.001', '11', 'x'])}`,
        () => `overflow=${pick(['drop_oldest', 'refuse'])}`,
        () => `promote_dwell_ms=${int(1000)}`,
        () => pick(['# comment', '', 'nokey', '=5', 'colour=blue', 'inputs=1.5', 'inputs=5000']),
      ])(),
    );
    return lines.join('\n') + (chance(0.7) ? '\n' : '');
  };
  const keyword = (list) =>
    pick([
      () => pick(list),
      () => pick(list) + '\n',
      () => pick(list) + '\n\n',
      () => ' ' + pick(list),
      () => pick(list).toUpperCase(),
      () => pick(list).slice(1),
      () => pick(list) + 'x',
      () => Buffer.from(Array.from({ length: 1 + int(12) }, () => int(256))).toString('latin1'),
    ])();
  const feedbackText = (m) =>
    Array.from({ length: 1 + int(3) }, () =>
      pick([
        () => `ml ${number()}`,
        () => `default ${number()}`,
        () => 'critical',
        () => `fallback ${int(100)}`,
        () => `ml ${number()} ${Array.from({ length: m.config.outputs }, number).join(' ')}`,
        () => `default ${number()} ${Array.from({ length: m.config.outputs + 1 }, number).join(' ')}`,
        () => pick(['fallback -1', 'critical 1', 'ml', 'bogus 1', 'ml NaN', 'fallback 1.5']),
      ])(),
    ).join('\n') + '\n';
  const queries = (m) => {
    const n = pick([1, 1, 2, 5, 0]);
    const text = Array.from({ length: n }, () => Array.from({ length: m.config.inputs }, number).join(' ')).join('\n') + '\n';
    return chance(0.2) ? flip(Buffer.from(text)).toString('latin1') : text;
  };
  return { int, pick, chance, payloads, configText, keyword, feedbackText, queries };
}

// ---------------------------------------------------------------------------------------------
// The run

function tryOp(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, code: err.code ?? String(err) };
  }
}

function statsOf(text) {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => l.split(' ')),
  );
}

/**
 * Run the fuzzer; resolves to its report (report.mismatches empty when every check held). `sabotage`
 * deliberately mispredicts one counter, so a test can show the checks do fail.
 */
export async function runLiveFuzz({ seed = 1, ops = 3000, restarts = 1, chaos = 2, sabotage = false, say = () => {} } = {}) {
  const random = makeRng(seed);
  const g = generators(random);
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-fuzz-'));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const report = {
    seed,
    ops: 0,
    syscalls: 0,
    accepted: 0,
    rejected: 0,
    byErrno: {},
    mismatches: [],
    restarts: 0,
    checks: 0,
    chaos: {},
    samplesStored: 0,
    batches: { stored: 0, refused: 0 },
  };
  const mismatch = (what) => {
    if (report.mismatches.length < 50) report.mismatches.push(what);
  };
  let server = startServer(dir, stateDir);
  const models = Object.fromEntries(MODELS.map((n) => [n, freshModel()]));
  /** Open dataset files per model: the server decodes each as its own batch. */
  let open = [];
  const path = (model, file) => join(server.mnt, 'models', model, file);
  const count = (r) => {
    report.syscalls++;
    if (r.ok) report.accepted++;
    else {
      report.rejected++;
      report.byErrno[r.code] = (report.byErrno[r.code] ?? 0) + 1;
      if (!DOCUMENTED.has(r.code)) mismatch(`undocumented errno ${r.code}`);
    }
    return r;
  };
  /** Compare an outcome with the expectation: true (ok) or an errno. */
  const expect = (what, r, want) => {
    const got = r.ok ? true : r.code;
    if (got !== want) mismatch(`${what}: expected ${want === true ? 'ok' : want}, got ${got === true ? 'ok' : got}`);
  };
  const writeFile = (model, file, data, where) => {
    const r = count(
      tryOp(() => {
        const fd = openSync(path(model, file), 'w');
        try {
          writeSync(fd, Buffer.from(data, 'latin1'), 0, Buffer.byteLength(data, 'latin1'), where);
        } finally {
          closeSync(fd);
        }
      }),
    );
    return r;
  };

  for (const name of MODELS) expect(`mkdir ${name}`, count(tryOp(() => mkdirSync(path(name, '')))), true);

  // Chaos processes run while the server serves and are stopped (and report) before each restart: a
  // request cut off by a server stopping on purpose (ENOTCONN, ECONNABORTED) is not what they test.
  let kids = [];
  const startChaos = () => {
    kids = Array.from({ length: chaos }, (_, i) => {
      const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--chaos-child', server.mnt, String(seed * 100 + report.restarts * 10 + i)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const done = new Promise((resolve) => {
        let out = '';
        proc.stdout.on('data', (d) => (out += d));
        proc.on('close', () => resolve(out ? JSON.parse(out) : {}));
      });
      return { proc, done };
    });
  };
  const stopChaos = async () => {
    for (const k of kids) k.proc.kill('SIGTERM');
    for (const c of await Promise.all(kids.map((k) => k.done))) {
      for (const [code, n] of Object.entries(c.byErrno ?? {})) {
        report.chaos[code] = (report.chaos[code] ?? 0) + n;
        if (code !== 'ok' && !DOCUMENTED.has(code)) mismatch(`chaos: undocumented errno ${code} ×${n}`);
      }
    }
    kids = [];
  };
  startChaos();

  function datasetOpen(name) {
    const r = count(tryOp(() => openSync(path(name, 'dataset'), 'w')));
    if (!r.ok) return mismatch(`open dataset ${name}: ${r.code}`);
    open.push({ name, fd: r.value, decoder: undefined, width: 0, poisoned: false });
  }

  function datasetWrite(h) {
    const m = models[h.name];
    const kind = g.chance(0.5) ? g.pick(['valid', 'valid', 'valid', 'binary']) : g.pick(Object.keys(g.payloads));
    const payload = g.payloads[kind](m);
    const cuts = [...new Set(Array.from({ length: g.int(3) }, () => g.int(payload.length + 1)))].sort((a, b) => a - b);
    let from = 0;
    for (const cut of [...cuts, payload.length]) {
      const chunk = payload.subarray(from, cut);
      from = cut;
      const position = g.chance(0.1) ? g.int(1 << 30) : null; // a write at an offset past the end
      // Each write(2) of at most 64 KiB reaches the server as one request, so the oracle sees the same chunks.
      for (let at = 0; at < chunk.length; at += 65536) {
        const piece = chunk.subarray(at, at + 65536);
        const r = count(tryOp(() => writeSync(h.fd, piece, 0, piece.length, position)));
        let want = true;
        if (h.poisoned) want = 'EINVAL';
        else {
          if (!h.decoder) {
            h.decoder = new DatasetDecoder(m.config.inputs, m.config.outputs, m.config.scale, { rows: m.config.buffer_capacity, excess: 'drop' });
            h.width = m.config.inputs + m.config.outputs;
          }
          try {
            h.decoder.feed(piece);
          } catch {
            h.poisoned = true;
            m.counters.writes_rejected++;
            m.counters.samples_rejected += h.decoder.samples + 1;
            want = 'EINVAL';
          }
        }
        expect(`dataset write (${kind})`, r, want);
        if (r.ok && r.value !== piece.length) mismatch(`short write ${r.value}/${piece.length}`);
      }
    }
  }

  function datasetClose(i) {
    const h = open[i];
    open.splice(i, 1);
    const m = models[h.name];
    const r = count(tryOp(() => closeSync(h.fd)));
    let want = true;
    if (h.poisoned) want = 'EINVAL';
    else if (h.decoder) {
      try {
        h.decoder.finish();
        if (h.width !== m.config.inputs + m.config.outputs && h.decoder.samples > 0) {
          // The config's width changed while the batch was open: refused whole (src/fs/guards.ts).
          m.counters.writes_rejected++;
          m.counters.samples_rejected += h.decoder.samples;
          want = 'EINVAL';
        } else {
          const rows = flatten(h.decoder.rows());
          const all = rows.length / h.width + h.decoder.dropped;
          if (all > 0) {
            const before = m.counters.samples_total;
            push(m, rows);
            m.counters.samples_total = before + all;
            m.counters.samples_dropped += h.decoder.dropped;
            report.samplesStored += all;
          }
        }
      } catch {
        m.counters.writes_rejected++;
        m.counters.samples_rejected += h.decoder.samples + 1;
        want = 'EINVAL';
      }
    }
    expect('dataset close', r, want);
    if (want === true) report.batches.stored++;
    else report.batches.refused++;
  }

  const actions = [
    [20, () => (open.length < 6 ? datasetOpen(g.pick(MODELS)) : datasetClose(g.int(open.length)))],
    [30, () => (open.length ? datasetWrite(g.pick(open)) : datasetOpen(g.pick(MODELS)))],
    [12, () => open.length && datasetClose(g.int(open.length))],
    [
      10,
      () => {
        const name = g.pick(MODELS);
        const m = models[name];
        const text = g.configText();
        const r = writeFile(name, 'config', text, g.chance(0.1) ? g.int(1e6) : null);
        let want = true;
        try {
          // A zero-length write never reaches the server: nothing to refuse.
          if (text !== '') m.staged = { ...m.staged, ...parseConfigText(Buffer.from(text, 'latin1').toString('utf8')) };
        } catch {
          want = 'EINVAL';
        }
        expect(`config ${JSON.stringify(text)}`, r, want);
      },
    ],
    [
      10,
      () => {
        const name = g.pick(MODELS);
        const word = g.chance(0.5)
          ? g.pick(['commit', 'commit', 'init', 'start', 'stop', 'reset', 'prepare_dataset', 'discard_dataset', 'reinit', 'save', 'load'])
          : g.keyword([...VERBS]);
        if (word === '') return;
        const r = writeFile(name, 'control', word);
        const k = keywordFromWrite(Buffer.from(word, 'latin1').toString('utf8'));
        expect(`control ${JSON.stringify(word)} in ${models[name].state}`, r, isKeyword(VERBS, k) ? verb(models[name], k) : 'EINVAL');
      },
    ],
    [
      5,
      () => {
        const name = g.pick(MODELS);
        const word = g.chance(0.6) ? g.pick([...MODES, 'auto']) : g.keyword([...MODES, 'auto']);
        if (word === '') return;
        const r = writeFile(name, 'mode', word);
        const k = keywordFromWrite(Buffer.from(word, 'latin1').toString('utf8'));
        const valid = k === 'auto' || MODES.includes(k);
        expect(`mode ${JSON.stringify(word)}`, r, valid ? true : 'EINVAL');
        if (valid) models[name].mode = k === 'auto' ? undefined : k;
      },
    ],
    [
      8,
      () => {
        const name = g.pick(MODELS);
        const m = models[name];
        const text = g.feedbackText(m);
        const r = writeFile(name, 'feedback', text);
        let want = true;
        try {
          const lines = parseFeedback(text, m.config.outputs, m.config.scale);
          if (lines.some((l) => l.corrected) && !m.lastQuery) throw new Error('no query');
          for (const l of lines) {
            m.counters[`feedback_${l.source}`]++;
            if (l.source === 'fallback') m.counters.kernel_fallbacks += l.efficiency;
            else m.mode = undefined; // evidence may move an automatic policy; critical may move any
            if (l.corrected) {
              m.counters.samples_corrected++;
              for (let i = 0; i < CORRECTION_REPEAT; i++) push(m, Float32Array.from([...m.lastQuery, ...l.corrected]));
            }
          }
        } catch {
          want = 'EINVAL';
        }
        expect(`feedback ${JSON.stringify(text)}`, r, want);
      },
    ],
    [
      8,
      () => {
        const name = g.pick(MODELS);
        const m = models[name];
        const text = g.queries(m);
        let answer = '';
        const r = count(
          tryOp(() => {
            const fd = openSync(path(name, 'recommendation'), 'r+');
            try {
              writeSync(fd, Buffer.from(text, 'latin1'));
              const buf = Buffer.alloc(1 << 16);
              answer = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString();
            } finally {
              closeSync(fd);
            }
          }),
        );
        let want = true;
        try {
          const q = parseQueries(Buffer.from(text, 'latin1').toString('utf8'), m.config.inputs, m.config.scale, 4096);
          if (m.state === 'created') want = 'ENODATA';
          else {
            m.counters.inferences += q.length / m.config.inputs;
            m.lastQuery = q.slice(q.length - m.config.inputs);
            if (r.ok && answer.split('\n').filter(Boolean).length !== q.length / m.config.inputs)
              mismatch(`recommendation: ${answer.split('\n').length} answers for ${q.length / m.config.inputs} queries`);
          }
        } catch {
          want = 'EINVAL';
        }
        expect(`recommendation ${JSON.stringify(text)}`, r, want);
      },
    ],
    [
      3,
      () => {
        // Truncation is accepted and changes nothing; writing read-only files is refused at open.
        const name = g.pick(MODELS);
        expect('truncate config', count(tryOp(() => truncateSync(path(name, 'config'), g.int(100)))), true);
        if (open.length) expect('ftruncate dataset', count(tryOp(() => ftruncateSync(g.pick(open).fd, g.int(100)))), true);
        expect('write stats', count(tryOp(() => openSync(path(name, g.pick(['stats', 'state', 'events'])), 'w'))), 'EACCES');
      },
    ],
    [
      4,
      () => {
        // mkdir/rmdir with files open: the open files fail with ENOENT, the name can be made again, fresh.
        const churn = 'churn';
        expect('mkdir churn', count(tryOp(() => mkdirSync(path(churn, '')))), true);
        const fds = ['dataset', 'config', 'control'].filter(() => g.chance(0.7)).map((f) => [f, count(tryOp(() => openSync(path(churn, f), 'w'))).value]);
        if (g.chance(0.5) && fds.length) count(tryOp(() => writeSync(fds[0][1], '1 2\n')));
        expect('rmdir churn', count(tryOp(() => rmdirSync(path(churn, '')))), true);
        for (const [f, fd] of fds) {
          expect(`write ${f} after rmdir`, count(tryOp(() => writeSync(fd, 'init\n'))), 'ENOENT');
          count(tryOp(() => closeSync(fd)));
        }
        expect('churn is gone', count(tryOp(() => readAll(path(churn, 'state')))), 'ENOENT');
      },
    ],
  ];
  const totalWeight = actions.reduce((a, [w]) => a + w, 0);

  async function check(label) {
    report.checks++;
    if (sabotage) models[MODELS[0]].counters.samples_total++;
    for (const name of MODELS) {
      const m = models[name];
      const got = (file) => tryOp(() => readAll(path(name, file)));
      const state = got('state');
      if (!state.ok) {
        mismatch(`${label} ${name}: state unreadable ${state.code}`);
        continue;
      }
      if (state.value.trim() !== m.state) mismatch(`${label} ${name}: state ${state.value.trim()}, expected ${m.state}`);
      if (got('config').value !== formatConfig(m.config))
        mismatch(`${label} ${name}: config differs:\n${got('config').value}\nexpected\n${formatConfig(m.config)}`);
      if (got('config_staged').value !== formatConfig(m.staged)) mismatch(`${label} ${name}: staged config differs`);
      if (m.mode !== undefined && got('mode').value.trim() !== m.mode) mismatch(`${label} ${name}: mode ${got('mode').value.trim()}, expected ${m.mode}`);
      const width = m.config.inputs + m.config.outputs;
      const flat = new Float32Array(m.rows.length * width);
      m.rows.forEach((r, i) => flat.set(r, i * width));
      const dataset = got('dataset').value;
      if (dataset !== formatRows(flat, width, m.config.scale))
        mismatch(`${label} ${name}: buffered samples differ (${dataset.split('\n').length - 1} read, ${m.rows.length} expected)`);
      const stats = statsOf(got('stats').value);
      if (Number(stats.samples_buffered) !== m.rows.length) mismatch(`${label} ${name}: samples_buffered ${stats.samples_buffered}, expected ${m.rows.length}`);
      for (const [k, v] of Object.entries(m.counters)) if (Number(stats[k]) !== v) mismatch(`${label} ${name}: ${k} ${stats[k]}, expected ${v}`);
    }
  }

  const restartAt = new Set(Array.from({ length: restarts }, (_, i) => Math.floor(((i + 1) * ops) / (restarts + 1))));
  const began = Date.now();
  for (let i = 0; i < ops; i++) {
    report.ops++;
    let pickW = random() * totalWeight;
    const [, action] = actions.find(([w]) => (pickW -= w) < 0) ?? actions[0];
    action();
    if (i % 10000 === 9999) say(`${i + 1} operations, ${report.mismatches.length} mismatches, ${Math.round((Date.now() - began) / 1000)} s`);
    if (restartAt.has(i)) {
      while (open.length) datasetClose(0);
      await check(`before restart ${report.restarts + 1}`);
      await stopChaos();
      const code = await stopServer(server);
      if (code !== 0)
        mismatch(
          `server exited ${code} on SIGTERM: ${readFileSync(join(dir, 'server.stderr'), 'utf8').split('\n').slice(-4).join('\n') + readFileSync(server.log, 'utf8').split('\n').slice(-4).join('\n')}`,
        );
      server = startServer(dir, stateDir);
      report.restarts++;
      for (const name of MODELS) models[name] = afterRestart(models[name]);
      await check(`after restart ${report.restarts}`);
      startChaos();
    }
  }
  while (open.length) datasetClose(0);
  await check('at the end');
  const answers = tryOp(() => readAll(join(server.mnt, 'version')));
  if (!answers.ok) mismatch(`the server does not answer: ${answers.code}`);
  await stopChaos();
  const code = await stopServer(server);
  if (code !== 0)
    mismatch(
      `server exited ${code} on the final SIGTERM: ${readFileSync(join(dir, 'server.stderr'), 'utf8').split('\n').slice(-4).join('\n') + readFileSync(server.log, 'utf8').split('\n').slice(-4).join('\n')}`,
    );
  // One more start from the state dir: the same state again.
  server = startServer(dir, stateDir);
  report.restarts++;
  for (const name of MODELS) models[name] = afterRestart(models[name]);
  await check('after the final restart');
  await stopServer(server);
  report.seconds = (Date.now() - began) / 1000;
  // How often stopping had to SIGKILL a training process that ignored SIGTERM (src/engine/train/trainer.ts).
  report.trainerKilled = (readFileSync(server.log, 'utf8').match(/did not exit \d+ ms after SIGTERM/g) ?? []).length;
  rmSync(dir, { recursive: true, force: true });
  return report;
}

/** A chaos child: random writes to a model of its own and mkdir/rmdir races, until SIGTERM; prints errno counts. */
function chaosChild(mnt, seed) {
  const random = makeRng(seed);
  const g = generators(random);
  const byErrno = {};
  const note = (r) => ((byErrno[r.ok ? 'ok' : r.code] = (byErrno[r.ok ? 'ok' : r.code] ?? 0) + 1), r);
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  const m = freshModel();
  const step = () => {
    for (let i = 0; i < 50 && !stop; i++) {
      const name = g.pick(['chaos', 'race0', 'race1']);
      const p = join(mnt, 'models', name);
      switch (g.int(4)) {
        case 0:
          note(tryOp(() => (g.chance(0.5) ? mkdirSync(p) : rmdirSync(p))));
          break;
        case 1: {
          const file = g.pick(['dataset', 'config', 'control', 'mode', 'feedback', 'recommendation', 'stats', 'events', 'nosuch']);
          const data =
            file === 'dataset'
              ? g.payloads[g.pick(Object.keys(g.payloads))](m)
              : Buffer.from(g.pick([g.configText(), g.keyword([...VERBS, ...MODES]), g.feedbackText(m), g.queries(m)]), 'latin1');
          note(
            tryOp(() => {
              const fd = openSync(join(p, file), g.chance(0.3) ? 'r+' : 'w');
              try {
                if (data.length) writeSync(fd, data.subarray(0, 65536));
              } finally {
                closeSync(fd);
              }
            }),
          );
          break;
        }
        default:
          note(tryOp(() => readAll(join(p, g.pick(['stats', 'events', 'dataset', 'config', 'state'])))));
      }
    }
    if (stop) process.stdout.write(JSON.stringify({ byErrno }), () => process.exit(0));
    else setImmediate(step);
  };
  step();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--chaos-child') chaosChild(process.argv[3], Number(process.argv[4]));
  else {
    const { values } = parseArgs({
      options: {
        seed: { type: 'string', default: '1' },
        ops: { type: 'string', default: '100000' },
        restarts: { type: 'string', default: '3' },
        chaos: { type: 'string', default: '2' },
        json: { type: 'string' },
      },
    });
    const report = await runLiveFuzz({
      seed: Number(values.seed),
      ops: Number(values.ops),
      restarts: Number(values.restarts),
      chaos: Number(values.chaos),
      say: (l) => process.stderr.write(`fuzz-live: ${l}\n`),
    });
    const text = JSON.stringify(report, null, 1);
    if (values.json) writeFileSync(values.json, text + '\n');
    process.stdout.write(text + '\n');
    process.exitCode = report.mismatches.length ? 1 : 0;
  }
}

// Owns TensorFlow.js: runs as the training process (a child of the server), holds every model's tfjs
// network, trains on batches the server sends and returns weights. Nothing here runs in the process
// that answers FUSE requests.
import { setPriority } from 'node:os';
import type { NetworkSpec, WorkerReply, WorkerRequest } from './worker-protocol.js';

type Tf = typeof import('@tensorflow/tfjs');

/** The training thread's nice value: the lowest priority, see below. */
const TRAINING_NICE = 19;

async function loadTf(): Promise<Tf> {
  // tfjs greets Node users on the console about tfjs-node, which cannot be installed here; keep the log clean.
  const { log, warn } = console;
  console.log = () => {};
  console.warn = () => {};
  try {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    const wanted = process.env.MLPROXY_TF_BACKEND ?? 'wasm';
    if (!(await tf.setBackend(wanted))) await tf.setBackend('cpu');
    await tf.ready();
    return tf;
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

interface Held {
  net: import('@tensorflow/tfjs').Sequential;
  optimizer: import('@tensorflow/tfjs').AdamOptimizer;
  learningRate: number;
  lastGood: Float32Array[];
}

// Training yields the CPU to the process that answers FUSE requests, so every kernel request preempts
// training instead of queueing behind it.
try {
  setPriority(TRAINING_NICE);
} catch {
  // Not permitted (an unprivileged user may not renice below its current value): train at normal priority.
}

const tfReady = loadTf();
const models = new Map<string, Held>();

function build(tf: Tf, spec: NetworkSpec, weights?: Float32Array[]): Held {
  const net = tf.sequential();
  const sizes = [...spec.hidden, spec.outputs];
  sizes.forEach((units, i) => {
    const last = i === sizes.length - 1;
    net.add(tf.layers.dense({ units, activation: last ? 'linear' : 'relu', ...(i === 0 ? { inputShape: [spec.inputs] } : {}) }));
  });
  if (weights) setWeights(tf, net, weights);
  const optimizer = tf.train.adam(spec.learningRate);
  net.compile({ optimizer, loss: 'meanSquaredError' });
  return { net, optimizer, learningRate: spec.learningRate, lastGood: readWeights(net) };
}

function readWeights(net: Held['net']): Float32Array[] {
  return net
    .getWeights()
    .map((w) => w.dataSync() as Float32Array)
    .map((a) => Float32Array.from(a));
}

function setWeights(tf: Tf, net: Held['net'], weights: Float32Array[]): void {
  const shapes = net.getWeights().map((w) => w.shape);
  if (shapes.length !== weights.length) throw new Error(`expected ${shapes.length} weight tensors, got ${weights.length}`);
  const tensors = weights.map((w, i) => tf.tensor(w, shapes[i]));
  net.setWeights(tensors);
  tensors.forEach((t) => t.dispose());
}

async function train(tf: Tf, held: Held, req: Extract<WorkerRequest, { op: 'train' }>): Promise<WorkerReply> {
  if (req.learningRate !== held.learningRate) {
    // A committed learning_rate takes effect with a fresh optimizer; the weights carry over.
    held.optimizer.dispose();
    held.optimizer = tf.train.adam(req.learningRate);
    held.net.compile({ optimizer: held.optimizer, loss: 'meanSquaredError' });
    held.learningRate = req.learningRate;
  }
  const inputs = req.xs.length / (req.batches * req.batchSize);
  const outputs = req.ys.length / (req.batches * req.batchSize);
  let total = 0;
  for (let b = 0; b < req.batches; b++) {
    const rows = req.batchSize;
    const x = tf.tensor2d(req.xs.subarray(b * rows * inputs, (b + 1) * rows * inputs), [rows, inputs]);
    const y = tf.tensor2d(req.ys.subarray(b * rows * outputs, (b + 1) * rows * outputs), [rows, outputs]);
    const value = (await held.net.trainOnBatch(x, y)) as number;
    x.dispose();
    y.dispose();
    total += value;
    if (!Number.isFinite(value)) {
      // Diverged: put back the last weights that gave a finite loss; the caller counts the rollback.
      setWeights(tf, held.net, held.lastGood);
      return { id: req.id, ok: true, diverged: true, loss: value, steps: b + 1, weights: held.lastGood };
    }
  }
  held.lastGood = readWeights(held.net);
  return { id: req.id, ok: true, loss: total / req.batches, steps: req.batches, weights: held.lastGood, backend: tf.getBackend() };
}

/** Free a model's network and its optimizer's slots; tfjs frees neither by itself. */
function release(model: string): void {
  const held = models.get(model);
  if (!held) return;
  held.net.dispose();
  held.optimizer.dispose();
  models.delete(model);
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  const tf = await tfReady;
  switch (req.op) {
    case 'build': {
      release(req.model);
      const held = build(tf, req.spec, req.weights);
      models.set(req.model, held);
      return { id: req.id, ok: true, weights: held.lastGood, backend: tf.getBackend() };
    }
    case 'train': {
      const held = models.get(req.model);
      if (!held) return { id: req.id, ok: false, error: `no network for model ${req.model}` };
      return train(tf, held, req);
    }
    case 'predict': {
      const held = models.get(req.model);
      if (!held) return { id: req.id, ok: false, error: `no network for model ${req.model}` };
      const inputs = req.xs.length / req.rows;
      const out = tf.tidy(() => held.net.predict(tf.tensor2d(req.xs, [req.rows, inputs])) as import('@tensorflow/tfjs').Tensor);
      const outputs = Float32Array.from(out.dataSync() as Float32Array);
      out.dispose();
      return { id: req.id, ok: true, outputs };
    }
    case 'dispose': {
      release(req.model);
      return { id: req.id, ok: true };
    }
  }
}

// Requests are handled one at a time, in order, so two rounds for one model never interleave.
let queue: Promise<void> = Promise.resolve();
process.on('message', (req: WorkerRequest) => {
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      reply = await handle(req);
    } catch (err) {
      reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    // A server killed mid-round leaves nobody to answer: the send fails (EPIPE) and the worker's job is over.
    if (!process.connected) process.exit(0);
    process.send?.(reply, undefined, {}, (err) => {
      if (err) process.exit(0);
    });
  });
});
// The server went away (exited, or was killed): nothing is left to train for.
process.on('disconnect', () => process.exit(0));

// Owns the link to the training worker: one worker thread shared by all models, request/reply by id,
// restarted if it dies (each model is rebuilt there from its last weights on its next round).
import { Worker } from 'node:worker_threads';
import type { NetworkSpec, WorkerReply, WorkerRequest } from './worker-protocol.js';

type Pending = { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void };
type Body<R> = R extends unknown ? Omit<R, 'id'> : never;

export class TrainingWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private closed = false;
  /** Bumped whenever the worker is replaced: models built in an older one must be rebuilt. */
  epoch = 0;

  private start(): Worker {
    const worker = new Worker(new URL('./training-worker.js', import.meta.url));
    worker.on('message', (reply: WorkerReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new Error(reply.error));
    });
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.epoch++;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`training worker ${why}`));
      this.pending.clear();
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    worker.unref();
    return worker;
  }

  private call(body: Body<WorkerRequest>, transfer: ArrayBuffer[] = []): Promise<WorkerReply & { ok: true }> {
    if (this.closed) return Promise.reject(new Error('training worker is closed'));
    this.worker ??= this.start();
    const id = this.nextId++;
    const worker = this.worker;
    // Referenced only while a request is out: an idle worker must not keep a finished process alive.
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }

  build(model: string, spec: NetworkSpec, weights?: Float32Array[]): Promise<{ weights: Float32Array[]; backend: string }> {
    return this.call({ op: 'build', model, spec, weights }).then((r) => ({ weights: r.weights ?? [], backend: r.backend ?? '' }));
  }

  train(model: string, xs: Float32Array, ys: Float32Array, batchSize: number, batches: number, learningRate: number) {
    return this.call({ op: 'train', model, xs, ys, batchSize, batches, learningRate }, [xs.buffer as ArrayBuffer, ys.buffer as ArrayBuffer]).then((r) => ({
      weights: r.weights ?? [],
      loss: r.loss ?? NaN,
      steps: r.steps ?? 0,
      diverged: r.diverged ?? false,
    }));
  }

  /** TensorFlow.js's own prediction, for tests and benchmarks that compare it with the fast path. */
  predict(model: string, xs: Float32Array, rows: number): Promise<Float32Array> {
    return this.call({ op: 'predict', model, xs, rows }).then((r) => r.outputs ?? new Float32Array());
  }

  dispose(model: string): Promise<void> {
    if (!this.worker) return Promise.resolve();
    return this.call({ op: 'dispose', model }).then(() => undefined, () => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    for (const waiter of this.pending.values()) waiter.reject(new Error('training worker is closed'));
    this.pending.clear();
    if (worker) await worker.terminate();
  }
}

// Owns the link to the training process: one child process shared by all models, request/reply by id,
// restarted if it dies (each model is rebuilt there from its last weights on its next round). A separate
// process, not a thread, so that a crash inside TensorFlow.js's native or WebAssembly code can never
// take down the process that answers the kernel's FUSE requests.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NetworkSpec, WorkerReply, WorkerRequest } from './worker-protocol.js';

type Pending = { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void };
type Body<R> = R extends unknown ? Omit<R, 'id'> : never;

/** How long close() waits for the training process to exit on SIGTERM before it sends SIGKILL. */
export const CLOSE_KILL_AFTER_MS = 2000;

export class TrainingWorker {
  private worker: ChildProcess | undefined;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private closed = false;
  /** Bumped whenever the worker is replaced: models built in an older one must be rebuilt. */
  epoch = 0;
  /** How often the training process died and was replaced. */
  restarts = 0;

  /** `onLost` hears why the training process went away (it is restarted on the next request). */
  constructor(private readonly onLost: (why: string) => void = () => {}) {}

  /** The training process's pid, while one runs. */
  get pid(): number | undefined {
    return this.worker?.pid;
  }

  private start(): ChildProcess {
    // Typed arrays cross the channel as typed arrays with the structured-clone serialisation.
    const worker = fork(fileURLToPath(new URL('./training-worker.js', import.meta.url)), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    worker.on('message', (reply: WorkerReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.idle(worker);
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new Error(reply.error));
    });
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.epoch++;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`training process ${why}`));
      this.pending.clear();
      if (!this.closed) {
        this.restarts++;
        this.onLost(why);
      }
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code, signal) => lost(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    this.idle(worker);
    return worker;
  }

  /** An idle training process must not keep a finished program alive; a busy one must. */
  private idle(worker: ChildProcess): void {
    worker.unref();
    (worker.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  private busy(worker: ChildProcess): void {
    worker.ref();
    (worker.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  private call(body: Body<WorkerRequest>): Promise<WorkerReply & { ok: true }> {
    if (this.closed) return Promise.reject(new Error('training process is closed'));
    this.worker ??= this.start();
    const id = this.nextId++;
    const worker = this.worker;
    this.busy(worker);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.send({ ...body, id } as WorkerRequest, (err) => {
        if (err && this.pending.delete(id)) reject(new Error(`training process unreachable: ${err.message}`));
      });
    });
  }

  build(model: string, spec: NetworkSpec, weights?: Float32Array[]): Promise<{ weights: Float32Array[]; backend: string }> {
    return this.call({ op: 'build', model, spec, weights }).then((r) => ({ weights: r.weights ?? [], backend: r.backend ?? '' }));
  }

  train(model: string, xs: Float32Array, ys: Float32Array, batchSize: number, batches: number, learningRate: number) {
    return this.call({ op: 'train', model, xs, ys, batchSize, batches, learningRate }).then((r) => ({
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
    return this.call({ op: 'dispose', model }).then(
      () => undefined,
      () => undefined,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    for (const waiter of this.pending.values()) waiter.reject(new Error('training process is closed'));
    this.pending.clear();
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      this.busy(worker); // keep this process alive until the child is gone
      worker.kill('SIGTERM');
      // A training process that has not gone after a moment (seen under heavy load) is killed, so stopping stays bounded.
      const timer = setTimeout(() => {
        this.onLost(`did not exit ${CLOSE_KILL_AFTER_MS} ms after SIGTERM; sending SIGKILL`);
        worker.kill('SIGKILL');
      }, CLOSE_KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
    }
  }
}

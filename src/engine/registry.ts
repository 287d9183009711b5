// Owns the set of model sessions: create (mkdir), destroy (rmdir), lookup, the cap on how many exist,
// and with --state-dir bringing every model back after a restart.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../errors.js';
import type { Bus } from '../events.js';
import { MODEL_NAME_PATTERN } from '../protocol.js';
import { LIMITS } from '../limits.js';
import { DEFAULT_CONFIG } from './session/config.js';
import { Session } from './session/session.js';
import { ModelStore } from './store/store.js';
import { TrainingWorker } from './train/trainer.js';

export const MAX_MODELS = LIMITS.models.value;

export class Registry {
  private readonly sessions = new Map<string, Session>();
  /** Names being created or removed right now: a second mkdir or rmdir must not race the first. */
  private readonly busy = new Set<string>();
  readonly worker: TrainingWorker;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: Bus,
    readonly stateDir?: string,
  ) {
    this.worker = new TrainingWorker((why) => this.bus.emit('server', { message: `training process ${why}; it restarts on the next training round` }));
    // The mode policies are pure; time reaches them from here, once a second, for cool-downs and staleness.
    this.ticker = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions.values()) s.modes.tick(now);
    }, 1000);
    this.ticker.unref();
  }

  names(): string[] {
    return [...this.sessions.keys()].sort();
  }

  get(name: string): Session | undefined {
    return this.sessions.get(name);
  }

  private async newSession(name: string): Promise<{ session: Session; store?: ModelStore }> {
    if (!this.stateDir) return { session: new Session(name, this.bus, this.worker) };
    const store = await ModelStore.open(join(this.stateDir, 'models', name), DEFAULT_CONFIG.durability);
    return { session: new Session(name, this.bus, this.worker, store, join(this.stateDir, 'import', name)), store };
  }

  /** mkdir: answers once the model exists (and, with --state-dir, has its directory on disk). */
  async create(name: string): Promise<Session> {
    if (!MODEL_NAME_PATTERN.test(name)) fail('EINVAL', `models: "${name.slice(0, 80)}" is not a valid model name ([a-z0-9][a-z0-9_-]{0,63})`);
    if (this.sessions.has(name) || this.busy.has(name)) fail('EEXIST', `models: ${name} exists`);
    if (this.sessions.size + this.busy.size >= MAX_MODELS) fail('ENOSPC', `models: at most ${MAX_MODELS} models`);
    this.busy.add(name);
    try {
      const { session } = await this.newSession(name);
      session.persistMeta();
      this.sessions.set(name, session);
      this.bus.emit('model_created', { model: name });
      return session;
    } finally {
      this.busy.delete(name);
    }
  }

  /** rmdir: the model is gone from the tree at once; its files on disk follow. */
  async destroy(name: string): Promise<void> {
    const session = this.sessions.get(name) ?? fail('ENOENT', `models: no model ${name}`);
    this.sessions.delete(name);
    this.busy.add(name);
    try {
      await session.destroy();
    } finally {
      this.busy.delete(name);
    }
    this.bus.emit('model_destroyed', { model: name });
  }

  /** With --state-dir: bring back every model saved there. Returns what came back, for the log. */
  async restore(): Promise<{ name: string; detail: string }[]> {
    if (!this.stateDir) return [];
    const dir = join(this.stateDir, 'models');
    await mkdir(dir, { recursive: true });
    await mkdir(join(this.stateDir, 'import'), { recursive: true });
    const restored: { name: string; detail: string }[] = [];
    for (const name of (await readdir(dir)).sort()) {
      if (!MODEL_NAME_PATTERN.test(name) || this.sessions.size >= MAX_MODELS) continue;
      const { session, store } = await this.newSession(name);
      session.restore(await (store as ModelStore).recover(DEFAULT_CONFIG));
      this.sessions.set(name, session);
      this.bus.emit('model_created', { model: name });
      restored.push({ name, detail: `state=${session.state} mode=${session.modes.mode} samples=${session.ring.size}` });
    }
    return restored;
  }

  /** Server shutdown: keep every model on disk (weights saved, log flushed), release the worker. */
  async close(): Promise<void> {
    clearInterval(this.ticker);
    const began = performance.now();
    for (const session of this.sessions.values()) {
      session.learner.drop();
      await session.store?.close(session.name);
    }
    const models = this.sessions.size;
    this.sessions.clear();
    const savedMs = Math.round(performance.now() - began);
    this.bus.emit('server', { message: `closed ${models} models in ${savedMs} ms; stopping the training process` });
    await this.worker.close();
    this.bus.emit('server', {
      message: `closed ${models} models in ${savedMs} ms, the training process in ${Math.round(performance.now() - began) - savedMs} ms`,
    });
  }
}

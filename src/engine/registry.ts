// Owns the set of model sessions: create (mkdir), destroy (rmdir), lookup, and the cap on how many exist.
import { fail } from '../errors.js';
import type { Bus } from '../events.js';
import { MODEL_NAME_PATTERN } from '../protocol.js';
import { Session } from './session.js';
import { TrainingWorker } from './trainer.js';

export const MAX_MODELS = 256;

export class Registry {
  private readonly sessions = new Map<string, Session>();
  readonly worker = new TrainingWorker();
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly bus: Bus) {
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

  create(name: string): Session {
    if (!MODEL_NAME_PATTERN.test(name)) fail('EINVAL', `models: "${name.slice(0, 80)}" is not a valid model name ([a-z0-9][a-z0-9_-]{0,63})`);
    if (this.sessions.has(name)) fail('EEXIST', `models: ${name} exists`);
    if (this.sessions.size >= MAX_MODELS) fail('ENOSPC', `models: at most ${MAX_MODELS} models`);
    const session = new Session(name, this.bus, this.worker);
    this.sessions.set(name, session);
    this.bus.emit('model_created', { model: name });
    return session;
  }

  destroy(name: string): void {
    const session = this.sessions.get(name);
    if (!session) fail('ENOENT', `models: no model ${name}`);
    session.destroy();
    this.sessions.delete(name);
    this.bus.emit('model_destroyed', { model: name });
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    for (const name of this.names()) this.destroy(name);
    await this.worker.close();
  }
}

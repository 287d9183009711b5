// Owns what a model session does with its store: the meta record, save, load (import), restore
// after a restart, and keeping the dataset log no larger than the buffer it mirrors.
import { fail } from '../../errors.js';
import type { ModelState } from '../../protocol.js';
import { type Mode, isMode } from '../../modes/index.js';
import { DEFAULT_CONFIG } from '../session/config.js';
import { readImport } from './import.js';
import { SampleRing } from '../data/ring.js';
import type { Session } from '../session/session.js';
import type { Meta, ModelStore } from './store.js';

/** Freeze the current weights for export (model/), and with --state-dir write everything to disk now. */
export async function saveSession(session: Session): Promise<void> {
  const net = session.learner.network ?? fail('ENODATA', `save: model is ${session.state}, it has no network yet (write init to control)`);
  session.exported = net.snapshot;
  if (!session.store) return;
  session.store.weightsChanged(session.name, net.snapshot);
  await Promise.all([session.store.saveWeights(session.name), session.store.saveMeta(() => sessionMeta(session))]);
  await session.store.settle();
  if (session.store.lastError) fail('EIO', `save: ${session.store.lastError}`);
}

/** Replace the weights with a LayersModel from the import directory, if its shapes fit the config. */
export async function loadIntoSession(session: Session): Promise<void> {
  if (!session.importDir) fail('EINVAL', 'load: the server runs without --state-dir, so there is no import directory');
  const loaded = await readImport(session.importDir, session.config).catch((err: unknown) => session.reject('load', err));
  session.learner.rebuild(session.config, loaded.weights, loaded.normalisation);
  if (session.state === 'created') session.state = 'initialized';
  session.record('loaded', `from ${session.importDir} generation ${session.learner.generation}${loaded.normalisation ? '' : ' (no mlproxy normalisation metadata: identity)'}`);
  session.pumpTraining();
}

export function sessionMeta(session: Session): Meta {
  return { format: 1, config: session.config, mode: session.modes.mode, policy: session.modes.policy, state: session.state };
}

/** Rewrite the dataset log to hold just what the buffer holds (after a clear, or when it has grown). */
export function compactLog(session: Session): void {
  const store = session.store;
  if (!store) return;
  void store.log.rewrite(session.ring.toArray(), session.ring.width).catch((err: Error) => session.record('store_error', `dataset log rewrite: ${err.message}`));
}

/** Bring back what the store holds: config, mode, state, weights and the buffered samples. */
export async function restoreSession(session: Session): Promise<void> {
  const store = session.store as ModelStore;
  const meta = await store.readMeta();
  if (meta) {
    session.config = { ...DEFAULT_CONFIG, ...meta.config };
    session.ring = new SampleRing(session.config.buffer_capacity, session.config.inputs + session.config.outputs);
    store.log.durability = session.config.durability;
    if (isMode(meta.mode)) session.modes.restore(meta.mode as Mode, meta.policy === 'auto' ? 'auto' : 'manual', Date.now());
  }
  const { rows, width } = store.recovered;
  if (rows.length && width === session.ring.width) {
    session.ring.pushRows(rows);
    session.counters.samples_restored = rows.length / width;
  }
  const saved = meta && meta.state !== 'created' ? await store.readWeights(session.config).catch(() => undefined) : undefined;
  if (meta && meta.state !== 'created' && meta.state !== 'shutting_down') {
    session.learner.rebuild(session.config, saved?.weights, saved?.normalisation);
    session.state = meta.state as ModelState;
  }
  session.record('restored', `state=${session.state} mode=${session.modes.mode} samples=${session.counters.samples_restored} weights=${saved ? 'saved' : 'fresh'} cut_log_bytes=${store.recovered.cutBytes}`);
  session.pumpTraining();
}

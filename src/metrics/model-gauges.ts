// Owns the per-model values read from the sessions at scrape time: buffer, loss, state and mode gauges, and counters the engine keeps without events.
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { Session } from '../engine/session/session.js';
import { STATES } from '../protocol.js';
import { MODES, POLICIES } from '../modes/modes.js';
import { OTHER, type ModelLabels, type ModelSource } from './labels.js';

/** One model as the gauges see it, read once per scrape. */
interface Reading {
  buffered: number;
  capacity: number;
  bytes: number;
  loss: number;
  generation: number;
  training: boolean;
  state: string;
  mode: string;
  policy: string;
  applyPermil: number;
}

function read(s: Session): Reading {
  return {
    buffered: s.ring.size,
    capacity: s.ring.capacity,
    bytes: s.ring.bytes,
    loss: s.learner.lastLoss,
    generation: s.learner.generation,
    training: s.learner.training,
    state: s.state,
    mode: s.modes.mode,
    policy: s.modes.policy,
    applyPermil: s.modes.applyPermil,
  };
}

export function modelScrapeMetrics(registry: PromRegistry, models: ModelSource<Session>, labels: ModelLabels): void {
  const registers = [registry];

  /** Every live model once per scrape: own-label models one by one, the rest summed under `_other`. */
  function eachModel(own: (label: string, r: Reading) => void, other: (rs: Reading[]) => void): void {
    const shared: Reading[] = [];
    for (const name of models.names()) {
      const session = models.get(name);
      if (!session) continue;
      const label = labels.label(name);
      if (label === OTHER) shared.push(read(session));
      else own(label, read(session));
    }
    if (shared.length) other(shared);
  }
  const sum = (rs: Reading[], f: (r: Reading) => number) => rs.reduce((a, r) => a + f(r), 0);

  /** A gauge whose series are rebuilt from the sessions on every scrape (so destroyed models vanish). */
  function gauge(name: string, help: string, own: (r: Reading) => number | undefined, other?: (rs: Reading[]) => number) {
    new Gauge({
      name,
      help,
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        eachModel(
          (model, r) => {
            const v = own(r);
            if (v !== undefined) this.set({ model }, v);
          },
          (rs) => other && this.set({ model: OTHER }, other(rs)),
        );
      },
    });
  }

  gauge(
    'mlproxy_model_buffer_samples',
    'Samples in the training buffer now.',
    (r) => r.buffered,
    (rs) => sum(rs, (r) => r.buffered),
  );
  gauge(
    'mlproxy_model_buffer_capacity_samples',
    'Size of the training buffer (config buffer_capacity).',
    (r) => r.capacity,
    (rs) => sum(rs, (r) => r.capacity),
  );
  gauge(
    'mlproxy_model_buffer_fill_ratio',
    'Samples in the training buffer over its capacity, 0..1.',
    (r) => r.buffered / r.capacity,
    (rs) =>
      sum(rs, (r) => r.buffered) /
      Math.max(
        1,
        sum(rs, (r) => r.capacity),
      ),
  );
  gauge(
    'mlproxy_model_buffer_bytes',
    'Memory held by the training buffer.',
    (r) => r.bytes,
    (rs) => sum(rs, (r) => r.bytes),
  );
  gauge('mlproxy_model_loss', 'Mean training loss of the last round (MSE on standardised outputs); absent before the first round.', (r) =>
    Number.isFinite(r.loss) ? r.loss : undefined,
  );
  gauge('mlproxy_model_generation', 'Weights generation: increases whenever the weights change.', (r) => r.generation);
  gauge(
    'mlproxy_model_training',
    '1 while a training round is running.',
    (r) => Number(r.training),
    (rs) => sum(rs, (r) => Number(r.training)),
  );
  gauge('mlproxy_model_apply_ratio', 'Share of operations the kernel should apply the model to (apply_permil / 1000).', (r) => r.applyPermil / 1000);

  /** Enum-style gauge: 1 for the value in force, 0 for the others; `_other` counts models per value. */
  function enumGauge(name: string, help: string, key: string, values: readonly string[], pick: (r: Reading) => string) {
    new Gauge({
      name,
      help,
      labelNames: ['model', key],
      registers,
      collect() {
        this.reset();
        eachModel(
          (model, r) => {
            for (const v of values) this.set({ model, [key]: v }, pick(r) === v ? 1 : 0);
          },
          (rs) => {
            for (const v of values) this.set({ model: OTHER, [key]: v }, rs.filter((r) => pick(r) === v).length);
          },
        );
      },
    });
  }
  enumGauge('mlproxy_model_state', 'Lifecycle state: 1 for the state the model is in, 0 for the others.', 'state', STATES, (r) => r.state);
  enumGauge('mlproxy_model_mode', 'Mode in force: 1 for the mode the model is in, 0 for the others.', 'mode', MODES, (r) => r.mode);
  enumGauge('mlproxy_model_mode_policy', 'Who moves the mode: auto (the policy) or manual (pinned by a write).', 'policy', POLICIES, (r) => r.policy);

  /**
   * A counter the engine keeps in Session.counters without an event for each change: at every scrape
   * the growth since the last scrape is added, so `_other` stays monotonic as models come and go.
   */
  function syncedCounter(name: string, help: string, value: (s: Session) => number) {
    const seen = new WeakMap<Session, number>();
    const metric: Counter<string> = new Counter({
      name,
      help,
      labelNames: ['model'],
      registers,
      collect() {
        for (const name of models.names()) {
          const session = models.get(name);
          if (!session) continue;
          const now = value(session);
          const before = seen.get(session) ?? 0;
          seen.set(session, now);
          metric.inc(labels.series(name, metric), Math.max(0, now - before));
        }
      },
    });
  }
  syncedCounter(
    'mlproxy_samples_dropped_total',
    'Samples pushed out of the buffer by newer ones, a smaller buffer or a width change.',
    (s) => s.counters.samples_dropped,
  );
  syncedCounter('mlproxy_samples_rejected_total', 'Samples in refused dataset batches, including the bad one.', (s) => s.counters.samples_rejected);
  syncedCounter(
    'mlproxy_samples_corrected_total',
    'Corrections received in feedback lines, which became training samples.',
    (s) => s.counters.samples_corrected,
  );
  syncedCounter('mlproxy_inferences_in_emergency_total', 'Queries answered while the model was in emergency mode.', (s) => s.counters.inferences_in_emergency);
}

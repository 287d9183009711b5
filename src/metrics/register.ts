// Owns the metrics registry of one server: its own prom-client Registry, Node's default metrics, build info, model counts, and the families of the other files.
import { Counter, Gauge, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import { listen, type Bus, type EventName } from '../events.js';
import type { Session } from '../engine/session/session.js';
import type { Logger } from '../log.js';
import { ABI_VERSION } from '../protocol.js';
import { VERSION } from '../version.js';
import { fuseMetrics } from './fuse.js';
import { DEFAULT_MODEL_CAP, ModelLabels, type ModelSource } from './labels.js';
import { modelEventMetrics } from './model-events.js';
import { modelScrapeMetrics } from './model-gauges.js';

const GAUGES_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface MetricsOptions {
  /** Models that get their own `model` label; the rest share `model="_other"`. */
  modelCap?: number;
  log?: Logger;
}

/** Build the registry and subscribe its families to the bus. Never touches prom-client's global registry. */
export function createMetrics(bus: Bus, models: ModelSource<Session>, opts: MetricsOptions = {}): PromRegistry {
  const registry = new PromRegistry();
  const registers = [registry];
  const labels = new ModelLabels(opts.modelCap ?? DEFAULT_MODEL_CAP);
  const reported = new Set<string>();
  const onError = (event: EventName, err: unknown) => {
    // A metrics bug must not flood the log: say it once per event kind.
    if (reported.has(event)) return;
    reported.add(event);
    opts.log?.('error', 'metrics listener failed', { event, error: String((err as Error)?.stack ?? err) });
  };

  collectDefaultMetrics({ register: registry });
  // prom-client also exports these totals of the per-type gauges it keeps (nodejs_active_handles{type} …) as
  // gauges named *_total, which the exposition conventions reserve for counters; sum by type instead.
  for (const name of GAUGES_NAMED_TOTAL) registry.removeSingleMetric(name);
  new Gauge({
    name: 'mlproxy_build_info',
    help: 'Always 1; the labels say which mlproxy and protocol ABI version is running.',
    labelNames: ['version', 'abi'],
    registers,
  }).set({ version: VERSION, abi: String(ABI_VERSION) }, 1);

  new Gauge({
    name: 'mlproxy_models',
    help: 'Model sessions that exist.',
    registers,
    collect() {
      this.set(models.names().length);
    },
  });
  const created = new Counter({ name: 'mlproxy_models_created_total', help: 'Model sessions created (mkdir).', registers });
  const destroyed = new Counter({ name: 'mlproxy_models_destroyed_total', help: 'Model sessions destroyed (rmdir or server stop).', registers });
  new Gauge({
    name: 'mlproxy_metrics_model_label_limit',
    help: 'Models that get a model label of their own (MLPROXY_METRICS_MODEL_CAP); later ones share model="_other".',
    registers,
  }).set(labels.cap);
  new Gauge({
    name: 'mlproxy_metrics_aggregated_models',
    help: 'Models that exist and are counted under model="_other".',
    registers,
    collect() {
      this.set(labels.aggregated);
    },
  });

  modelEventMetrics(registry, bus, models, labels, onError);
  modelScrapeMetrics(registry, models, labels);
  fuseMetrics(registry, bus, (err) => onError('fs_op', err));

  listen(
    bus,
    'model_created',
    () => created.inc(),
    (err) => onError('model_created', err),
  );
  listen(
    bus,
    'model_destroyed',
    (e) => {
      destroyed.inc();
      labels.release(e.model);
    },
    (err) => onError('model_destroyed', err),
  );
  return registry;
}

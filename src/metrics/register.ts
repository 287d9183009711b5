// Owns the Prometheus metric families: counters fed by bus events, gauges read at scrape time.
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import { listen, type Bus } from '../events.js';
import type { Registry } from '../engine/registry.js';
import { VERSION } from '../version.js';

export function createMetrics(bus: Bus, models: Registry): PromRegistry {
  const registry = new PromRegistry();
  collectDefaultMetrics({ register: registry });

  new Gauge({ name: 'mlproxy_build_info', help: 'Build information; always 1.', labelNames: ['version'], registers: [registry] }).set({ version: VERSION }, 1);

  const samples = new Counter({ name: 'mlproxy_samples_ingested_total', help: 'Training samples stored in a model buffer.', labelNames: ['model'], registers: [registry] });
  const fsOps = new Counter({ name: 'mlproxy_fuse_requests_total', help: 'FUSE requests answered, by operation and errno (0 = success).', labelNames: ['op', 'errno'], registers: [registry] });
  const fsLatency = new Histogram({
    name: 'mlproxy_fuse_request_duration_seconds',
    help: 'Time to answer a FUSE request in the server.',
    labelNames: ['op'],
    buckets: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 1],
    registers: [registry],
  });

  listen(bus, 'samples_ingested', (e) => samples.inc({ model: e.model }, e.accepted));
  listen(bus, 'fs_op', (e) => {
    fsOps.inc({ op: e.op, errno: String(e.errno) });
    fsLatency.observe({ op: e.op }, e.seconds);
  });

  new Gauge({
    name: 'mlproxy_models',
    help: 'Model sessions that exist.',
    registers: [registry],
    collect() {
      this.set(models.names().length);
    },
  });
  return registry;
}

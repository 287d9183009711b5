// Owns the /metrics HTTP endpoint: where it listens, and answering scrapes from this server's own registry.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bus } from '../events.js';
import type { Registry } from '../engine/registry.js';
import type { Logger } from '../log.js';
import { createMetrics } from './register.js';
import { parseModelCap } from './labels.js';

/** Parse `host:port` (IPv6 as `[::1]:9464`); port 0 picks a free one. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!m || Number(m[3]) > 65535) throw new Error(`--metrics-listen: "${text}" is not host:port or off`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** Serve /metrics on `listenOn`; MLPROXY_METRICS_MODEL_CAP sets how many models get their own label. */
export async function startMetrics(listenOn: string, bus: Bus, models: Registry, log: Logger) {
  const { host, port } = parseListen(listenOn);
  const registry = createMetrics(bus, models, { modelCap: parseModelCap(process.env.MLPROXY_METRICS_MODEL_CAP), log });
  const server = createServer((req, res) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('mlproxy serves /metrics only\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => {
        log('error', 'metrics collection failed', { error: err.message });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const address = `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// Owns the per-FUSE-operation families: requests, errors by errno name, and how long the server took to answer.
import { constants } from 'node:os';
import { Counter, type Registry as PromRegistry } from 'prom-client';
import { listen, type Bus } from '../events.js';
import { TallyCounter, TallyHistogram } from './tally.js';

/** Answers come from memory in microseconds; the upper buckets catch a blocked event loop. */
const FUSE_BUCKETS = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.5, 1];

const ERRNO_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);

/** `2` -> `ENOENT`; an errno the platform does not name keeps its number. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? String(Math.abs(errno));
}

export function fuseMetrics(registry: PromRegistry, bus: Bus, onError: (err: unknown) => void): void {
  const registers = [registry];
  // Requests and their durations move on every request, so they are tallies (tally.ts); errors are rare.
  const requests = new TallyCounter('mlproxy_fuse_requests_total', 'FUSE requests answered, by operation.', ['op'], registry);
  const errors = new Counter({
    name: 'mlproxy_fuse_errors_total',
    help: 'FUSE requests answered with an error, by operation and errno name.',
    labelNames: ['op', 'errno'],
    registers,
  });
  const seconds = new TallyHistogram(
    'mlproxy_fuse_request_duration_seconds',
    'Time the server took to answer a FUSE request, from callback to reply (excludes time queued behind the event loop).',
    ['op'],
    FUSE_BUCKETS,
    registry,
  );
  // One label object per op, reused: this listener runs for every request.
  const byOp = new Map<string, { op: string }>();
  listen(
    bus,
    'fs_op',
    (e) => {
      let labels = byOp.get(e.op);
      if (!labels) byOp.set(e.op, (labels = { op: e.op }));
      requests.inc(labels);
      seconds.observe(labels, e.seconds);
      if (e.errno !== 0) errors.inc({ op: e.op, errno: errnoName(e.errno) });
    },
    onError,
  );
}

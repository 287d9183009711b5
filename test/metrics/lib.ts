// Test helpers for the metrics tests: scrape and parse /metrics, read docs/metrics.md's table, and drive a model
// through every path the metrics count.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, io, parseStats, waitFor, type Server } from '../helpers/server.js';

export async function scrape(address: string | undefined): Promise<string> {
  if (!address) throw new Error('the server has no metrics address');
  const res = await fetch(`http://${address}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** Metric families in an exposition: name -> type, from the `# TYPE` lines. */
export function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sample lines of an exposition (label values here never hold `"` or `,`). */
export function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of one sample, or undefined; `labels` must match exactly on the keys given. */
export function valueOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return samples(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** Every name a PromQL selector may use for the families: histograms and summaries add their series suffixes. */
export function seriesNames(fams: Map<string, string>): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of fams) {
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

export interface DocRow {
  name: string;
  type: string;
  labels: string[];
}

/** The rows of docs/metrics.md's tables: | `name` | type | labels | unit | meaning |. */
export async function docRows(): Promise<DocRow[]> {
  const doc = await readFile(join(ROOT, 'docs/metrics.md'), 'utf8');
  return [...doc.matchAll(/^\| `([a-z_:][a-z0-9_:]*)` \| (\w+) \| ([^|]*) \|/gm)].map((m) => ({
    name: m[1],
    type: m[2],
    labels: [...m[3].matchAll(/`([a-z_]+)`/g)].map((l) => l[1]),
  }));
}

export const MODEL_SETUP = 'inputs=2\noutputs=1\nhidden=4\nbatch_size=8\nbuffer_capacity=1000\nscale=1\n';

/** Samples of y = x1 + x2, one per line. */
export function dataset(n: number): string {
  let text = '';
  for (let i = 0; i < n; i++) text += `${(i % 10) / 10} ${Math.floor(i / 10) / 10} ${(i % 10) / 10 + Math.floor(i / 10) / 10}\n`;
  return text;
}

/**
 * Drive one model through every path the metrics count: config and commit, verbs (one refused), a
 * dataset batch and a refused one, recommendations, feedback of every source with a correction,
 * a pinned mode and a training round. Returns what was written; what the engine made of it is in the
 * model's stats file, which the tests compare the metrics with.
 */
export async function driveModel(s: Server, name: string, samplesN = 200) {
  const dir = `${s.mnt}/models/${name}`;
  const ok = async (what: Promise<string>, label: string) => {
    const r = await what;
    if (!r.startsWith('ok')) throw new Error(`${label} in ${name}: ${r}`);
    return r;
  };
  await ok(io('mkdir', dir), 'mkdir');
  await ok(io('write', `${dir}/config`, MODEL_SETUP), 'config');
  for (const verb of ['commit', 'init', 'start']) await ok(io('write', `${dir}/control`, verb), verb);
  if ((await io('write', `${dir}/control`, 'init')) !== 'err EINVAL') throw new Error('init in started should be refused');
  const w = await s.sh(`cat > models/${name}/dataset`, { input: dataset(samplesN) });
  if (w.code !== 0) throw new Error(`dataset write failed: ${w.stderr}`);
  if ((await io('write', `${dir}/dataset`, '1 2 3\n1 2\n')) !== 'err EINVAL') throw new Error('a bad batch should be refused');
  await ok(io('txn', `${dir}/recommendation`, '0.1 0.2\n0.3 0.4\n'), 'recommendation');
  await ok(io('txn', `${dir}/recommendation`, '0.5 0.5\n'), 'recommendation');
  await ok(io('write', `${dir}/feedback`, 'ml 900\nml 800 1.0\ndefault 700\n'), 'feedback');
  await ok(io('write', `${dir}/feedback`, 'critical\nfallback 3\n'), 'feedback');
  await ok(io('write', `${dir}/mode`, 'learning'), 'mode');
  await waitFor(async () => Number((await stats(s, name)).train_rounds) > 0, 60000, `a training round of ${name}`);
  return { samples: samplesN, queries: 3, writes: 2, ml: 2, default: 1, critical: 1, fallbacks: 3, efficiencyMl: 1700 };
}

/** A model's stats file, as numbers where they are numbers. */
export async function stats(s: Server, name: string): Promise<Record<string, string>> {
  return parseStats((await s.sh(`cat models/${name}/stats`)).stdout);
}

// Owns the counter and histogram families that move on every FUSE request: plain numbers per label set on the
// request path, put into prom-client's exposition form only when Prometheus scrapes.
import type { Registry as PromRegistry } from 'prom-client';
import type { Labels, Removable } from './labels.js';

/**
 * Why not prom-client's own Counter and Histogram here: every `inc` or `observe` of theirs validates the labels,
 * builds a string key from them and (histograms) indexes the buckets by their bounds as property names. In-process,
 * the metrics of one recommendation transaction (two FUSE requests and one inference) took about 5 of its 11 µs of
 * JavaScript that way (ceilings-passes.md, "Eleventh pass"). A tally looks its series up by the label object itself
 * (callers reuse one object per series: ModelLabels.series, fuse.ts's per-op labels) and adds to numbers.
 */
interface Series {
  readonly labels: Labels;
  /** Dropped by remove(): a label object still mapped to it looks its series up afresh. */
  removed: boolean;
}

interface CounterSeries extends Series {
  value: number;
}

interface HistogramSeries extends Series {
  /** Observations per bucket (not cumulative); an observation above every bound is in `count` only. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** One exported sample, in the form prom-client's Registry formats (`sharedLabels` print after `labels`). */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Labels;
  metricName?: string;
}

abstract class Tally<S extends Series> implements Removable {
  abstract readonly type: 'counter' | 'histogram';
  /** How prom-client's cluster aggregation would combine workers' values. */
  readonly aggregator = 'sum';
  private readonly byValues = new Map<string, S>();
  private readonly byObject = new WeakMap<Labels, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: PromRegistry,
  ) {
    // The Registry only reads name, help, type, aggregator and get() (and calls reset()); its typings list
    // prom-client's own classes, so this shape is handed over through the one cast.
    registry.registerMetric(this as unknown as Parameters<PromRegistry['registerMetric']>[0]);
  }

  protected abstract create(labels: Labels): S;

  protected series(labels: Labels): S {
    const known = this.byObject.get(labels);
    if (known && !known.removed) return known;
    const key = this.keyOf(labels);
    let s = this.byValues.get(key);
    if (!s) this.byValues.set(key, (s = this.create({ ...labels })));
    this.byObject.set(labels, s);
    return s;
  }

  private keyOf(labels: Labels): string {
    for (const name of Object.keys(labels)) {
      if (!this.labelNames.includes(name)) throw new Error(`${this.name}: no label named ${name}`);
    }
    return this.labelNames.map((n) => labels[n] ?? '').join('\0');
  }

  /** Forget one series (a destroyed model's). */
  remove(labels: Labels): void {
    const key = this.keyOf(labels);
    const s = this.byValues.get(key);
    if (s) s.removed = true;
    this.byValues.delete(key);
  }

  reset(): void {
    for (const s of this.byValues.values()) s.removed = true;
    this.byValues.clear();
  }

  protected abstract samples(s: S): Sample[];

  /** What the Registry formats: values in prom-client's shape. */
  async getForPromString(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    const values: Sample[] = [];
    for (const s of this.byValues.values()) values.push(...this.samples(s));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The same values with every label in `labels` (prom-client's get(), used by getMetricsAsJSON). */
  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, ...v }) => ({ ...v, labels: { ...v.labels, ...sharedLabels } }));
    return data;
  }
}

function checkedIncrement(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: a counter only goes up by a finite amount, not ${value}`);
  return value;
}

export class TallyCounter extends Tally<CounterSeries> {
  readonly type = 'counter';

  inc(labels: Labels, value = 1): void {
    const by = checkedIncrement(this.name, value); // before the lookup, so a refused value leaves no series behind
    this.series(labels).value += by;
  }

  protected create(labels: Labels): CounterSeries {
    return { labels, removed: false, value: 0 };
  }

  protected samples(s: CounterSeries): Sample[] {
    return [{ value: s.value, labels: s.labels }];
  }
}

export class TallyHistogram extends Tally<HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: Float64Array;

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[], registry: PromRegistry) {
    super(name, help, labelNames, registry);
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) throw new Error(`${name}: bucket bounds must be finite and increasing`);
    this.bounds = Float64Array.from(buckets);
  }

  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value)) throw new Error(`${this.name}: cannot observe ${value}`);
    const s = this.series(labels);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    if (i < bounds.length) s.buckets[i]++;
    s.sum += value;
    s.count++;
  }

  protected create(labels: Labels): HistogramSeries {
    return { labels, removed: false, buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
  }

  protected samples(s: HistogramSeries): Sample[] {
    const bucket = `${this.name}_bucket`;
    const out: Sample[] = [];
    let below = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      below += s.buckets[i];
      out.push({ value: below, labels: { le: this.bounds[i] }, sharedLabels: s.labels, metricName: bucket });
    }
    out.push(
      { value: s.count, labels: { le: '+Inf' }, sharedLabels: s.labels, metricName: bucket },
      { value: s.sum, labels: {}, sharedLabels: s.labels, metricName: `${this.name}_sum` },
      { value: s.count, labels: {}, sharedLabels: s.labels, metricName: `${this.name}_count` },
    );
    return out;
  }
}

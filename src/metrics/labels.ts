// Owns the `model` label: which models get series of their own (bounded by the cap), which share `_other`, and forgetting a model's series.

/** The label value that models beyond the cap share. Model names cannot start with `_`, so it never clashes. */
export const OTHER = '_other';

/** Models that get a `model` label of their own unless MLPROXY_METRICS_MODEL_CAP says otherwise. */
export const DEFAULT_MODEL_CAP = 64;

/** The largest cap accepted: the registry's own limit on models (src/engine/registry.ts MAX_MODELS). */
export const MAX_MODEL_CAP = 256;

export type Labels = Record<string, string>;

/** What forgetting a series needs from a prom-client metric. */
export interface Removable {
  remove(labels: Labels): void;
}

/** The models the metrics read at scrape time: the engine's Registry, read only. */
export interface ModelSource<S> {
  names(): string[];
  get(name: string): S | undefined;
}

/**
 * Assigns label values. A model gets its own label when it is first seen and fewer than `cap` models
 * hold one; otherwise it is counted under `_other` for its whole life, so no series ever changes
 * owner. A destroyed model frees its label slot for the next new model and its series are removed.
 */
export class ModelLabels {
  private readonly own = new Set<string>();
  private readonly shared = new Set<string>();
  /** label value -> metric -> label-set key -> the label object passed to prom-client (reused, never mutated). */
  private readonly tracked = new Map<string, Map<Removable, Map<string, Labels>>>();

  constructor(readonly cap: number) {}

  /** The label value for a model, assigning one on first sight. */
  label(model: string): string {
    if (this.own.has(model)) return model;
    if (this.shared.has(model)) return OTHER;
    if (this.own.size < this.cap) {
      this.own.add(model);
      return model;
    }
    this.shared.add(model);
    return OTHER;
  }

  /** Models currently counted under `_other`. */
  get aggregated(): number {
    return this.shared.size;
  }

  /** The label object for one series of `metric` for `model` (plus `extra` labels), remembered for removal. */
  series(model: string, metric: Removable, extra?: Labels): Labels {
    const value = this.label(model);
    let byMetric = this.tracked.get(value);
    if (!byMetric) this.tracked.set(value, (byMetric = new Map()));
    let byKey = byMetric.get(metric);
    if (!byKey) byMetric.set(metric, (byKey = new Map()));
    const key = extra ? Object.values(extra).join('\0') : '';
    let labels = byKey.get(key);
    if (!labels) byKey.set(key, (labels = { model: value, ...extra }));
    return labels;
  }

  /** A model was destroyed: remove its own series and free its slot. `_other` keeps what it counted. */
  release(model: string): void {
    if (this.shared.delete(model)) return;
    if (!this.own.delete(model)) return;
    for (const [metric, byKey] of this.tracked.get(model) ?? []) {
      for (const labels of byKey.values()) metric.remove(labels);
    }
    this.tracked.delete(model);
  }
}

/** Parse MLPROXY_METRICS_MODEL_CAP: a whole number 0..256; unset or empty means the default. */
export function parseModelCap(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_MODEL_CAP;
  if (!/^\d{1,3}$/.test(text) || Number(text) > MAX_MODEL_CAP) {
    throw new Error(`MLPROXY_METRICS_MODEL_CAP: "${text.slice(0, 32)}" is not a whole number 0..${MAX_MODEL_CAP}`);
  }
  return Number(text);
}

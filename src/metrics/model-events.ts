// Owns the per-model counters, histograms and summaries fed by bus events: ingest, training, inference, feedback, modes, rejects, verbs.
import { Counter, Histogram, Summary, type Registry as PromRegistry } from 'prom-client';
import { listen, type Bus, type EventName, type Events } from '../events.js';
import { FEEDBACK_SOURCES } from '../protocol.js';
import type { ModelLabels, ModelSource, Removable } from './labels.js';
import { TallyCounter, TallyHistogram } from './tally.js';

/** Recommendation writes are answered in microseconds; the top buckets catch a stalled one. */
const INFERENCE_BUCKETS = [5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1];
/** One training round runs up to 1024 samples through the worker. */
const ROUND_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Efficiency quantiles are over this sliding window; `_sum` and `_count` are cumulative. */
const EFFICIENCY_WINDOW_SECONDS = 300;

export function modelEventMetrics(
  registry: PromRegistry,
  bus: Bus,
  models: ModelSource<unknown>,
  labels: ModelLabels,
  onError: (event: EventName, err: unknown) => void,
): void {
  const registers = [registry];
  const byModel = ['model'] as const;
  const counter = (name: string, help: string, extra: string[] = []) => new Counter({ name, help, labelNames: [...byModel, ...extra], registers });

  const ingested = counter('mlproxy_samples_ingested_total', 'Training samples stored in the buffer: dataset batches and feedback corrections.');
  const ingestedBytes = counter('mlproxy_samples_ingested_bytes_total', 'Bytes written to dataset (or feedback) in batches that were stored.');
  const rejected = counter('mlproxy_input_rejected_total', 'Writes refused as malformed or not allowed, by file.', ['file']);
  const verbs = counter('mlproxy_verbs_total', 'Verbs written to control, by verb and result (ok or error).', ['verb', 'result']);
  const commits = counter('mlproxy_config_commits_total', 'Successful config commits.');
  const steps = counter('mlproxy_training_steps_total', 'Optimiser steps taken in published training rounds.');
  const rounds = counter('mlproxy_training_rounds_total', 'Training rounds whose weights were published.');
  const diverged = counter('mlproxy_training_divergences_total', 'Training rounds that diverged (non-finite loss) and were rolled back.');
  // Every recommendation transaction moves these two and the inference histogram, so they are tallies (tally.ts).
  const inferences = new TallyCounter('mlproxy_inferences_total', 'Queries answered (one per input line written to recommendation).', byModel, registry);
  const served = new TallyCounter(
    'mlproxy_recommendations_served_total',
    'Writes to recommendation that were answered (each may carry many queries).',
    byModel,
    registry,
  );
  const feedback = counter('mlproxy_feedback_total', 'Feedback lines received, by source (ml, default, critical, fallback).', ['source']);
  const fallbacks = counter('mlproxy_kernel_fallbacks_total', 'Times the kernel module ran its default on its own, as reported in fallback feedback lines.');
  const transitions = counter('mlproxy_mode_transitions_total', 'Mode changes, by the mode left and the mode entered.', ['from', 'to']);

  const roundSeconds = new Histogram({
    name: 'mlproxy_training_round_duration_seconds',
    help: 'Wall time of one published training round in the training worker.',
    labelNames: byModel,
    buckets: ROUND_BUCKETS,
    registers,
  });
  const inferenceSeconds = new TallyHistogram(
    'mlproxy_inference_duration_seconds',
    'Time to compute the answers to one recommendation write, in the server.',
    byModel,
    INFERENCE_BUCKETS,
    registry,
  );
  const efficiency = new Summary({
    name: 'mlproxy_feedback_efficiency',
    help: `Efficiency reported in ml and default feedback lines, in the unit the kernel uses; quantiles over the last ${EFFICIENCY_WINDOW_SECONDS} s.`,
    labelNames: ['model', 'source'],
    percentiles: [0.1, 0.5, 0.9],
    maxAgeSeconds: EFFICIENCY_WINDOW_SECONDS,
    ageBuckets: 5,
    registers,
  });

  /** Listen to a per-model event, ignoring any that arrive for a model that no longer exists. */
  function on<K extends Exclude<EventName, 'fs_op' | 'server'>>(name: K, handler: (e: Events[K]) => void): void {
    listen(
      bus,
      name,
      (e) => {
        if (models.get((e as { model: string }).model) !== undefined) handler(e);
      },
      (err) => onError(name, err),
    );
  }
  const one = (e: { model: string }, metric: Removable) => labels.series(e.model, metric);

  on('samples_ingested', (e) => {
    ingested.inc(one(e, ingested), e.accepted);
    ingestedBytes.inc(one(e, ingestedBytes), e.bytes);
  });
  on('input_rejected', (e) => rejected.inc(labels.series(e.model, rejected, { file: e.file })));
  on('verb', (e) => verbs.inc(labels.series(e.model, verbs, { verb: e.verb, result: e.ok ? 'ok' : 'error' })));
  on('config_committed', (e) => commits.inc(one(e, commits)));
  on('training_round', (e) => {
    steps.inc(one(e, steps), e.steps);
    rounds.inc(one(e, rounds));
    roundSeconds.observe(one(e, roundSeconds), e.seconds);
  });
  on('training_diverged', (e) => diverged.inc(one(e, diverged)));
  on('inference', (e) => {
    inferences.inc(one(e, inferences), e.count);
    served.inc(one(e, served));
    inferenceSeconds.observe(one(e, inferenceSeconds), e.seconds);
  });
  on('feedback', (e) => {
    feedback.inc(labels.series(e.model, feedback, { source: e.source }));
    if (e.source === 'fallback') {
      // The line carries a count, not an efficiency.
      if (Number.isFinite(e.efficiency) && e.efficiency > 0) fallbacks.inc(one(e, fallbacks), e.efficiency);
      return;
    }
    if ((e.source === 'ml' || e.source === 'default') && Number.isFinite(e.efficiency)) {
      efficiency.observe(labels.series(e.model, efficiency, { source: e.source }), e.efficiency);
    }
  });
  on('mode_changed', (e) => transitions.inc(labels.series(e.model, transitions, { from: e.from, to: e.to })));

  // A model's counters exist from its creation at 0, so rate() and increase() see its first increment too.
  // (Counters with more labels than `model` appear at their first increment, except feedback by source.)
  const startAtZero = [ingested, ingestedBytes, commits, steps, rounds, diverged, inferences, served, fallbacks];
  on('model_created', (e) => {
    for (const metric of startAtZero) metric.inc(one(e, metric), 0);
    for (const source of FEEDBACK_SOURCES) feedback.inc(labels.series(e.model, feedback, { source }), 0);
  });
}

// /metrics from a real server: valid for promtool, documented family by family in docs/metrics.md, the values
// match what was done, destroyed models leave no series, and the model-label cap aggregates under _other.
import t from 'tap';
import { spawn } from 'node:child_process';
import { register as globalRegister } from 'prom-client';
import { startServer, io } from '../helpers/server.js';
import { createBus } from '../../src/events.js';
import { createMetrics } from '../../src/metrics/register.js';
import { docRows, driveModel, families, samples, scrape, stats, valueOf } from './lib.js';

function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, output }));
    p.stdin.end(text);
  });
}

t.test('the exposition: promtool, docs/metrics.md, values', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const done = await driveModel(s, 'm');
  t.equal(await io('mkdir', `${s.mnt}/models/gone`), 'ok');
  t.equal(await io('rmdir', `${s.mnt}/models/gone`), 'ok');
  const text = await scrape(s.metricsAddress);

  const lint = await promtool(text);
  t.equal(lint.code, 0, 'promtool check metrics passes');
  t.equal(lint.output, '', 'with nothing to say');

  const fams = families(text);
  const rows = await docRows();
  const documented = new Map(rows.map((r) => [r.name, r]));
  t.equal(documented.size, rows.length, 'no metric is documented twice');
  for (const [name, type] of fams) {
    t.ok(documented.has(name), `${name} is in docs/metrics.md`);
    if (documented.has(name)) t.equal(documented.get(name)?.type, type, `${name} is documented as a ${type}`);
  }
  for (const name of documented.keys()) t.ok(fams.has(name), `documented ${name} is exported`);

  // Labels as documented: every sample carries exactly the family's documented labels.
  const familyOf = (sample: string) => (fams.has(sample) ? sample : [...fams.keys()].find((f) => ['_bucket', '_sum', '_count'].some((x) => sample === f + x)));
  const seen = new Set<string>();
  const labelProblems: string[] = [];
  for (const sm of samples(text)) {
    const fam = familyOf(sm.name);
    if (!fam) {
      labelProblems.push(`${sm.name} belongs to no family`);
      continue;
    }
    seen.add(fam);
    const names = Object.keys(sm.labels)
      .filter((l) => l !== 'le' && l !== 'quantile')
      .sort()
      .join(',');
    const want = [...(documented.get(fam)?.labels ?? [])].sort().join(',');
    if (names !== want && !labelProblems.some((p) => p.startsWith(fam + ':'))) labelProblems.push(`${fam}: labels ${names}, documented ${want}`);
  }
  t.same(labelProblems, [], 'every sample has the labels its row documents');
  const empty = [...fams.keys()].filter((f) => f.startsWith('mlproxy_') && !seen.has(f));
  t.same(empty, [], 'driving one model gives every mlproxy family a sample');

  // Values, straight from /metrics, against what was done and what the model's stats file says.
  const st = await stats(s, 'm');
  const n = (key: string) => Number(st[key]);
  const m = { model: 'm' };
  t.equal(valueOf(text, 'mlproxy_build_info', { abi: '1' }), 1, 'build info');
  t.equal(valueOf(text, 'mlproxy_models'), 1);
  t.equal(valueOf(text, 'mlproxy_models_created_total'), 2);
  t.equal(valueOf(text, 'mlproxy_models_destroyed_total'), 1);
  t.ok(n('samples_total') > done.samples, 'the batch and the correction were stored');
  t.equal(valueOf(text, 'mlproxy_samples_ingested_total', m), n('samples_total'), 'samples ingested = stats samples_total');
  t.equal(valueOf(text, 'mlproxy_samples_rejected_total', m), n('samples_rejected'), 'samples rejected = stats samples_rejected');
  t.ok(n('samples_rejected') > 0);
  t.equal(valueOf(text, 'mlproxy_samples_dropped_total', m), n('samples_dropped'));
  t.equal(valueOf(text, 'mlproxy_samples_corrected_total', m), n('samples_corrected'), 'corrections = stats samples_corrected');
  t.ok(n('samples_corrected') > 0);
  t.equal(valueOf(text, 'mlproxy_input_rejected_total', { model: 'm', file: 'dataset' }), 1, 'the refused dataset write');
  t.equal(valueOf(text, 'mlproxy_verbs_total', { model: 'm', verb: 'init', result: 'error' }), 1, 'the refused verb');
  t.equal(valueOf(text, 'mlproxy_verbs_total', { model: 'm', verb: 'start', result: 'ok' }), 1);
  t.equal(valueOf(text, 'mlproxy_config_commits_total', m), n('config_commits'));
  t.equal(valueOf(text, 'mlproxy_inferences_total', m), done.queries);
  t.equal(n('inferences'), done.queries);
  t.equal(valueOf(text, 'mlproxy_recommendations_served_total', m), done.writes);
  t.equal(valueOf(text, 'mlproxy_inference_duration_seconds_count', m), done.writes);
  t.equal(valueOf(text, 'mlproxy_inferences_in_emergency_total', m), n('inferences_in_emergency'), 'answered while still in emergency');
  t.equal(valueOf(text, 'mlproxy_feedback_total', { model: 'm', source: 'ml' }), done.ml);
  t.equal(valueOf(text, 'mlproxy_feedback_total', { model: 'm', source: 'default' }), done.default);
  t.equal(valueOf(text, 'mlproxy_feedback_total', { model: 'm', source: 'critical' }), done.critical);
  t.equal(valueOf(text, 'mlproxy_feedback_total', { model: 'm', source: 'fallback' }), 1, 'one fallback line');
  t.equal(valueOf(text, 'mlproxy_kernel_fallbacks_total', m), done.fallbacks, 'counted by its count');
  t.equal(n('kernel_fallbacks'), done.fallbacks);
  t.equal(valueOf(text, 'mlproxy_feedback_efficiency_sum', { model: 'm', source: 'ml' }), done.efficiencyMl);
  t.equal(valueOf(text, 'mlproxy_feedback_efficiency_count', { model: 'm', source: 'default' }), done.default);
  t.equal(valueOf(text, 'mlproxy_feedback_efficiency', { model: 'm', source: 'default', quantile: '0.5' }), 700);
  t.equal(valueOf(text, 'mlproxy_model_mode', { model: 'm', mode: st.mode }), 1, 'mode in force');
  t.equal(samples(text).filter((x) => x.name === 'mlproxy_model_mode' && x.labels.model === 'm' && x.value === 1).length, 1, 'and only one');
  t.equal(valueOf(text, 'mlproxy_model_mode_policy', { model: 'm', policy: st.mode_policy }), 1);
  t.equal(valueOf(text, 'mlproxy_mode_transitions_total', { model: 'm', from: 'emergency', to: 'learning' }), 1);
  t.equal(valueOf(text, 'mlproxy_model_apply_ratio', m), n('apply_permil') / 1000);
  t.equal(valueOf(text, 'mlproxy_model_state', { model: 'm', state: st.state }), 1);
  t.equal(valueOf(text, 'mlproxy_model_buffer_samples', m), n('samples_buffered'));
  t.equal(valueOf(text, 'mlproxy_model_buffer_capacity_samples', m), n('buffer_capacity'));
  t.equal(valueOf(text, 'mlproxy_model_buffer_fill_ratio', m), n('samples_buffered') / n('buffer_capacity'));
  t.equal(valueOf(text, 'mlproxy_model_buffer_bytes', m), n('buffer_bytes'));
  t.ok((valueOf(text, 'mlproxy_training_steps_total', m) ?? 0) > 0, 'training steps');
  t.ok(Number.isFinite(valueOf(text, 'mlproxy_model_loss', m)), 'a loss after a round');
  t.ok((valueOf(text, 'mlproxy_fuse_requests_total', { op: 'mkdir' }) ?? 0) >= 2, 'FUSE requests by op');
  t.ok((valueOf(text, 'mlproxy_fuse_errors_total', { op: 'write', errno: 'EINVAL' }) ?? 0) >= 1, 'errors by errno name');
  t.ok((valueOf(text, 'mlproxy_fuse_request_duration_seconds_count', { op: 'write' }) ?? 0) >= 1, 'FUSE latency');
  t.ok(valueOf(text, 'nodejs_eventloop_lag_seconds') !== undefined, 'event-loop lag');
  t.notMatch(text, /model="gone"/, 'the removed model left no series');
});

t.test('a destroyed model loses its series; the server keeps counting', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/a models/b');
  await s.sh('cat > models/a/dataset && cat models/a/dataset > models/b/dataset', { input: '1 1\n'.repeat(5) });
  let text = await scrape(s.metricsAddress);
  t.equal(valueOf(text, 'mlproxy_samples_ingested_total', { model: 'a' }), 5);
  t.equal(valueOf(text, 'mlproxy_model_mode', { model: 'a', mode: 'emergency' }), 1);
  await s.sh('rmdir models/a');
  text = await scrape(s.metricsAddress);
  t.notMatch(text, /model="a"/, 'no series of a');
  t.equal(valueOf(text, 'mlproxy_samples_ingested_total', { model: 'b' }), 5, 'b is untouched');
  t.equal(valueOf(text, 'mlproxy_models_destroyed_total'), 1);
  await s.sh('mkdir models/a');
  text = await scrape(s.metricsAddress);
  t.equal(valueOf(text, 'mlproxy_samples_ingested_total', { model: 'a' }), 0, 'a new a starts from zero');
  t.equal(valueOf(text, 'mlproxy_training_divergences_total', { model: 'a' }), 0, 'its counters exist from the start');
  t.equal(valueOf(text, 'mlproxy_feedback_total', { model: 'a', source: 'fallback' }), 0);
});

t.test('the model label cap: later models share model="_other"', async (t) => {
  const s = await startServer({ env: { MLPROXY_METRICS_MODEL_CAP: '2' } });
  t.teardown(() => s.stop());
  await s.sh('mkdir models/a models/b models/c models/d');
  await s.sh('for m in a b c; do printf "1 1\\n2 2\\n" > models/$m/dataset; done; printf "1 1\\n" > models/d/dataset');
  await s.sh('echo learning > models/c/mode');
  let text = await scrape(s.metricsAddress);
  const ingested = (model: string) => valueOf(text, 'mlproxy_samples_ingested_total', { model });
  t.equal(valueOf(text, 'mlproxy_metrics_model_label_limit'), 2);
  t.equal(ingested('a'), 2);
  t.equal(ingested('b'), 2);
  t.equal(ingested('_other'), 3, 'c and d summed');
  t.notMatch(text, /model="[cd]"/, 'c and d have no label of their own');
  t.equal(valueOf(text, 'mlproxy_metrics_aggregated_models'), 2);
  t.equal(valueOf(text, 'mlproxy_model_buffer_samples', { model: '_other' }), 3);
  t.equal(valueOf(text, 'mlproxy_model_mode', { model: '_other', mode: 'emergency' }), 1, '_other counts models per mode');
  t.equal(valueOf(text, 'mlproxy_model_mode', { model: '_other', mode: 'learning' }), 1);
  t.equal(valueOf(text, 'mlproxy_mode_transitions_total', { model: '_other', from: 'emergency', to: 'learning' }), 1);

  await s.sh('rmdir models/a models/c && mkdir models/e && printf "3 3\\n" > models/e/dataset');
  text = await scrape(s.metricsAddress);
  t.notMatch(text, /model="a"/, 'a is gone');
  t.equal(ingested('e'), 1, 'a new model takes the freed label');
  t.equal(ingested('_other'), 3, '_other keeps what c counted: counters never go back');
  t.equal(valueOf(text, 'mlproxy_metrics_aggregated_models'), 1, 'only d is aggregated now');
  t.equal(valueOf(text, 'mlproxy_model_buffer_samples', { model: '_other' }), 1, 'gauges sum the models that exist');
});

t.test('a bad MLPROXY_METRICS_MODEL_CAP stops the server from starting', async (t) => {
  await t.rejects(startServer({ env: { MLPROXY_METRICS_MODEL_CAP: 'lots' } }), /MLPROXY_METRICS_MODEL_CAP: "lots" is not a whole number/);
});

t.test('the endpoint serves GET and HEAD /metrics only', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const base = `http://${s.metricsAddress}`;
  const get = await fetch(`${base}/metrics`);
  t.equal(get.status, 200);
  t.match(get.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.equal((await fetch(`${base}/metrics`, { method: 'HEAD' })).status, 200);
  t.equal((await fetch(`${base}/`)).status, 404);
  t.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
  // Scrapes never stall the mount: a read of a model file answers while scrapes run back to back.
  await s.sh('mkdir models/m');
  const scrapes = Promise.all(Array.from({ length: 20 }, () => scrape(s.metricsAddress)));
  t.match(await io('read', `${s.mnt}/models/m/state`), /^ok created/);
  await scrapes;
});

t.test('every server gets its own registry; the global one stays empty', async (t) => {
  const models = { names: () => [], get: () => undefined };
  const a = createMetrics(createBus(), models);
  const b = createMetrics(createBus(), models, { modelCap: 0 });
  t.not(a, b);
  t.ok((await a.getMetricsAsJSON()).length > 0);
  t.match(await b.metrics(), /mlproxy_metrics_model_label_limit 0/);
  t.same(await globalRegister.getMetricsAsJSON(), [], 'nothing registered globally');
});

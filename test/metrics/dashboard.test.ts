// docs/grafana-dashboard.json: a Grafana JSON model on a Prometheus datasource variable, covering what operators
// watch, whose every PromQL expression names only metrics a real server exports.
import t from 'tap';
import { startServer } from '../helpers/server.js';
import { families, scrape, seriesNames } from './lib.js';
import { dashboardQueries, promqlMetricNames } from './promql.js';

t.test('the PromQL name parser', async (t) => {
  t.same(promqlMetricNames('histogram_quantile(0.99, sum by (le, op) (rate(a_bucket{op=~"read|write", x="f(y)"}[5m])))'), ['a_bucket']);
  t.same(promqlMetricNames('sum without (model) (b) / on(instance) group_left(version) c * 1e-3'), ['b', 'c']);
  t.same(promqlMetricNames('d{model=~"$model"} offset 5m or e[$__rate_interval] > bool 1 and nan'), ['d', 'e']);
  t.same(promqlMetricNames('label_replace(up, "dst", "$1", "src", "(.*)")'), ['up']);
});

t.test('the dashboard', async (t) => {
  const { dashboard, queries, variables } = await dashboardQueries();
  t.equal(dashboard.uid, 'mlproxy');
  const vars = (dashboard.templating as { list: { name: string; type: string; query: unknown }[] }).list;
  t.match(
    vars.find((v) => v.name === 'datasource'),
    { type: 'datasource', query: 'prometheus' },
    'a Prometheus datasource variable',
  );
  t.ok(
    vars.some((v) => v.name === 'model'),
    'a model variable',
  );

  const panels = dashboard.panels as { id: number; type: string; title: string; datasource?: { uid: string }; targets?: { datasource?: { uid: string } }[] }[];
  t.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
  for (const p of panels.filter((p) => p.type !== 'row')) {
    t.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}" uses the datasource variable`);
    for (const target of p.targets ?? []) t.equal(target.datasource?.uid, '${datasource}', `and so do its queries`);
  }

  // What the dashboard must show.
  const all = queries.map((q) => q.expr).join('\n');
  t.match(all, /rate\(mlproxy_samples_ingested_total/, 'per-model ingest rate');
  t.match(all, /mlproxy_model_loss/, 'loss');
  t.match(all, /mlproxy_feedback_efficiency_sum\{[^}]*source=~"ml\|default"/, 'efficiency, ml vs default');
  t.match(all, /mlproxy_model_mode\{/, 'mode over time');
  t.match(all, /histogram_quantile\(0\.5, sum by \(le, op\) \(rate\(mlproxy_fuse_request_duration_seconds_bucket/, 'FUSE latency p50');
  t.match(all, /histogram_quantile\(0\.99, sum by \(le, op\) \(rate\(mlproxy_fuse_request_duration_seconds_bucket/, 'FUSE latency p99');
  t.match(all, /nodejs_eventloop_lag_seconds/, 'event-loop lag');
  t.match(all, /mlproxy_kernel_fallbacks_total/, 'fallbacks');

  // Every name in every expression is a series a real server exports.
  const s = await startServer();
  t.teardown(() => s.stop());
  const exported = seriesNames(families(await scrape(s.metricsAddress)));
  for (const q of [...queries, ...variables]) {
    const names = promqlMetricNames(q.expr);
    t.ok(names.length > 0, `${q.where} selects a metric`);
    for (const name of names) t.ok(exported.has(name), `${q.where}: ${name} is exported`);
  }
});

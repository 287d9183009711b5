// A real Prometheus scrapes a real server while a model is driven through the mount: the values it stores match
// what was done, a removed model's series go stale, and every dashboard expression runs and returns data.
import t from 'tap';
import { startServer, waitFor, io } from '../helpers/server.js';
import { driveModel, stats } from './lib.js';
import { startPrometheus, type Prometheus } from './prometheus-server.js';
import { dashboardQueries, withVariables } from './promql.js';

/** Poll Prometheus until `expr` has a result that `check` accepts (one value per series). */
async function until(p: Prometheus, expr: string, check: (values: number[]) => boolean, what = expr, ms = 60000): Promise<number[]> {
  let last: number[] = [];
  try {
    return (await waitFor<number[] | false>(
      async () => {
        last = (await p.query(expr)).map((r) => Number(r.value[1]));
        return check(last) ? last : false;
      },
      ms,
      what,
    )) as number[];
  } catch (err) {
    throw new Error(`${(err as Error).message}; last result ${JSON.stringify(last)}\n${p.log()}`, { cause: err });
  }
}
const is = (want: number) => (v: number[]) => v.length === 1 && v[0] === want;

t.test('Prometheus scrapes what the mount did', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const p = await startPrometheus(s.metricsAddress as string);
  t.teardown(() => p.stop());

  await until(p, 'up{job="mlproxy"}', is(1), 'Prometheus to scrape mlproxy');
  t.pass('the target is up');

  // A model that goes away: its series end.
  t.equal(await io('mkdir', `${s.mnt}/models/gone`), 'ok');
  await s.sh('printf "1 1\\n2 2\\n" > models/gone/dataset');
  await until(p, 'mlproxy_samples_ingested_total{model="gone"}', is(2));
  t.equal(await io('rmdir', `${s.mnt}/models/gone`), 'ok');

  const done = await driveModel(s, 'm');
  const st = await stats(s, 'm');
  const checks: [string, number][] = [
    ['mlproxy_build_info', 1],
    ['mlproxy_models', 1],
    ['mlproxy_models_destroyed_total', 1],
    ['mlproxy_samples_ingested_total{model="m"}', Number(st.samples_total)],
    ['mlproxy_samples_rejected_total{model="m"}', Number(st.samples_rejected)],
    ['mlproxy_model_buffer_samples{model="m"}', Number(st.samples_buffered)],
    ['mlproxy_inferences_total{model="m"}', done.queries],
    ['mlproxy_recommendations_served_total{model="m"}', done.writes],
    ['mlproxy_feedback_total{model="m",source="ml"}', done.ml],
    ['mlproxy_feedback_total{model="m",source="default"}', done.default],
    ['mlproxy_feedback_efficiency_sum{model="m",source="ml"}', done.efficiencyMl],
    ['mlproxy_kernel_fallbacks_total{model="m"}', done.fallbacks],
    ['mlproxy_model_mode{model="m",mode="learning"}', 1],
    ['mlproxy_model_mode{model="m",mode="emergency"}', 0],
    ['mlproxy_mode_transitions_total{model="m",from="emergency",to="learning"}', 1],
    ['mlproxy_model_state{model="m",state="started"}', 1],
  ];
  for (const [expr, want] of checks) {
    await until(p, expr, is(want));
    t.pass(`${expr} == ${want}`);
  }
  await until(p, 'sum(mlproxy_fuse_requests_total{op="mkdir"})', (v) => v[0] >= 2);
  await until(p, 'mlproxy_model_loss{model="m"}', (v) => v.length === 1 && Number.isFinite(v[0]));
  await until(p, 'nodejs_eventloop_lag_seconds', (v) => v.length === 1 && v[0] >= 0);
  t.pass('FUSE requests, loss and event-loop lag are stored');

  // Training goes on for a while after the last sample; once it idles, Prometheus has every step.
  await waitFor(
    async () => {
      const steps = Number((await stats(s, 'm')).train_steps);
      const stored = (await p.query('mlproxy_training_steps_total{model="m"}')).map((r) => Number(r.value[1]));
      return steps > 0 && stored.length === 1 && stored[0] === steps;
    },
    120000,
    'Prometheus to hold the steps the stats file counts',
  );
  t.pass('training steps match the stats file');

  await until(p, 'count(mlproxy_samples_ingested_total{model="gone"})', (v) => v.length === 0, 'the removed model to go stale');
  t.pass('the removed model has no current series');

  // Every dashboard expression is valid PromQL and, after this much activity, shows something.
  const { queries, variables } = await dashboardQueries();
  for (const q of [...queries, ...variables]) {
    const expr = withVariables(q.expr);
    await until(p, expr, (v) => v.length > 0, `${q.where}: ${expr}`);
    t.pass(`${q.where} returns data`);
  }
});

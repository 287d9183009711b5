// The request-path tallies (src/metrics/tally.ts) against prom-client's own Counter and Histogram: the same
// exposition text for the same observations, series forgotten on remove, and bad input refused.
import t from 'tap';
import { Counter, Histogram, Registry } from 'prom-client';
import { TallyCounter, TallyHistogram } from '../../src/metrics/tally.js';
import { xorshift32 } from '../helpers/prng.js';

const BUCKETS = [1e-5, 2.5e-5, 5e-5, 1e-4, 1e-3, 0.5];

/** The same family twice, one per registry: prom-client's and a tally. */
function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  return {
    theirs,
    ours,
    counters: [
      new Counter({ name: 'c_total', help: 'c', labelNames: ['op', 'model'], registers: [theirs] }),
      new TallyCounter('c_total', 'c', ['op', 'model'], ours),
    ],
    histograms: [
      new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['op'], buckets: BUCKETS, registers: [theirs] }),
      new TallyHistogram('h_seconds', 'h', ['op'], BUCKETS, ours),
    ],
  } as const;
}

t.test('the same exposition as prom-client for the same observations', async (t) => {
  const { theirs, ours, counters, histograms } = pair();
  const next = xorshift32(77);
  const ops = [{ op: 'read' }, { op: 'write' }, { op: 'getattr' }];
  const both = [
    { op: 'read', model: 'a' },
    { op: 'write', model: 'b' },
  ];
  for (let i = 0; i < 5000; i++) {
    const r = next();
    // Values on the bounds themselves, between them and beyond the last: `le` is inclusive.
    const value = r % 7 === 0 ? BUCKETS[r % BUCKETS.length] : (r % 1000) * 1e-6 * (r % 3 === 0 ? 1000 : 1);
    const labels = ops[r % ops.length];
    for (const h of histograms) h.observe(labels, value);
    const cl = both[r % both.length];
    for (const c of counters) c.inc(cl, r % 5);
  }
  // A fresh but equal label object lands in the same series.
  for (const c of counters) c.inc({ op: 'read', model: 'a' });
  const roundedSums = (text: string) => text.replace(/(_sum\{[^}]*\}) (\S+)/g, (_, k: string, v: string) => `${k} ${Number(v).toPrecision(9)}`);
  t.equal(roundedSums(await ours.metrics()), roundedSums(await theirs.metrics()));
  const json = async (r: Registry) =>
    (await r.getMetricsAsJSON()).map((m) => ({
      ...m,
      values: m.values.map(({ value, labels, metricName }) => ({ labels, metricName, value: Math.round(value * 1e6) })),
    }));
  t.same(await json(ours), await json(theirs), 'getMetricsAsJSON too');
});

t.test('remove forgets a series; the same label object counts afresh afterwards', async (t) => {
  const registry = new Registry();
  const c = new TallyCounter('c_total', 'c', ['model'], registry);
  const h = new TallyHistogram('h_seconds', 'h', ['model'], [1], registry);
  const a = { model: 'a' };
  const b = { model: 'b' };
  c.inc(a, 3);
  c.inc(b, 2);
  h.observe(a, 0.5);
  c.remove({ model: 'a' });
  h.remove(a);
  let text = await registry.metrics();
  t.notMatch(text, /model="a"/, 'a has no series left');
  t.match(text, /c_total\{model="b"\} 2/);
  c.inc(a);
  text = await registry.metrics();
  t.match(text, /c_total\{model="a"\} 1\n/, 'a new series from 0, not the removed one');
  c.reset();
  t.notMatch(await registry.metrics(), /c_total\{/, 'reset forgets every series');
});

t.test('bad input is refused, as prom-client refuses it', async (t) => {
  const registry = new Registry();
  const c = new TallyCounter('c_total', 'c', ['op'], registry);
  const h = new TallyHistogram('h_seconds', 'h', ['op'], [1, 2], registry);
  t.throws(() => c.inc({ op: 'x' }, -1), /finite amount/);
  t.throws(() => c.inc({ op: 'x' }, Number.NaN), /finite amount/);
  t.throws(() => c.inc({ nope: 'x' }), /no label named nope/);
  t.throws(() => h.observe({ op: 'x' }, Number.POSITIVE_INFINITY), /cannot observe/);
  t.throws(() => new TallyHistogram('bad', 'b', [], [2, 1], new Registry()), /increasing/);
  t.throws(() => new TallyCounter('c_total', 'again', [], registry), /already been registered/, 'one family per name');
  t.notMatch(await registry.metrics(), /c_total\{|h_seconds_count\{/, 'nothing was counted');
});

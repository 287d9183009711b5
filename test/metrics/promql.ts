// Test helper: the metric names in a PromQL expression, and the expressions in docs/grafana-dashboard.json.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from '../helpers/server.js';

const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'atan2',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects. Label matchers, strings, range windows, grouping label
 * lists, Grafana variables, numbers, keywords and function or aggregation names are not metric names.
 */
export function promqlMetricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\w+/g, ' ');
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || PROMQL_KEYWORDS.has(m[1].toLowerCase())) continue;
    names.push(m[1]);
  }
  return names;
}

export interface DashboardQuery {
  where: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every PromQL expression in the dashboard: panel targets, and the metric of each label_values() variable. */
export async function dashboardQueries(): Promise<{ dashboard: Record<string, unknown>; queries: DashboardQuery[]; variables: DashboardQuery[] }> {
  const dashboard = JSON.parse(await readFile(join(ROOT, 'docs/grafana-dashboard.json'), 'utf8')) as Record<string, unknown>;
  const queries: DashboardQuery[] = [];
  const walk = (panels: Panel[] = []) => {
    for (const p of panels) {
      for (const target of p.targets ?? []) if (target.expr !== undefined) queries.push({ where: `panel "${p.title}"`, expr: target.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels as Panel[]);
  const variables: DashboardQuery[] = [];
  for (const v of (dashboard.templating as { list: { name: string; type: string; query: unknown }[] }).list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    const m = /^label_values\((.+),\s*([a-zA-Z_]\w*)\)$/.exec(q);
    if (!m) throw new Error(`variable ${v.name}: not label_values(selector, label): ${q}`);
    variables.push({ where: `variable $${v.name}`, expr: m[1] });
  }
  return { dashboard, queries, variables };
}

/** A dashboard expression as Prometheus runs it when the dashboard shows every server and model. */
export function withVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m').replace(/\$\{?(instance|model)\}?/g, '.+');
}

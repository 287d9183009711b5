// The rooms' rules, checked on the source: imports point one way (fs → engine → modes; metrics only from the
// wiring), and no module imports itself back through a cycle. docs/architecture.md draws the same picture.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = new URL('../src', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every module's relative imports (type-only ones too: they are dependencies of the design). */
const graph = new Map<string, string[]>();
for (const file of sources(SRC)) {
  const text = readFileSync(file, 'utf8');
  const deps = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g)].map((m) =>
    relative(SRC, resolve(dirname(file), m[1].replace(/\.js$/, '.ts'))),
  );
  graph.set(relative(SRC, file), deps);
}

const room = (path: string) => path.split('/')[0];

t.test('the source tree was read', (t) => {
  t.ok(graph.size > 40, `${graph.size} modules`);
  t.ok(graph.get('engine/session/session.ts')?.length, 'imports are found');
  t.end();
});

t.test('no import cycles', (t) => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
      return;
    }
    state.set(node, 'open');
    for (const dep of graph.get(node) ?? []) visit(dep, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  t.same(cycles, [], 'no module reaches itself');
  t.end();
});

t.test('imports point one way', (t) => {
  const forbidden: Record<string, string[]> = {
    engine: ['fs', 'metrics', 'tools', 'serve.ts', 'cli.ts'],
    modes: ['engine', 'fs', 'metrics', 'tools', 'serve.ts', 'cli.ts'],
    fs: ['metrics', 'tools', 'serve.ts', 'cli.ts'],
    metrics: ['fs', 'tools', 'cli.ts'],
    tools: ['fs', 'metrics', 'serve.ts'],
  };
  const wrong: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) if (forbidden[room(file)]?.includes(room(dep))) wrong.push(`${file} imports ${dep}`);
  }
  t.same(wrong, [], 'fs → engine → modes; metrics and tools stay out of the server core');
  t.end();
});

t.test('inside the engine, the rooms depend downwards only', (t) => {
  // session/ may use every other room; data/ and infer/ are leaves; store/ and train/ may use them.
  const allowed: Record<string, string[]> = {
    session: ['session', 'data', 'train', 'infer', 'store'],
    train: ['train', 'data', 'infer'],
    store: ['store', 'data', 'infer', 'session/config.ts'],
    data: ['data'],
    infer: ['infer'],
  };
  const wrong: string[] = [];
  for (const [file, deps] of graph) {
    if (!file.startsWith('engine/') || file.split('/').length < 3) continue;
    const from = file.split('/')[1];
    for (const dep of deps) {
      if (!dep.startsWith('engine/')) continue;
      const to = dep.split('/')[1];
      const ok = allowed[from]?.some((a) => a === to || dep === `engine/${a}`);
      if (!ok) wrong.push(`${file} imports ${dep}`);
    }
  }
  t.same(wrong, [], 'no room reaches up');
  t.end();
});

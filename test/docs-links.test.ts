// The manual's links hold: every relative link in README.md, docs/ and the benchmark reports kept in bench/results
// names a file that exists and, where it names a heading, a heading that exists (the anchors GitHub makes), so moving
// a section or renaming a plot cannot silently break a reference.
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manual = [
  'README.md',
  'src/engine/README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(root, 'bench', 'results'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `bench/results/${f}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, "-N" for the Nth repeat. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const text = heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = text
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const repeat = seen.get(base) ?? 0;
    seen.set(base, repeat + 1);
    anchors.add(repeat ? `${base}-${repeat}` : base);
  }
  return anchors;
}

t.test('heading anchors are made as GitHub makes them', async (t) => {
  const anchors = headingAnchors('# Use case: `seek` (2026-12-06)\n## Step 1\n```\n## not a heading\n```\n## Step 1\n### **What** [it](x.md) is\n');
  t.same([...anchors], ['use-case-seek-2026-12-06', 'step-1', 'step-1-1', 'what-it-is']);
});

t.test('every relative link in the manual resolves', async (t) => {
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    const anchors = anchorsOf.get(file) ?? headingAnchors(readFileSync(file, 'utf8'));
    anchorsOf.set(file, anchors);
    return anchors;
  };
  const broken: string[] = [];
  let checked = 0;
  let withAnchor = 0;
  for (const name of manual) {
    const file = join(root, name);
    let inFence = false;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.startsWith('```')) inFence = !inFence;
      if (inFence) continue;
      for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
        checked++;
        const [path, anchor] = target.split('#');
        const linked = path ? resolve(dirname(file), path) : file;
        if (!existsSync(linked)) broken.push(`${name}: ${target} (no ${relative(root, linked)})`);
        else if (anchor !== undefined && linked.endsWith('.md')) {
          withAnchor++;
          if (!anchorsIn(linked).has(anchor)) broken.push(`${name}: ${target} (no such heading)`);
        }
      }
    }
  }
  t.same(broken, [], 'no broken links');
  t.ok(checked > 100 && withAnchor > 40, `links checked: ${checked}, ${withAnchor} of them to a heading`);
});

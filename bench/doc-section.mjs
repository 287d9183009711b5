// Owns rewriting one "## Title" section of a markdown file in place, leaving every other section as it was,
// so a benchmark run alone can update its own numbers in docs/performance.md.
import { readFileSync, writeFileSync } from 'node:fs';

/** Replace the section headed `## ${title}` (up to the next `## ` heading) with `body`, or append it. */
export function replaceDocSection(file, title, body) {
  const text = readFileSync(file, 'utf8');
  const heading = `## ${title}\n`;
  const section = `${heading}\n${body.trim()}\n`;
  const start = text.indexOf(heading);
  if (start < 0) {
    writeFileSync(file, `${text.trimEnd()}\n\n${section}`);
    return;
  }
  const next = text.indexOf('\n## ', start + heading.length);
  writeFileSync(file, text.slice(0, start) + section + (next < 0 ? '' : text.slice(next)));
}

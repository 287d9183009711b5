// Owns the benchmarks' plots: plain SVG (a grouped horizontal bar chart, a line chart), no dependencies.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1'];

/**
 * Horizontal bars, one block per group, one bar per series per row, with a reference line at 1.
 * @param {{title: string, groups: {label: string, rows: [string, ...number[]][]}[], series: string[]}} spec
 */
export function barChart({ title, groups, series }) {
  const rowH = 12 * series.length + 8;
  const left = 150;
  const width = 640;
  const plotW = width - left - 60;
  const max = Math.max(1.5, ...groups.flatMap((g) => g.rows.flatMap((r) => r.slice(1).filter(Number.isFinite))));
  const x = (v) => left + (Math.min(v, max) / max) * plotW;
  let y = 40;
  const parts = [];
  for (const g of groups) {
    parts.push(`<text x="8" y="${y + 4}" font-weight="bold">${esc(g.label)}</text>`);
    y += 12;
    for (const [label, ...values] of g.rows) {
      parts.push(`<text x="${left - 6}" y="${y + rowH / 2}" text-anchor="end">${esc(label)}</text>`);
      values.forEach((v, i) => {
        const top = y + 4 + i * 12;
        if (!Number.isFinite(v)) return;
        parts.push(`<rect x="${left}" y="${top}" width="${(x(v) - left).toFixed(1)}" height="10" fill="${COLORS[i % COLORS.length]}"/>`);
        parts.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${top + 9}">${v.toFixed(2)}</text>`);
      });
      y += rowH;
    }
    y += 10;
  }
  const legend = series.map(
    (s, i) =>
      `<rect x="${left + i * 120}" y="${y}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${left + i * 120 + 14}" y="${y + 9}">${esc(s)}</text>`,
  );
  const height = y + 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="18" font-size="13">${esc(title)}</text>
<line x1="${x(1)}" y1="28" x2="${x(1)}" y2="${y - 6}" stroke="#555" stroke-dasharray="3,3"/>
<text x="${x(1) + 2}" y="34" fill="#555">1 = bare fuse-native</text>
${parts.join('\n')}
${legend.join('\n')}
</svg>
`;
}

/**
 * Lines over a shared x axis from 0, one per series, y from 0 to the largest value, with the axes' labels.
 * @param {{title: string, xLabel: string, yLabel: string, series: {name: string, points: [number, number][]}[]}} spec
 */
export function lineChart({ title, xLabel, yLabel, series }) {
  const [left, top, width, height] = [60, 36, 640, 320];
  const plotW = width - left - 20;
  const plotH = height - top - 60;
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map(([px]) => px));
  const maxY = Math.max(1e-9, ...all.map(([, py]) => py));
  const x = (v) => (left + (v / maxX) * plotW).toFixed(1);
  const y = (v) => (top + plotH - (v / maxY) * plotH).toFixed(1);
  const lines = series.map(
    (s, i) =>
      `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${s.points.map(([px, py]) => `${x(px)},${y(py)}`).join(' ')}"/>`,
  );
  const legend = series.map(
    (s, i) =>
      `<rect x="${left + i * 160}" y="${height - 18}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${left + i * 160 + 14}" y="${height - 9}">${esc(s.name)}</text>`,
  );
  const bottom = top + plotH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="18" font-size="13">${esc(title)}</text>
<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#555"/>
<line x1="${left}" y1="${bottom}" x2="${left + plotW}" y2="${bottom}" stroke="#555"/>
<text x="${left - 4}" y="${top + 4}" text-anchor="end">${maxY.toPrecision(3)}</text>
<text x="${left - 4}" y="${bottom}" text-anchor="end">0</text>
<text x="${left + plotW}" y="${bottom + 14}" text-anchor="end">${maxX}</text>
<text x="${left + plotW / 2}" y="${bottom + 28}" text-anchor="middle">${esc(xLabel)}</text>
<text x="12" y="${top + plotH / 2}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">${esc(yLabel)}</text>
${lines.join('\n')}
${legend.join('\n')}
</svg>
`;
}

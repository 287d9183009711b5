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

/** Round tick values from 0 to the first at or above `max`: about five, 1, 2 or 5 times a power of ten apart. */
export function linearTicks(max) {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const unit = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * unit).find((s) => s >= raw);
  const ticks = [0];
  for (let i = 1; ticks[ticks.length - 1] < max * (1 - 1e-9); i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Ticks for a log axis over [min, max]: 1, 2 and 5 times each power of ten inside it, the decades alone when those are many. */
export function logTicks(min, max) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(min)); 10 ** e <= max; e++)
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= min && v <= max) ticks.push(v);
    }
  return ticks.length > 8 ? ticks.filter((v) => Number.isInteger(Math.log10(v))) : ticks;
}

const label = (v) => (v >= 1e4 ? v.toLocaleString('en-US') : String(Number(v.toPrecision(3))));

/**
 * Lines over a shared x axis from 0, one per series, with ticks on both axes and the axes' labels. The y axis runs
 * from 0 to the largest value, or with `yLog` over whole decades around the values (for latencies, whose tails sit
 * a decade or two above their medians; values ≤ 0 are left out there).
 * @param {{title: string, xLabel: string, yLabel: string, yLog?: boolean, series: {name: string, points: [number, number][]}[]}} spec
 */
export function lineChart({ title, xLabel, yLabel, yLog = false, series }) {
  const [left, top, width, plotH] = [60, 36, 640, 224];
  const plotW = width - left - 20;
  const shown = series.map((s) => ({ ...s, points: s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py) && (!yLog || py > 0)) }));
  const all = shown.flatMap((s) => s.points);
  const xTickValues = linearTicks(Math.max(...all.map(([px]) => px), 0));
  const maxX = xTickValues[xTickValues.length - 1];
  const maxY = Math.max(1e-9, ...all.map(([, py]) => py));
  // A log axis spans whole decades, at least one, from the one holding the smallest value.
  const lowDecade = yLog ? Math.floor(Math.log10(Math.min(maxY, ...all.map(([, py]) => py)))) : 0;
  const minY = yLog ? 10 ** lowDecade : 0;
  const yTickValues = yLog ? logTicks(minY, 10 ** Math.max(lowDecade + 1, Math.ceil(Math.log10(maxY)))) : linearTicks(maxY);
  const topY = yTickValues[yTickValues.length - 1];
  const unitY = yLog ? (v) => (Math.log10(v) - Math.log10(minY)) / (Math.log10(topY) - Math.log10(minY)) : (v) => v / topY;
  const x = (v) => (left + (v / maxX) * plotW).toFixed(1);
  const y = (v) => (top + plotH - unitY(v) * plotH).toFixed(1);
  const bottom = top + plotH;
  const yTicks = yTickValues.map(
    (v) =>
      `<line x1="${left}" y1="${y(v)}" x2="${left + plotW}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 4}" y="${Number(y(v)) + 4}" text-anchor="end">${label(v)}</text>`,
  );
  const xTicks = xTickValues.map(
    (v) =>
      `<line x1="${x(v)}" y1="${bottom}" x2="${x(v)}" y2="${bottom + 4}" stroke="#555"/><text x="${x(v)}" y="${bottom + 14}" text-anchor="middle">${label(v)}</text>`,
  );
  const lines = shown.map(
    (s, i) =>
      `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${s.points.map(([px, py]) => `${x(px)},${y(py)}`).join(' ')}"/>`,
  );
  // The legend flows in rows under the plot, each entry as wide as its name (about 6 px a character at 11 px).
  const legend = [];
  let [lx, row] = [left, 0];
  shown.forEach((s, i) => {
    const w = 24 + 6.2 * s.name.length;
    if (lx > left && lx + w > width - 10) [lx, row] = [left, row + 1];
    const ly = bottom + 40 + row * 16;
    legend.push(
      `<rect x="${lx}" y="${ly}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${lx + 14}" y="${ly + 9}">${esc(s.name)}</text>`,
    );
    lx += w;
  });
  const svgHeight = bottom + 40 + (row + 1) * 16 + 4;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${svgHeight}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="18" font-size="13">${esc(title)}</text>
${yTicks.join('\n')}
${xTicks.join('\n')}
<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#555"/>
<line x1="${left}" y1="${bottom}" x2="${left + plotW}" y2="${bottom}" stroke="#555"/>
<text x="${left + plotW / 2}" y="${bottom + 28}" text-anchor="middle">${esc(xLabel)}</text>
<text x="12" y="${top + plotH / 2}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">${esc(yLabel)}${yLog ? ' (log scale)' : ''}</text>
${lines.join('\n')}
${legend.join('\n')}
</svg>
`;
}

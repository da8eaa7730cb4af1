/**
 * Minimal inline-SVG charts for the HTML report: no script, no external resource. Coordinates are
 * rounded to 0.1 px; every text is escaped.
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export type Marker = "circle" | "square" | "triangle" | "diamond" | "ring";

export interface LineSeries {
  name: string;
  color: string;
  dashed?: boolean;
  /** Plot against the right axis (dual-axis charts). */
  right?: boolean;
  /** A shape drawn at a few points of the line (and in its legend entry). */
  marker?: Marker;
  points: [number, number][];
}

export interface Axis {
  label: string;
  format: (v: number) => string;
  /** Fixed range; default from the data, starting at 0. */
  max?: number;
}

const W = 760;
/** Height of the plot area plus axes, without the legend. */
const H = 290;
const M = { left: 72, right: 72, top: 16, bottom: 50 };
const LEGEND_ROW = 18;
const r1 = (v: number) => Math.round(v * 10) / 10;

/** 0 and about five round ticks up to at least `max`. */
function ticks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(v);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

/**
 * Upper bound of the width of `text` at 12 px sans-serif: 0.62 em per character covers DejaVu Sans
 * and Liberation Sans for the ASCII this report prints (their widest common glyphs, "m" and "W",
 * are wider, but labels are mixed text; the headless-Chromium test measures the real boxes).
 */
export function textWidth(text: string, fontSize = 12): number {
  return text.length * fontSize * 0.62;
}

export interface LegendItem {
  name: string;
  color: string;
  dashed?: boolean;
  box?: boolean;
  marker?: Marker;
}

/** Legend entries laid out in rows that fit between the chart's margins: [row, x] per item. */
export function legendLayout(items: LegendItem[], width = W - 2 * 16): { row: number; x: number }[] {
  const out: { row: number; x: number }[] = [];
  let row = 0;
  let x = 0;
  for (const it of items) {
    const w = 24 + textWidth(it.name) + 16;
    if (x > 0 && x + w > width) {
      row++;
      x = 0;
    }
    out.push({ row, x });
    x += w;
  }
  return out;
}

function markerShape(m: Marker, x: number, y: number, color: string): string {
  switch (m) {
    case "circle":
      return `<circle cx="${r1(x)}" cy="${r1(y)}" r="3.5" fill="${color}"/>`;
    case "square":
      return `<rect x="${r1(x - 3.5)}" y="${r1(y - 3.5)}" width="7" height="7" fill="${color}"/>`;
    case "triangle":
      return `<path d="M${r1(x)} ${r1(y - 4.5)}L${r1(x + 4.5)} ${r1(y + 3.5)}L${r1(x - 4.5)} ${r1(y + 3.5)}Z" fill="${color}"/>`;
    case "ring":
      return `<circle cx="${r1(x)}" cy="${r1(y)}" r="4" fill="white" stroke="${color}" stroke-width="2"/>`;
    default:
      return `<path d="M${r1(x)} ${r1(y - 5)}L${r1(x + 5)} ${r1(y)}L${r1(x)} ${r1(y + 5)}L${r1(x - 5)} ${r1(y)}Z" fill="${color}"/>`;
  }
}

/** The legend below the plot, wrapped into rows; returns the SVG and the number of rows. */
function legend(items: LegendItem[], top: number): { svg: string; rows: number } {
  const left = 16;
  const layout = legendLayout(items);
  const svg = items
    .map((it, i) => {
      const x = left + layout[i].x;
      const y = top + layout[i].row * LEGEND_ROW;
      let mark = it.box
        ? `<rect x="${x}" y="${y - 8}" width="14" height="10" fill="${it.color}"/>`
        : `<line x1="${x}" y1="${y - 3}" x2="${x + 18}" y2="${y - 3}" stroke="${it.color}" stroke-width="2.5"${it.dashed ? ' stroke-dasharray="6 4"' : ""}/>`;
      if (it.marker !== undefined) mark += markerShape(it.marker, x + 9, y - 3, it.color);
      return `${mark}<text x="${x + 24}" y="${y}" font-size="12">${escapeHtml(it.name)}</text>`;
    })
    .join("");
  return { svg, rows: items.length === 0 ? 0 : layout[layout.length - 1].row + 1 };
}

/** The SVG element around `parts`, tall enough for the plot and `legendRows` rows of legend. */
function svgOf(parts: string[], legendRows: number): string {
  const h = H + 4 + legendRows * LEGEND_ROW + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" font-family="sans-serif" role="img">${parts.join("")}</svg>`;
}

/**
 * Series drawn exactly on top of an earlier one (same points, same axis): name → the earlier
 * series' name. Their legend entries say so, and their markers sit at other x positions, so a
 * model whose line coincides with another's stays visible.
 */
export function identicalSeries(series: LineSeries[]): Map<string, string> {
  const first = new Map<string, string>();
  const same = new Map<string, string>();
  for (const s of series) {
    const key = `${s.right ? "R" : "L"}${s.dashed ? "d" : "s"}${JSON.stringify(s.points)}`;
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, s.name);
    else same.set(s.name, earlier);
  }
  return same;
}

/** A line chart over x (left axis, optional right axis). */
export function lineChart(opts: { x: Axis; y: Axis; y2?: Axis; series: LineSeries[] }): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xs = opts.series.flatMap((s) => s.points.map((p) => p[0]));
  const xMax = Math.max(opts.x.max ?? 0, ...xs, 1e-9);
  const yMaxOf = (right: boolean, axis?: Axis) =>
    axis?.max ??
    Math.max(
      0,
      ...opts.series.filter((s) => Boolean(s.right) === right).flatMap((s) => s.points.map((p) => p[1])),
    );
  const yT = ticks(yMaxOf(false, opts.y));
  const y2T = opts.y2 ? ticks(yMaxOf(true, opts.y2)) : [];
  const yTop = yT[yT.length - 1] || 1;
  const y2Top = y2T[y2T.length - 1] || 1;
  const px = (x: number) => r1(M.left + (x / xMax) * pw);
  const py = (y: number, right = false) => r1(M.top + ph - (y / (right ? y2Top : yTop)) * ph);
  const xT = ticks(xMax).filter((v) => v <= xMax * 1.0001);
  const parts: string[] = [];
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="#fff" stroke="#bbb"/>`);
  for (const v of yT)
    parts.push(
      `<line x1="${M.left}" y1="${py(v)}" x2="${M.left + pw}" y2="${py(v)}" stroke="#eee"/><text x="${M.left - 6}" y="${py(v) + 4}" font-size="11" text-anchor="end">${escapeHtml(opts.y.format(v))}</text>`,
    );
  if (opts.y2)
    for (const v of y2T)
      parts.push(
        `<text x="${M.left + pw + 6}" y="${py(v, true) + 4}" font-size="11">${escapeHtml(opts.y2.format(v))}</text>`,
      );
  for (const v of xT)
    parts.push(
      `<line x1="${px(v)}" y1="${M.top + ph}" x2="${px(v)}" y2="${M.top + ph + 4}" stroke="#888"/><text x="${px(v)}" y="${M.top + ph + 16}" font-size="11" text-anchor="middle">${escapeHtml(opts.x.format(v))}</text>`,
    );
  parts.push(
    `<text x="${M.left + pw / 2}" y="${M.top + ph + 32}" font-size="12" text-anchor="middle">${escapeHtml(opts.x.label)}</text>`,
  );
  parts.push(
    `<text x="14" y="${M.top + ph / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${M.top + ph / 2})">${escapeHtml(opts.y.label)}</text>`,
  );
  if (opts.y2)
    parts.push(
      `<text x="${W - 14}" y="${M.top + ph / 2}" font-size="12" text-anchor="middle" transform="rotate(90 ${W - 14} ${M.top + ph / 2})">${escapeHtml(opts.y2.label)}</text>`,
    );
  const same = identicalSeries(opts.series);
  opts.series.forEach((s, si) => {
    if (s.points.length === 0) return;
    const d = s.points.map((p, i) => `${i === 0 ? "M" : "L"}${px(p[0])} ${py(p[1], s.right)}`).join("");
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}><title>${escapeHtml(s.name)}</title></path>`,
    );
    if (s.marker !== undefined) {
      // about 8 markers per line, shifted by the series' index so coinciding lines show each one
      const n = s.points.length;
      const count = Math.min(8, n);
      const shift = ((si % 4) + 1) / 5;
      for (let j = 0; j < count; j++) {
        const k = Math.min(n - 1, Math.round(((j + shift) / count) * (n - 1)));
        parts.push(markerShape(s.marker, px(s.points[k][0]), py(s.points[k][1], s.right), s.color));
      }
    }
  });
  const items = opts.series.map((s) => {
    const earlier = same.get(s.name);
    return { ...s, name: earlier === undefined ? s.name : `${s.name} (same as ${earlier})` };
  });
  const lg = legend(items, H + 10);
  parts.push(lg.svg);
  return svgOf(parts, lg.rows);
}

/** A grouped bar chart: one group per category, one bar per series. */
export function barChart(opts: {
  categories: string[];
  y: Axis;
  series: { name: string; color: string; values: number[] }[];
}): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const yT = ticks(Math.max(0, ...opts.series.flatMap((s) => s.values)));
  const yTop = yT[yT.length - 1] || 1;
  const py = (y: number) => r1(M.top + ph - (y / yTop) * ph);
  const groupW = pw / Math.max(1, opts.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, opts.series.length);
  const parts: string[] = [
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="#fff" stroke="#bbb"/>`,
  ];
  for (const v of yT)
    parts.push(
      `<line x1="${M.left}" y1="${py(v)}" x2="${M.left + pw}" y2="${py(v)}" stroke="#eee"/><text x="${M.left - 6}" y="${py(v) + 4}" font-size="11" text-anchor="end">${escapeHtml(opts.y.format(v))}</text>`,
    );
  opts.categories.forEach((cat, c) => {
    const gx = M.left + c * groupW + groupW * 0.1;
    opts.series.forEach((s, i) => {
      const v = s.values[c] ?? 0;
      const x = r1(gx + i * barW);
      parts.push(
        `<rect x="${x}" y="${py(v)}" width="${r1(Math.max(1, barW - 2))}" height="${r1(M.top + ph - py(v))}" fill="${s.color}"><title>${escapeHtml(`${s.name} ${cat}: ${opts.y.format(v)}`)}</title></rect>`,
      );
    });
    parts.push(
      `<text x="${r1(M.left + c * groupW + groupW / 2)}" y="${M.top + ph + 16}" font-size="11" text-anchor="middle">${escapeHtml(cat)}</text>`,
    );
  });
  parts.push(
    `<text x="14" y="${M.top + ph / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${M.top + ph / 2})">${escapeHtml(opts.y.label)}</text>`,
  );
  const lg = legend(
    opts.series.map((s) => ({ name: s.name, color: s.color, box: true })),
    H + 10,
  );
  parts.push(lg.svg);
  return svgOf(parts, lg.rows);
}

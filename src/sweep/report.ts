import { formatBytes, formatPercent } from "../compare/format.js";
import { modelColor } from "../compare/report.js";
import { type Axis, escapeHtml, type LineSeries, lineChart } from "../compare/svg.js";
import type { PointResult } from "./point.js";
import type { AxisValue, SweepSpec } from "./spec.js";

/** The compare columns a sweep report draws, each with how its values print. */
export const REPORT_COLUMNS: { key: keyof PointResult["columns"]; format: (v: number) => string }[] = [
  { key: "slabBytes", format: formatBytes },
  { key: "slabPageCount", format: (v) => String(Math.round(v)) },
  { key: "slabUtilization", format: formatPercent },
  { key: "kmemChargedBytes", format: formatBytes },
  { key: "memoryChargedBytes", format: formatBytes },
  { key: "dyingCgroupCount", format: (v) => String(Math.round(v * 10) / 10) },
  { key: "chargeFailureCount", format: (v) => String(Math.round(v * 10) / 10) },
  { key: "oomKillCount", format: (v) => String(Math.round(v * 10) / 10) },
];

const numeric = (values: AxisValue[]) => values.every((v) => typeof v === "number");

/**
 * The HTML report of a merged sweep: for each column and each axis X, one chart per value of a
 * second axis (small multiples; the first other axis), one line per model, x = the value of X
 * (its position when the axis is not numeric). Points that differ only on further axes (seeds…)
 * are averaged, and the chart says so. Self-contained: inline SVG, no script.
 */
export function renderSweepReport(spec: SweepSpec, results: PointResult[], title: string): string {
  const parts: string[] = [];
  const axes = spec.axes;
  parts.push(
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`,
    `<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-size:13px}svg{width:520px;height:219px}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${spec.pointCount} points: models ${spec.models.map(escapeHtml).join(", ")}; ${axes.map((a) => `${escapeHtml(a.name)} (${escapeHtml(a.path)}) ∈ {${a.values.map((v) => escapeHtml(String(v))).join(", ")}}`).join("; ")}. ${results.length} results.</p>`,
  );
  if (spec.description !== undefined) parts.push(`<p>${escapeHtml(spec.description)}</p>`);
  if (axes.length === 0) {
    parts.push("<p>No axis: nothing to draw against. See results.jsonl.</p></body></html>");
    return parts.join("\n");
  }
  for (const col of REPORT_COLUMNS) {
    parts.push(`<h2>${escapeHtml(col.key)}</h2>`);
    axes.forEach((xAxis, xi) => {
      const panelAxis = axes.find((_, i) => i !== xi);
      const averaged = axes.filter((a, i) => i !== xi && a !== panelAxis).map((a) => a.name);
      const panels: (AxisValue | null)[] = panelAxis === undefined ? [null] : panelAxis.values;
      const xs = numeric(xAxis.values) ? (xAxis.values as number[]) : xAxis.values.map((_, i) => i);
      for (const pv of panels) {
        const series: LineSeries[] = spec.models.map((model) => {
          const pts: [number, number][] = [];
          xAxis.values.forEach((xv, k) => {
            const hits = results.filter(
              (r) =>
                r.model === model &&
                r.coords[xAxis.name] === xv &&
                (panelAxis === undefined || r.coords[panelAxis.name] === pv),
            );
            if (hits.length === 0) return;
            const mean = hits.reduce((s, r) => s + (r.columns[col.key] as number), 0) / hits.length;
            pts.push([xs[k], mean]);
          });
          return { name: model, color: modelColor(model), points: pts };
        });
        const x: Axis = numeric(xAxis.values)
          ? { label: xAxis.name, format: (v) => String(v) }
          : { label: xAxis.name, format: (v) => String(xAxis.values[Math.round(v)] ?? "") };
        const y: Axis = { label: col.key, format: col.format };
        const caption =
          `${col.key} against ${xAxis.name}` +
          (panelAxis === undefined ? "" : `, ${panelAxis.name} = ${String(pv)}`) +
          (averaged.length > 0 ? ` (mean over ${averaged.join(", ")})` : "");
        parts.push(
          `<figure data-column="${escapeHtml(col.key)}" data-axis="${escapeHtml(xAxis.name)}">${lineChart({ x, y, series })}<figcaption>${escapeHtml(caption)}</figcaption></figure>`,
        );
      }
    });
  }
  parts.push("</body></html>");
  return parts.join("\n");
}

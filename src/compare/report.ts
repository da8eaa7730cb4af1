import type { CompareResult } from "./compare.js";
import { formatBytes, formatPercent } from "./format.js";
import type { ModelSeries } from "./series.js";
import { type Axis, barChart, escapeHtml, type LineSeries, lineChart } from "./svg.js";

const MODEL_COLORS: Record<string, string> = {
  "rfc-2012": "#7b3294",
  "v3.8": "#d95f02",
  "v4.5": "#1b9e77",
  "v5.9": "#2c7bb6",
  "v6.18": "#e7298a",
};
const MiB = 1024 * 1024;

/** The four figures of the report, in order; each is one `<figure data-figure="…">` with one SVG chart. */
export const REPORT_FIGURES = ["slab", "kmem", "dying", "failures"] as const;

/** The x axis: simulated time in a unit that suits its span, or the command index when the clock never moved. */
function xAxis(series: ModelSeries[]): { axis: Axis; x: (s: ModelSeries, k: number) => number } {
  const maxMs = Math.max(0, ...series.map((s) => s.clockMs[s.clockMs.length - 1] ?? 0));
  if (maxMs === 0)
    return {
      axis: { label: "commands executed", format: (v) => String(Math.round(v)) },
      x: (s, k) => s.commandIndex[k],
    };
  const units: [number, string][] = [
    [86_400_000, "days"],
    [3_600_000, "hours"],
    [60_000, "minutes"],
    [1000, "seconds"],
    [1, "ms"],
  ];
  const [div, name] = units.find(([d]) => maxMs / d >= 2) ?? [1, "ms"];
  return {
    axis: { label: `simulated time (${name})`, format: (v) => String(Math.round(v * 100) / 100) },
    x: (s, k) => s.clockMs[k] / div,
  };
}

function color(model: string): string {
  return MODEL_COLORS[model] ?? "#555";
}

function points(
  s: ModelSeries,
  col: number[],
  x: (s: ModelSeries, k: number) => number,
  scale = 1,
): [number, number][] {
  return col.map((v, k) => [x(s, k), v * scale]);
}

function figure(id: string, title: string, caption: string, svg: string): string {
  return `<figure data-figure="${id}"><h2>${escapeHtml(title)}</h2>${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/**
 * A self-contained HTML report of a comparison: the summary table, then one chart per figure
 * (`REPORT_FIGURES`): slab pages and utilization per model over time, kernel memory charged per
 * top-level cgroup at the end, dying cgroups over simulated time, charge failures and OOM kills.
 * Inline CSS and SVG only: no script, no network.
 */
export function renderReport(r: CompareResult, opts: { title?: string } = {}): string {
  const { axis, x } = xAxis(r.series);
  const title = `memcg-sim compare${opts.title ? `: ${opts.title}` : ""}`;

  const slabSeries: LineSeries[] = r.series.flatMap((s) => [
    { name: `${s.model} slab`, color: color(s.model), points: points(s, s.slabPageCount, x, 4096 / MiB) },
    {
      name: `${s.model} utilization`,
      color: color(s.model),
      dashed: true,
      right: true,
      points: points(s, s.slabUtilization, x, 100),
    },
  ]);
  const slab = lineChart({
    x: axis,
    y: { label: "slab memory (MiB)", format: (v) => String(Math.round(v * 10) / 10) },
    y2: { label: "slab utilization (%)", format: (v) => `${Math.round(v)}%`, max: 100 },
    series: slabSeries,
  });

  const cgroups = [...new Set(r.series.flatMap((s) => Object.keys(s.kmemChargedBytesByCgroup)))].sort();
  const last = (v: number[] | undefined) => (v === undefined || v.length === 0 ? 0 : v[v.length - 1]);
  const kmem = barChart({
    categories: cgroups.length > 0 ? cgroups : ["(none)"],
    y: { label: "kernel memory charged at the end (MiB)", format: (v) => String(Math.round(v * 10) / 10) },
    series: r.series.map((s) => ({
      name: s.model,
      color: color(s.model),
      values: cgroups.map((c) => last(s.kmemChargedBytesByCgroup[c]) / MiB),
    })),
  });

  const dying = lineChart({
    x: axis,
    y: { label: "dying cgroups", format: (v) => String(Math.round(v)) },
    series: r.series.map((s) => ({
      name: s.model,
      color: color(s.model),
      points: points(s, s.dyingCgroupCount, x),
    })),
  });

  const failures = lineChart({
    x: axis,
    y: { label: "count (cumulative)", format: (v) => String(Math.round(v)) },
    series: r.series.flatMap((s) => [
      {
        name: `${s.model} charge failures`,
        color: color(s.model),
        points: points(s, s.chargeFailureCount, x),
      },
      {
        name: `${s.model} OOM kills`,
        color: color(s.model),
        dashed: true,
        points: points(s, s.oomKillCount, x),
      },
    ]),
  });

  const rows = r.models
    .map(
      (m) =>
        `<tr><th>${escapeHtml(m.model)}</th><td>${formatBytes(m.slabBytes)}</td><td>${m.slabPageCount}</td><td>${formatPercent(m.slabUtilization)}</td><td>${formatBytes(m.kmemChargedBytes)}</td><td>${formatBytes(m.memoryChargedBytes)}</td><td>${m.dyingCgroupCount}</td><td>${m.chargeFailureCount}</td><td>${m.oomKillCount}</td></tr>`,
    )
    .join("");
  const notes = r.runs
    .flatMap((run) => [
      ...run.configAdjustments.map((a) => `${run.model}: config ${a}`),
      ...(run.commandErrorCount > 0
        ? [
            `${run.model}: ${run.commandErrorCount} of ${run.commandCount} commands refused (first: ${run.commandErrors[0].op} ${run.commandErrors[0].code}: ${run.commandErrors[0].detail})`,
          ]
        : []),
    ])
    .map((n) => `<li>${escapeHtml(n)}</li>`)
    .join("");

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:sans-serif;margin:2em auto;max-width:820px;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
thead th{background:#f3f3f3}tbody th{text-align:left}figure{margin:2em 0}figcaption{font-size:13px;color:#444}
h2{font-size:16px}p.desc{white-space:pre-wrap}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
${r.description !== undefined ? `<p class="desc">${escapeHtml(r.description.trim())}</p>` : ""}
<table><thead><tr><th>model</th><th>slab</th><th>slab pages</th><th>utilization</th><th>kmem charged</th><th>memory charged</th><th>dying cgroups</th><th>charge failures</th><th>OOM kills</th></tr></thead><tbody>${rows}</tbody></table>
${notes !== "" ? `<ul>${notes}</ul>` : ""}
${figure("slab", "Slab pages and utilization per model", "Solid: all slab memory in the system (left axis). Dashed: live object bytes / slab bytes (right axis).", slab)}
${figure("kmem", "Kernel memory charged per top-level cgroup", "The `kernel` statistic of each top-level cgroup (online and dying) at the end of the run.", kmem)}
${figure("dying", "Dying cgroups over simulated time", "Removed cgroups not yet released: pinned by a cache copy, charges or page cache.", dying)}
${figure("failures", "Charge failures and OOM kills", "Solid: failed memory and kmem charges, cumulative. Dashed: tasks killed by the OOM killer, cumulative.", failures)}
</body></html>
`;
}

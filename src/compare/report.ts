import type { CompareResult } from "./compare.js";
import { formatBytes, formatPercent } from "./format.js";
import type { ModelSeries } from "./series.js";
import { type Axis, barChart, escapeHtml, type LineSeries, lineChart, type Marker } from "./svg.js";

const MODEL_COLORS: Record<string, string> = {
  "rfc-2012": "#7b3294",
  "v3.8": "#d95f02",
  "v4.5": "#1b9e77",
  "v5.9": "#2c7bb6",
  "v6.18": "#e7298a",
};
/** One marker shape per model, so two models whose lines coincide both stay visible. */
const MODEL_MARKERS: Record<string, Marker> = {
  "rfc-2012": "circle",
  "v3.8": "square",
  "v4.5": "triangle",
  "v5.9": "diamond",
  "v6.18": "ring",
};

/** The binary unit that suits a largest value of `maxBytes` bytes (axes in B, KiB, MiB or GiB). */
export function byteUnit(maxBytes: number): { div: number; name: string } {
  const units: [number, string][] = [
    [1024 ** 3, "GiB"],
    [1024 ** 2, "MiB"],
    [1024, "KiB"],
  ];
  const [div, name] = units.find(([d]) => maxBytes / d >= 2) ?? [1, "B"];
  return { div, name };
}
const round1 = (v: number) => String(Math.round(v * 10) / 10);

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

/** A model's colour in every chart of the project (compare and sweep reports). */
export function modelColor(model: string): string {
  return MODEL_COLORS[model] ?? "#555";
}

function marker(model: string): Marker {
  return MODEL_MARKERS[model] ?? "circle";
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

/** A figure with nothing to draw: one sentence instead of an empty chart. */
function emptyFigure(id: string, title: string, text: string): string {
  return `<figure data-figure="${id}" data-empty="true"><h2>${escapeHtml(title)}</h2><p class="empty">${escapeHtml(text)}</p></figure>`;
}

/**
 * A self-contained HTML report of a comparison: the summary table, then one figure each
 * (`REPORT_FIGURES`): slab memory and utilization per model over time, kernel memory charged per
 * top-level cgroup at the end, dying cgroups over simulated time, charge failures and OOM kills.
 * A figure with nothing to draw (all zero) says so in a sentence instead of an empty chart.
 * Legends wrap to fit; coinciding lines are named "same as" and carry per-model markers.
 * Inline CSS and SVG only: no script, no network.
 */
export function renderReport(r: CompareResult, opts: { title?: string } = {}): string {
  const { axis, x } = xAxis(r.series);
  const title = `memcg-sim compare${opts.title ? `: ${opts.title}` : ""}`;

  const slabUnit = byteUnit(Math.max(0, ...r.series.flatMap((s) => s.slabPageCount)) * 4096);
  const slabSeries: LineSeries[] = r.series.flatMap((s) => [
    {
      name: `${s.model} slab memory`,
      color: modelColor(s.model),
      marker: marker(s.model),
      points: points(s, s.slabPageCount, x, 4096 / slabUnit.div),
    },
    {
      name: `${s.model} utilization`,
      color: modelColor(s.model),
      dashed: true,
      right: true,
      points: points(s, s.slabUtilization, x, 100),
    },
  ]);
  const slab = lineChart({
    x: axis,
    y: { label: `slab memory (${slabUnit.name})`, format: round1 },
    y2: { label: "slab utilization (%)", format: (v) => `${Math.round(v)}%`, max: 100 },
    series: slabSeries,
  });

  const last = (v: number[] | undefined) => (v === undefined || v.length === 0 ? 0 : v[v.length - 1]);
  const allCgroups = [...new Set(r.series.flatMap((s) => Object.keys(s.kmemChargedBytesByCgroup)))].sort();
  // a top-level cgroup with nothing charged under any model gets no empty bar group, only a mention
  const cgroups = allCgroups.filter((c) => r.series.some((s) => last(s.kmemChargedBytesByCgroup[c]) > 0));
  const zeroCgroups = allCgroups.filter((c) => !cgroups.includes(c));
  const kmemUnit = byteUnit(
    Math.max(0, ...r.series.flatMap((s) => cgroups.map((c) => last(s.kmemChargedBytesByCgroup[c])))),
  );
  const kmemTitle = "Kernel memory charged per top-level cgroup";
  const kmemFigure =
    cgroups.length === 0
      ? emptyFigure(
          "kmem",
          kmemTitle,
          "No kernel memory is charged to any top-level cgroup at the end, under any model.",
        )
      : figure(
          "kmem",
          kmemTitle,
          `The \`kernel\` statistic of each top-level cgroup (online and dying) at the end of the run.${zeroCgroups.length > 0 ? ` Nothing charged under any model: ${zeroCgroups.join(", ")}.` : ""}`,
          barChart({
            categories: cgroups,
            y: { label: `kernel memory charged at the end (${kmemUnit.name})`, format: round1 },
            series: r.series.map((s) => ({
              name: s.model,
              color: modelColor(s.model),
              values: cgroups.map((c) => last(s.kmemChargedBytesByCgroup[c]) / kmemUnit.div),
            })),
          }),
        );

  const dying = lineChart({
    x: axis,
    y: { label: "dying cgroups", format: (v) => String(Math.round(v)) },
    series: r.series.map((s) => ({
      name: s.model,
      color: modelColor(s.model),
      marker: marker(s.model),
      points: points(s, s.dyingCgroupCount, x),
    })),
  });

  const failureSeries: LineSeries[] = r.series.flatMap((s) => [
    {
      name: `${s.model} charge failures`,
      color: modelColor(s.model),
      marker: marker(s.model),
      points: points(s, s.chargeFailureCount, x),
    },
    {
      name: `${s.model} OOM kills`,
      color: modelColor(s.model),
      dashed: true,
      points: points(s, s.oomKillCount, x),
    },
  ]);
  const failuresTitle = "Charge failures and OOM kills";
  const failuresFigure = failureSeries.every((s) => s.points.every((p) => p[1] === 0))
    ? emptyFigure("failures", failuresTitle, "No charge failed and no task was OOM-killed under any model.")
    : figure(
        "failures",
        failuresTitle,
        "Solid: failed memory and kmem charges, cumulative. Dashed: tasks killed by the OOM killer, cumulative.",
        lineChart({
          x: axis,
          y: { label: "count (cumulative)", format: (v) => String(Math.round(v)) },
          series: failureSeries,
        }),
      );

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
h2{font-size:16px}p.desc{white-space:pre-wrap}p.empty{color:#444;font-style:italic}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
${r.description !== undefined ? `<p class="desc">${escapeHtml(r.description.trim())}</p>` : ""}
<table><thead><tr><th>model</th><th>slab</th><th>slab pages</th><th>utilization</th><th>kmem charged</th><th>memory charged</th><th>dying cgroups</th><th>charge failures</th><th>OOM kills</th></tr></thead><tbody>${rows}</tbody></table>
${notes !== "" ? `<ul>${notes}</ul>` : ""}
${figure("slab", "Slab memory and utilization per model", `Solid: all slab memory in the system, in ${slabUnit.name} (left axis; slab pages × 4 KiB). Dashed: live object bytes / slab bytes (right axis). A model whose line coincides with another's is named "same as" in the legend; its markers sit elsewhere on the line.`, slab)}
${kmemFigure}
${figure("dying", "Dying cgroups over simulated time", "Removed cgroups not yet released: pinned by a cache copy, charges or page cache.", dying)}
${failuresFigure}
</body></html>
`;
}

import { barChart, escapeHtml, type LineSeries, lineChart } from "../compare/svg.js";
import { COUNTERS } from "./replay.js";
import type { ReplayReport } from "./run.js";

const MODEL_COLORS: Record<string, string> = {
  "rfc-2012": "#7b3294",
  "v3.8": "#d95f02",
  "v4.5": "#1b9e77",
  "v5.9": "#2c7bb6",
};
const PALETTE = [
  "#2c7bb6",
  "#d95f02",
  "#1b9e77",
  "#7b3294",
  "#e7298a",
  "#66a61e",
  "#e6ab02",
  "#a6761d",
  "#666666",
  "#1f78b4",
];
const KiB = 1024;

function figure(id: string, title: string, caption: string, svg: string): string {
  return `<figure data-figure="${id}"><h2>${escapeHtml(title)}</h2>${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/**
 * The HTML report of a replay, in the style of `compare --report`: the table of real and predicted
 * deltas per model and cgroup, a bar chart of Δkmem (real next to each model), and per model the
 * live objects of the busiest caches along the trace.
 */
export function renderReplayReport(r: ReplayReport, source: string): string {
  const models = Object.keys(r.models);
  const cgroups = [...new Set(models.flatMap((m) => Object.keys(r.models[m].cgroups)))];
  const rows: string[] = [];
  for (const m of models)
    for (const cg of cgroups) {
      const v = r.models[m].cgroups[cg];
      if (v === undefined) continue;
      const cells = COUNTERS.map((k) => {
        const real = v.real?.[k];
        const err =
          real === undefined ? "" : ` (${v.predicted[k] - real >= 0 ? "+" : ""}${v.predicted[k] - real})`;
        return `<td>${real ?? "-"}</td><td>${v.predicted[k]}${err}</td>`;
      }).join("");
      rows.push(`<tr><th>${escapeHtml(m)}</th><th>${escapeHtml(cg)}</th>${cells}</tr>`);
    }
  const head = COUNTERS.map((k) => `<th>${escapeHtml(k)} real</th><th>predicted (error)</th>`).join("");
  const hasReal = cgroups.some((cg) => models.some((m) => r.models[m].cgroups[cg]?.real !== null));
  const kmem = barChart({
    categories: cgroups,
    y: { label: "Δ memory.kmem.usage_in_bytes (KiB)", format: (v) => String(Math.round(v)) },
    series: [
      ...(hasReal
        ? [
            {
              name: "real",
              color: "#222",
              values: cgroups.map(
                (cg) => (r.models[models[0]].cgroups[cg]?.real?.["memory.kmem.usage_in_bytes"] ?? 0) / KiB,
              ),
            },
          ]
        : []),
      ...models.map((m) => ({
        name: m,
        color: MODEL_COLORS[m] ?? "#888",
        values: cgroups.map(
          (cg) => (r.models[m].cgroups[cg]?.predicted["memory.kmem.usage_in_bytes"] ?? 0) / KiB,
        ),
      })),
    ],
  });
  const live = models
    .map((m) => {
      const s = r.models[m].series;
      if (s === undefined || s.lines.length === 0) return "";
      const top = Object.entries(s.liveObjects)
        .map(([name, v]) => [name, Math.max(0, ...v)] as const)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, 8);
      const series: LineSeries[] = top.map(([name], i) => ({
        name,
        color: PALETTE[i % PALETTE.length],
        points: s.lines.map((ln, k) => [ln, s.liveObjects[name][k] ?? 0] as [number, number]),
      }));
      return figure(
        `live-${m}`,
        `Live objects per cache along the trace (${m})`,
        "The eight caches with the most live objects at any point, sampled along the trace's lines.",
        lineChart({
          x: { label: "trace line", format: (v) => String(Math.round(v)) },
          y: { label: "live objects", format: (v) => String(Math.round(v)) },
          series,
        }),
      );
    })
    .join("\n");
  const kills = models
    .flatMap((m) =>
      r.models[m].oomKills.map(
        (k) =>
          `<li>${escapeHtml(m)}: OOM kill of pid ${k.pid} in ${escapeHtml(k.cgroup)} at line ${k.atLine}</li>`,
      ),
    )
    .join("");
  const title = `memcg-sim replay: ${source}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
thead th{background:#f3f3f3}tbody th{text-align:left}figure{margin:2em 0}figcaption{font-size:13px;color:#444}
h2{font-size:16px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<table><thead><tr><th>model</th><th>cgroup</th>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>
<ul>${kills || "<li>no OOM kill in any model</li>"}</ul>
${figure("kmem", "Δ kernel memory per cgroup: real and predicted", "memory.kmem.usage_in_bytes after − before, per cgroup; the first bar is what the real kernel showed.", kmem)}
${live}
</body></html>
`;
}

import type { CompareResult } from "./compare.js";
import { DAY_MS, valuesByDay } from "./series.js";

/** Bytes as a short human string (binary units, one decimal). */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function formatPercent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** A plain-text table: the first row is the header; numbers (and percentages) right-aligned. */
export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const numeric = (s: string) => /^[-+]?[\d.,]+(\s?\S+)?%?$/.test(s);
  return rows
    .map((r, i) =>
      r
        .map((cell, c) => (i > 0 && numeric(cell) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The human output of `compare`: one row per model, then what each run changed or refused, then (runs of 2+ days) dying cgroups per day. */
export function formatCompareTable(r: CompareResult): string {
  const out: string[] = [];
  if (r.description !== undefined) out.push(r.description.trim(), "");
  const header = [
    "model",
    "slab",
    "slab pages",
    "utilization",
    "kmem charged",
    "memory charged",
    "dying cgroups",
    "charge failures",
    "OOM kills",
  ];
  const rows = r.models.map((m) => [
    m.model,
    formatBytes(m.slabBytes),
    String(m.slabPageCount),
    formatPercent(m.slabUtilization),
    formatBytes(m.kmemChargedBytes),
    formatBytes(m.memoryChargedBytes),
    String(m.dyingCgroupCount),
    String(m.chargeFailureCount),
    String(m.oomKillCount),
  ]);
  out.push(textTable([header, ...rows]));
  for (const run of r.runs) {
    if (run.configAdjustments.length > 0)
      out.push(`${run.model}: config ${run.configAdjustments.join("; ")}`);
    if (run.commandErrorCount > 0) {
      const first = run.commandErrors[0];
      out.push(
        `${run.model}: ${run.commandErrorCount} of ${run.commandCount} commands refused (first: #${first.index} ${first.op}: ${first.code} ${first.detail})`,
      );
    }
  }
  const clock = r.runs[0]?.clockMs ?? 0;
  if (clock >= 2 * DAY_MS) {
    const perModel = r.series.map((s) => valuesByDay(s, s.dyingCgroupCount));
    const days = Math.max(...perModel.map((v) => v.length));
    const dayRows = r.series.map((s, i) => [
      s.model,
      ...Array.from({ length: days }, (_, d) => String(perModel[i][d] ?? "")),
    ]);
    out.push("", "dying cgroups at the end of each simulated day:");
    out.push(textTable([["model", ...Array.from({ length: days }, (_, d) => `day ${d}`)], ...dayRows]));
  }
  return `${out.join("\n")}\n`;
}

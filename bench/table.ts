/**
 * `npx tsx bench/table.ts RUN1.json RUN2.json ...`: the Markdown results table of docs/BENCHMARKS.md
 * from several `npm run bench -- --json FILE` runs. Per figure: the median of the runs' values, each
 * run's value, the median of the runs' ratios, the target and whether the median ratio (or value)
 * meets it in a majority of runs.
 */
import { readFileSync } from "node:fs";
import type { Figure } from "./engine.js";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: bench/table.ts RUN.json...");
  process.exit(2);
}
const runs = files.map((f) => (JSON.parse(readFileSync(f, "utf8")) as { figures: Figure[] }).figures);
const med = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (v: number) =>
  v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(1);

console.log("| figure | median | runs | ratio (median) | vs | target | met in |");
console.log("|---|---|---|---|---|---|---|");
for (const f of runs[0]) {
  const same = runs.map((r) => r.find((g) => g.name === f.name)).filter((g): g is Figure => g !== undefined);
  const values = same.map((g) => g.value);
  const ratios = same.map((g) => g.ratio).filter((r): r is number => r !== undefined);
  const met = same.filter((g) => g.met === true).length;
  console.log(
    `| ${f.name} | ${fmt(med(values))} ${f.unit} | ${values.map(fmt).join(" / ")} | ${
      ratios.length > 0 ? med(ratios).toFixed(3) : ""
    } | ${f.baselineName ?? ""} | ${f.target ?? ""} | ${f.met === undefined ? "" : `${met}/${same.length}`} |`,
  );
}

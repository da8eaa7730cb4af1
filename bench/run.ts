/**
 * `npm run bench [-- --quick]`: every benchmark prints its figure and its ratio to a baseline
 * measured in the same invocation. Medians of `runs` repetitions.
 */
import { MODELS } from "../src/engine/config.js";
import { allocFree, baselineFreeList, type Figure, rssPerObject, scaling, userPages } from "./engine.js";

const quick = process.argv.includes("--quick");
const runs = quick ? 1 : 3;
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rep = (f: () => number) => median(Array.from({ length: runs }, f));
const fmt = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(1));

const figures: Figure[] = [];
const N = quick ? 300_000 : 2_000_000;
const base = rep(() => baselineFreeList(N));
figures.push({ name: "baseline: typed-array free list push/pop", value: base, unit: "ops/s" });
for (const model of MODELS) {
  const a = rep(() => allocFree(model, N).allocPerSec);
  const f = rep(() => allocFree(model, N).freePerSec);
  figures.push({ name: `engine ${model}: object allocations`, value: a, unit: "obj/s", baseline: base, ratio: a / base, target: "≥ 10M/s" });
  figures.push({ name: `engine ${model}: object frees`, value: f, unit: "obj/s", baseline: base, ratio: f / base, target: "≥ 5M/s" });
}
const up = rep(() => userPages("v5.9", quick ? 200_000 : 1_000_000));
figures.push({ name: "engine v5.9: user page charges", value: up, unit: "pages/s", baseline: base, ratio: up / base, target: "≥ 5M/s" });

const scaleTotal = quick ? 100_000 : 500_000;
const flat10 = rep(() => scaling("v5.9", 10, 1, scaleTotal));
for (const n of quick ? [10, 1000] : [10, 100, 1000, 10_000]) {
  const ns = n === 10 ? flat10 : rep(() => scaling("v5.9", n, 1, scaleTotal));
  figures.push({ name: `scaling v5.9: ${n} cgroups`, value: ns, unit: "ns/alloc", baseline: flat10, ratio: ns / flat10, target: "within 1.2× of 10 cgroups" });
}
for (const d of quick ? [1, 8] : [1, 4, 16, 32]) {
  const ns = rep(() => scaling("v5.9", 10, d, scaleTotal));
  figures.push({ name: `depth v5.9: ${d} levels`, value: ns, unit: "ns/alloc", baseline: flat10, ratio: ns / flat10, target: "O(depth)" });
}
const rss = rssPerObject("v5.9", quick ? 1_000_000 : 10_000_000);
figures.push({ name: "memory: RSS per live object (v5.9)", value: rss, unit: "B/obj", target: "≤ 32 B" });

for (const f of figures)
  console.log(
    `${f.name.padEnd(46)} ${fmt(f.value).padStart(9)} ${f.unit.padEnd(9)}` +
      (f.ratio !== undefined ? ` ratio ${f.ratio.toFixed(3)}` : "") +
      (f.target ? `  (target ${f.target})` : ""),
  );

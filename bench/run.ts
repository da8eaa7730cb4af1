/**
 * `npm run bench [-- --quick] [-- --only engine,rss,http,grpc,journal,metrics,replay,sweep] [-- --json FILE]`: every
 * figure is printed with its ratio to a baseline measured in this same invocation, and whether
 * its target is met. `--quick` (one repetition, smaller counts) finishes in under a minute.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MODEL_NAMES } from "../src/engine/config.js";
import {
  allocFree,
  baselineFreeList,
  type Figure,
  costCurve,
  manyTasksFree,
  firstTouchBytesPerSec,
  scalingSetup,
  userPages,
} from "./engine.js";
import { journalOverheadHttp, median } from "./http.js";
import { grpcOutside, httpOutside, type LoadResult, spread } from "./outside.js";
import { scrapeBench } from "./metrics.js";
import { instancesPerProcess, sweepThroughput } from "./sweep.js";
import { replayMemory, replaySpeed } from "./replay-speed.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = arg("--only")?.split(",");
const want = (section: string) => only === undefined || only.includes(section);
const runs = quick ? 1 : 3;
const rep = (f: () => number) => median(Array.from({ length: runs }, f));
const fmt = (v: number) =>
  v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(1);
/** Bytes per object slot in the engine (bench/rss.ts measures the real RSS). */
const SLOT_BYTES = 28;

const figures: Figure[] = [];
const add = (f: Figure) => {
  if (f.baseline !== undefined && f.ratio === undefined) f.ratio = f.value / f.baseline;
  figures.push(f);
  console.log(
    `${f.met === undefined ? " " : f.met ? "✓" : "✗"} ${f.name.padEnd(50)} ${fmt(f.value).padStart(9)} ${f.unit.padEnd(9)}` +
      (f.ratio !== undefined ? ` ratio ${f.ratio.toFixed(3)} vs ${f.baselineName}` : "") +
      (f.target ? `  (target ${f.target})` : ""),
  );
};

console.log(`memcg-sim bench${quick ? " --quick" : ""}: ${runs} run(s) per figure, median`);

if (want("replay")) {
  // bench/replay-speed.ts: trace lines replayed per second per model from a gzip file
  const r = await replaySpeed(quick ? 200_000 : 1_000_000, runs);
  add({ name: "baseline: gunzip + line split (no parse, no replay)", value: r.floorPerSec, unit: "lines/s" });
  for (const [model, v] of Object.entries(r.perModel))
    add({
      name: `replay ${model}: trace lines from gzip`,
      value: v,
      unit: "lines/s",
      baseline: r.floorPerSec,
      baselineName: "gunzip + split",
      target: "≥ 1M/s",
      met: v >= 1e6,
    });
  for (const [model, v] of Object.entries(r.perModelCpu))
    add({ name: `replay ${model}: trace lines per CPU-second`, value: v, unit: "lines/s" });
  // memory flat in trace length: a fresh process per length, peak RSS against the shortest
  const mem = replayMemory(quick ? [200_000, 800_000] : [1_000_000, 4_000_000, 10_000_000]);
  for (const m of mem)
    add({
      name: `replay peak RSS, ${m.lines} lines (heap after: ${m.heapUsedMiB.toFixed(1)} MiB)`,
      value: m.maxRssMiB,
      unit: "MiB",
      baseline: mem[0].maxRssMiB,
      baselineName: `${mem[0].lines} lines`,
    });
}

if (want("engine")) {
  const N = quick ? 1_000_000 : 2_000_000;
  const base = rep(() => baselineFreeList(N));
  add({ name: "baseline: typed-array free list push/pop", value: base, unit: "ops/s" });
  const touch = rep(() => firstTouchBytesPerSec(quick ? 64 << 20 : 256 << 20));
  const ceiling = touch / SLOT_BYTES;
  add({ name: `baseline: first-touch memory ÷ ${SLOT_BYTES} B/slot`, value: ceiling, unit: "obj/s" });
  for (const model of MODEL_NAMES) {
    const rs = Array.from({ length: runs }, () => allocFree(model, N));
    const a = median(rs.map((r) => r.allocPerSec));
    const f = median(rs.map((r) => r.freePerSec));
    const ca = median(rs.map((r) => r.coldAllocPerSec));
    add({
      name: `engine ${model}: object allocations`,
      value: a,
      unit: "obj/s",
      baseline: base,
      baselineName: "free list",
      target: "≥ 10M/s",
      met: a >= 10e6,
    });
    add({
      name: `engine ${model}: object frees (by pid, oldest)`,
      value: f,
      unit: "obj/s",
      baseline: base,
      baselineName: "free list",
      target: "≥ 5M/s",
      met: f >= 5e6,
    });
    add({
      name: `engine ${model}: allocations, fresh instance`,
      value: ca,
      unit: "obj/s",
      baseline: ceiling,
      baselineName: "first touch",
      target: "first-touch bound",
    });
  }
  for (const model of MODEL_NAMES) {
    const up = rep(() => userPages(model, quick ? 200_000 : 1_000_000));
    add({
      name: `engine ${model}: user page charges`,
      value: up,
      unit: "pages/s",
      baseline: base,
      baselineName: "free list",
      target: "≥ 5M/s",
      met: up >= 5e6,
    });
  }
  const total = quick ? 100_000 : 500_000;
  const rounds = quick ? 3 : 7;
  const counts = quick ? [10, 1000, 10_000] : [10, 100, 1000, 10_000];
  const curve = costCurve(
    counts.map((n) => scalingSetup("v5.9", n, 1, total, 100)),
    rounds,
  );
  counts.forEach((n, i) => {
    const p = curve[i];
    add({
      name: `scaling v5.9: ${n} cgroups, alloc 100/command`,
      value: p.alloc,
      unit: "ns/alloc",
      ratio: p.allocRatio,
      baselineName: "10 cgroups (median of per-round ratios)",
      target: "≤ 1.2× of 10 cgroups",
      met: p.allocRatio <= 1.2,
    });
    add({
      name: `scaling v5.9: ${n} cgroups, free 100/command`,
      value: p.free,
      unit: "ns/free",
      ratio: p.freeRatio,
      baselineName: "10 cgroups (median of per-round ratios)",
    });
  });
  // the same with 1,000 objects per command: the per-command cost of a cold cgroup amortised
  const big = costCurve(
    [10, 10_000].map((n) => scalingSetup("v5.9", n, 1, quick ? total : total * 4, 1000)),
    rounds,
  );
  add({ name: "scaling v5.9: 10 cgroups, alloc 1000/command", value: big[0].alloc, unit: "ns/alloc" });
  add({
    name: "scaling v5.9: 10000 cgroups, alloc 1000/command",
    value: big[1].alloc,
    unit: "ns/alloc",
    ratio: big[1].allocRatio,
    baselineName: "10 cgroups (median of per-round ratios)",
    target: "≤ 1.2× of 10 cgroups",
    met: big[1].allocRatio <= 1.2,
  });
  const depths = quick ? [1, 8, 32] : [1, 4, 16, 32];
  const deep = costCurve(
    depths.map((d) => scalingSetup("v5.9", 10, d, total, 100)),
    rounds,
  );
  depths.forEach((d, i) => {
    add({
      name: `depth v5.9: ${d} levels, 10 cgroups, alloc`,
      value: deep[i].alloc,
      unit: "ns/alloc",
      ratio: deep[i].allocRatio,
      baselineName: "depth 1 (median of per-round ratios)",
      target: "O(depth)",
    });
  });
  // free by pid among many tasks of one cgroup (no target; docs/BENCHMARKS.md "Known limits")
  const nTasks = quick ? 2000 : 10_000;
  const inOrder = manyTasksFree(nTasks, false, quick ? 2 : 5);
  const reversed = manyTasksFree(nTasks, true, quick ? 2 : 5);
  add({
    name: `free by pid: ${nTasks} tasks in 10 cgroups, 100 oldest each, task order`,
    value: inOrder,
    unit: "ns/free",
  });
  add({
    name: `free by pid: ${nTasks} tasks in 10 cgroups, 100 oldest each, last task first`,
    value: reversed,
    unit: "ns/free",
    baseline: inOrder,
    baselineName: "task order",
  });
}

if (want("rss")) {
  // a fresh process, so nothing else this bench did is in its RSS
  const script = fileURLToPath(new URL("./rss.ts", import.meta.url));
  const count = 10_000_000;
  const rss = (model: string) =>
    (
      JSON.parse(
        execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script, model, String(count)], {
          encoding: "utf8",
        }).trim(),
      ) as { bytesPerObject: number }
    ).bytesPerObject;
  for (const model of quick ? ["v5.9"] : ["v5.9", "rfc-2012"]) {
    const b = rep(() => rss(model));
    add({
      name: `memory ${model}: RSS per live object at 10M`,
      value: b,
      unit: "B/obj",
      baseline: SLOT_BYTES,
      baselineName: "slot bytes",
      target: "≤ 32 B",
      met: b <= 32,
    });
  }
}

if (want("http")) {
  // bench/outside.ts: the started server (npm start → node dist/src/main.js) driven by wrk from outside
  const secs = quick ? 2 : 5;
  const h = await httpOutside({
    seconds: secs,
    pairs: quick ? 3 : 5,
    steadyRounds: 5,
    steadySeconds: secs,
    bulkCount: 2_000_000,
    bulkRounds: quick ? 2 : 3,
    quick,
  });
  add({
    name: `http: npm start → first 200 (cold start), median of ${h.coldStartsMs.length}: ${h.coldStartsMs.map((x) => x.toFixed(0)).join(" ")} ms`,
    value: h.coldStartMs,
    unit: "ms",
    target: "≤ 1500 ms",
    met: h.coldStartMs <= 1500,
  });
  if (!quick) add({ name: "http: node dist/src/main.js → first 200", value: h.coldStartNodeMs, unit: "ms" });
  add({
    name: "http: one objects/alloc of 2M objects, cold server",
    value: h.bulkColdPerSec,
    unit: "obj/s",
    target: "≥ 5M/s",
    met: h.bulkColdPerSec >= 5e6,
  });
  add({ name: "http: the same, warm (median)", value: h.bulkWarmPerSec, unit: "obj/s" });
  const lat = (r: LoadResult) =>
    `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.cpuUs.toFixed(0)} µs CPU/req`;
  add({
    name: `http: wrk ceiling (node:http fixed reply) — ${lat(h.ceiling)}`,
    value: h.ceiling.rate,
    unit: "req/s",
  });
  add({
    name: `http: bare fastify POST, 50 conn — ${lat(h.bare)}`,
    value: h.bare.rate,
    unit: "req/s",
    baseline: h.ceiling.rate,
    baselineName: "wrk ceiling",
    target: "generator not the limit (< 0.8× ceiling)",
    met: h.bare.rate < 0.8 * h.ceiling.rate,
  });
  add({
    name: `http: objects/alloc count 1, 50 conn — ${lat(h.app)}`,
    value: h.app.rate,
    unit: "req/s",
    baseline: h.bare.rate,
    baselineName: `bare fastify (median of ${h.ratios.length} pair ratios)`,
    ratio: h.ratio,
    target: "≥ 0.9× bare",
    met: h.ratio >= 0.9,
  });
  add({
    name: "http: CPU per request, app vs bare (load-independent)",
    value: h.app.cpuUs,
    unit: "µs/req",
    baseline: h.bare.cpuUs,
    baselineName: "bare fastify CPU/req (its inverse is the ratio an idle 1-core server would reach)",
  });
  const sa = h.steadyApp.map((r) => r.rate);
  const sb = h.steadyBare.map((r) => r.rate);
  add({
    name: `http: steadiness, bare, ${sb.length}×${secs} s: ${sb.map((x) => x.toFixed(0)).join(" ")}`,
    value: 100 * spread(sb),
    unit: "% spread",
  });
  add({
    name: `http: steadiness, app, ${sa.length}×${secs} s: ${sa.map((x) => x.toFixed(0)).join(" ")}`,
    value: 100 * spread(sa),
    unit: "% spread",
    baseline: 100 * spread(sb),
    baselineName: "bare spread",
    target: "≤ bare spread",
    met: spread(sa) <= spread(sb),
  });
  add({
    name: `http: steadiness, app CPU/req per round: ${h.steadyApp.map((r) => r.cpuUs.toFixed(0)).join(" ")}`,
    value: median(h.steadyApp.map((r) => r.cpuUs)),
    unit: "µs/req",
    baseline: median(h.steadyBare.map((r) => r.cpuUs)),
    baselineName: "bare (median)",
  });
}

if (want("grpc")) {
  const g = await grpcOutside({ seconds: quick ? 2 : 5, pairs: quick ? 3 : 5 });
  const lat = (r: LoadResult) =>
    `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.cpuUs.toFixed(0)} µs CPU/call`;
  add({
    name: `grpc: h2load ceiling (${g.ceilingServer} fixed reply) — ${lat(g.ceiling)}`,
    value: g.ceiling.rate,
    unit: "calls/s",
  });
  add({
    name: `grpc: bare grpc-js AllocObjects, h2load 2 conn × 25 streams — ${lat(g.bare)}`,
    value: g.bare.rate,
    unit: "calls/s",
    baseline: g.ceiling.rate,
    baselineName: "generator ceiling",
    target: "generator not the limit (< 0.8× ceiling)",
    met: g.bare.rate < 0.8 * g.ceiling.rate,
  });
  add({
    name: `grpc: AllocObjects count 1, h2load 2 conn × 25 streams — ${lat(g.app)}`,
    value: g.app.rate,
    unit: "calls/s",
    baseline: g.bare.rate,
    baselineName: `bare grpc-js (median of ${g.ratios.length} pair ratios)`,
    ratio: g.ratio,
    target: "≥ 0.9× bare",
    met: g.ratio >= 0.9,
  });
  add({
    name: "grpc: CPU per call, app vs bare (load-independent)",
    value: g.app.cpuUs,
    unit: "µs/call",
    baseline: g.bare.cpuUs,
    baselineName: "bare grpc-js CPU/call",
  });
}

if (want("journal")) {
  // in-process (bench/http.ts, autocannon): the SQLite journal's cost against no data directory
  const jour = await journalOverheadHttp(quick ? 1 : 3, quick ? 3 : 7);
  add({ name: "journal: objects/alloc count 1, MEMCG_SIM_DATA_DIR=none", value: jour.none, unit: "req/s" });
  add({
    name: "journal: same, SQLite journal (group commit)",
    value: jour.journal,
    unit: "req/s",
    baseline: jour.none,
    baselineName: "data dir none (median of per-pair ratios)",
    ratio: jour.ratio,
    target: "≥ 0.8× none",
    met: jour.ratio >= 0.8,
  });
}

if (want("metrics")) {
  const m = await scrapeBench(1000, quick ? 1_000_000 : 5_000_000);
  add({ name: "metrics: bare prom-client, 5,000 series", value: m.bareMs, unit: "ms" });
  add({
    name: "metrics: /metrics scrape, 1,000 cgroups × 5 caches",
    value: m.ms,
    unit: "ms",
    baseline: m.bareMs,
    baselineName: "bare prom-client",
    target: "≤ 100 ms",
    met: m.ms <= 100,
  });
  add({
    name: `metrics: same, +${quick ? "1M" : "5M"} live objects`,
    value: m.msWithObjects,
    unit: "ms",
    baseline: m.ms,
    baselineName: "without them (median of per-pair ratios)",
    ratio: m.ratio,
    target: "not growing (≤ 1.2×)",
    met: m.ratio <= 1.2,
  });
}

if (want("sweep")) {
  // interleaved pairs (1 worker, then 2), the ratio of each pair: the machine is shared
  const pairs = [];
  for (let k = 0; k < (quick ? 2 : 5); k++) {
    const one = await sweepThroughput("examples/sweep.yaml", 1);
    const two = await sweepThroughput("examples/sweep.yaml", 2);
    pairs.push({
      one: one.pointsPerSecond,
      two: two.pointsPerSecond,
      ratio: two.pointsPerSecond / one.pointsPerSecond,
      cpuOne: one.cpuSecondsPerPoint,
      cpuTwo: two.cpuSecondsPerPoint,
    });
  }
  const one = median(pairs.map((p) => p.one));
  add({ name: "sweep: examples/sweep.yaml, 1 worker thread", value: one, unit: "points/s" });
  const ratio = median(pairs.map((p) => p.ratio));
  add({
    name: "sweep: examples/sweep.yaml, 2 worker threads",
    value: median(pairs.map((p) => p.two)),
    unit: "points/s",
    baseline: one,
    baselineName: "1 worker (median of per-pair ratios)",
    ratio,
    target: "≥ 1.5× on 2 cores",
    met: ratio >= 1.5,
  });
  // CPU per point does not depend on how busy the machine is: the projection in docs/SCALE.md uses it
  const cpuOne = median(pairs.map((p) => p.cpuOne));
  add({ name: "sweep: CPU per point, 1 worker thread", value: cpuOne * 1000, unit: "ms" });
  add({
    name: "sweep: CPU per point, 2 worker threads",
    value: median(pairs.map((p) => p.cpuTwo)) * 1000,
    unit: "ms",
    baseline: cpuOne * 1000,
    baselineName: "1 worker",
    target: "≤ 1.1× 1 worker (threads add no work)",
    met: median(pairs.map((p) => p.cpuTwo)) <= 1.1 * cpuOne,
  });
  const cap = instancesPerProcess(1024);
  add({
    name: "server: instances (4 cgroups, 4,000 objects, 4 MiB) in 1 GiB RSS",
    value: cap.instances,
    unit: "instances",
  });
  add({ name: "server: RSS per such instance", value: cap.bytesPerInstance, unit: "B" });
}

const met = figures.filter((f) => f.met === true).length;
const missed = figures.filter((f) => f.met === false);
console.log(
  `targets met: ${met}/${met + missed.length}${missed.length ? `; missed: ${missed.map((f) => f.name).join("; ")}` : ""}`,
);
const out = arg("--json");
if (out !== undefined) writeFileSync(out, JSON.stringify({ quick, runs, figures }, null, 2));

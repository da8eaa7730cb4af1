/**
 * /metrics scrape benchmark (issue "Performance"): one instance with 1,000 cgroups × 5 caches
 * (objects of every cache in every cgroup), `createMetrics(...).scrape()` timed, against the same
 * with `extraObjects` more live objects (the cost must not grow with them). Baseline, same invocation: a bare prom-client registry with one gauge family of the same
 * number of (cgroup, cache) series set in its collect().
 */
import { Gauge, Registry as PromRegistry } from "prom-client";
import { createMetrics } from "../src/metrics/index.js";
import { Registry } from "../src/registry.js";
import { median } from "./http.js";

const CACHES = ["dentry", "inode_cache", "kmalloc-64", "kmalloc-256", "radix_tree_node"];

function build(cgroups: number): { registry: Registry; pids: number[] } {
  const registry = new Registry({ ...new Registry().limits, maxCgroups: cgroups + 10 });
  registry.create("bench", { model: "v5.9", cpuCount: 4, memoryBytes: 64 * 1024 * 1024 * 1024 });
  const ex = (cmd: Parameters<Registry["execute"]>[1]) => registry.execute("bench", cmd);
  for (const name of CACHES)
    ex({
      op: "createCache",
      name,
      objectSizeBytes: 64 + 64 * CACHES.indexOf(name),
      flags: { account: true, reclaimAccount: name !== "kmalloc-64" },
    });
  const pids: number[] = [];
  for (let i = 0; i < cgroups; i++) {
    ex({ op: "createCgroup", path: `/c${i}` });
    const { pid } = ex({ op: "spawnTask", cgroup: `/c${i}` }) as { pid: number };
    pids.push(pid);
    for (const cache of CACHES) ex({ op: "allocObjects", cache, pid, count: 10, returnObjectIds: false });
  }
  return { registry, pids };
}

/**
 * Two identical registries, the second with `extraObjects` more live objects, each with its own
 * metrics; after 3 untimed scrapes of each, 11 pairs of scrapes back to back (the order
 * alternating). Medians of each side, and the median of the per-pair ratios (a scrape is now a few
 * tens of ms, so one garbage collection of this big process can move a lone measurement by half).
 */
export async function scrapeBench(
  cgroups: number,
  extraObjects: number,
): Promise<{ ms: number; msWithObjects: number; ratio: number; bareMs: number; series: number }> {
  const a = build(cgroups);
  const b = build(cgroups);
  for (let left = extraObjects, i = 0; left > 0; left -= 100_000, i++)
    b.registry.execute("bench", {
      op: "allocObjects",
      cache: CACHES[i % CACHES.length],
      pid: b.pids[i % b.pids.length],
      count: Math.min(left, 100_000),
      returnObjectIds: false,
    });
  const ma = createMetrics({ registry: a.registry });
  const mb = createMetrics({ registry: b.registry });
  try {
    const time = async (m: typeof ma) => {
      const t0 = performance.now();
      const text = await m.scrape();
      if (text.length === 0) throw new Error("empty scrape");
      return performance.now() - t0;
    };
    // warm-ups: in a fresh process the scrape code is still being optimised for a few dozen
    // scrapes, and 3 warm-ups let the two instances' pairs straddle that (ratios of 1.3-1.6 in
    // one of three fresh --quick runs, 0.98-1.06 once warm)
    for (let i = 0; i < 12; i++) {
      await time(ma);
      await time(mb);
    }
    const xa: number[] = [];
    const xb: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < 11; i++) {
      let ta: number;
      let tb: number;
      if (i % 2 === 0) {
        ta = await time(ma);
        tb = await time(mb);
      } else {
        tb = await time(mb);
        ta = await time(ma);
      }
      xa.push(ta);
      xb.push(tb);
      ratios.push(tb / ta);
    }

    const bare = new PromRegistry();
    const series = cgroups * CACHES.length;
    new Gauge({
      name: "bench_slab_bytes",
      help: "baseline gauge",
      labelNames: ["cgroup", "cache"],
      registers: [bare],
      collect() {
        for (let i = 0; i < cgroups; i++)
          for (const cache of CACHES) this.set({ cgroup: `/c${i}`, cache }, i);
      },
    });
    const xs: number[] = [];
    for (let i = 0; i < 14; i++) {
      const t0 = performance.now();
      await bare.metrics();
      if (i >= 3) xs.push(performance.now() - t0);
    }
    return { ms: median(xa), msWithObjects: median(xb), ratio: median(ratios), bareMs: median(xs), series };
  } finally {
    ma.close();
    mb.close();
  }
}

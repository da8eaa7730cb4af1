/**
 * /metrics scrape benchmark (issue "Performance"): one instance with 1,000 cgroups × 5 caches
 * (objects of every cache in every cgroup), `createMetrics(...).scrape()` timed (median of 11
 * after 3 warm-ups), then again after adding `extraObjects` live objects (the cost must not grow with
 * them). Baseline, same invocation: a bare prom-client registry with one gauge family of the same
 * number of (cgroup, cache) series set in its collect().
 */
import { Gauge, Registry as PromRegistry } from "prom-client";
import { createMetrics } from "../src/metrics/index.js";
import { Registry } from "../src/registry.js";
import { median } from "./http.js";

const CACHES = ["dentry", "inode_cache", "kmalloc-64", "kmalloc-256", "radix_tree_node"];

/**
 * Median of 11 timed scrapes after 3 untimed ones (the first after a big allocation burst also
 * pays for the garbage collection that burst left behind, which is not the scrape's cost).
 */
async function timeScrape(scrape: () => Promise<string>): Promise<number> {
  for (let i = 0; i < 3; i++) await scrape();
  const xs: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now();
    const text = await scrape();
    xs.push(performance.now() - t0);
    if (text.length === 0) throw new Error("empty scrape");
  }
  return median(xs);
}

export async function scrapeBench(
  cgroups: number,
  extraObjects: number,
): Promise<{ ms: number; msWithObjects: number; bareMs: number; series: number }> {
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
  const metrics = createMetrics({ registry });
  try {
    const ms = await timeScrape(() => metrics.scrape());
    for (let left = extraObjects, i = 0; left > 0; left -= 100_000, i++)
      ex({
        op: "allocObjects",
        cache: CACHES[i % CACHES.length],
        pid: pids[i % pids.length],
        count: Math.min(left, 100_000),
        returnObjectIds: false,
      });
    const msWithObjects = await timeScrape(() => metrics.scrape());

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
    const bareMs = await timeScrape(() => bare.metrics());
    return { ms, msWithObjects, bareMs, series };
  } finally {
    metrics.close();
  }
}

import { afterEach, describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { MiB, newSim, PAGE, parseText, type Sample, select, value } from "./helpers.js";

let metrics: Metrics | null = null;
afterEach(() => {
  metrics?.close();
  metrics = null;
});

async function scrape(registry: Parameters<typeof createMetrics>[0]["registry"], limit?: number) {
  metrics ??= createMetrics({ registry, defaultMetrics: false, perCgroupSeriesLimit: limit });
  const text = await metrics.scrape();
  await new Promise((r) => setImmediate(r));
  return parseText(text);
}

/**
 * v4.5 on cgroup v2 (hierarchical counters, per-cgroup cache copies, memory.events): /a limited to
 * 1 MiB with /a/b below; pid 200 allocates 100 dentries (the first one served by the root cache
 * while /a/b's copy is created), 10 anon and 2 file pages; pid 201 then allocates 1 MiB of anon,
 * which reclaims the 2 file pages and ends with 201 OOM-killed.
 */
function scenarioV45() {
  // exact accounting (no per-CPU page stock): the families are checked against hand-counted pages
  const { registry, ex } = newSim("s", { model: "v4.5", cgroupVersion: 2, chargeBatchPages: 1 });
  ex({ op: "createCgroup", path: "/a" });
  ex({ op: "createCgroup", path: "/a/b" });
  ex({ op: "updateCgroup", path: "/a", memoryMaxBytes: MiB });
  ex({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  ex({ op: "spawnTask", cgroup: "/a/b", pid: 200 });
  expect(ex({ op: "allocObjects", cache: "dentry", pid: 200, count: 100 }).chargedBytes).toBe(5 * PAGE);
  ex({ op: "allocPages", pid: 200, kind: "anon", bytes: 10 * PAGE });
  ex({ op: "allocPages", pid: 200, kind: "file", bytes: 2 * PAGE });
  ex({ op: "spawnTask", cgroup: "/a/b", pid: 201 });
  const r = ex({ op: "allocPages", pid: 201, kind: "anon", bytes: MiB });
  expect(r).toMatchObject({
    error: "OOM_KILLED",
    oomKilledPids: [201],
    allocatedBytes: 241 * PAGE,
    reclaimedBytes: 2 * PAGE,
  });
  return registry;
}

describe("memcg_sim_* families over a known state", () => {
  const S = (cgroup: string) => ({ simulation: "s", cgroup });

  it("reports usage, limit, peak and failcnt of every cgroup", async () => {
    const s = await scrape(scenarioV45());
    // 5 slab pages + 10 anon pages left; the root reports anon + file of the system, without kernel memory
    expect(value(s, "memcg_sim_memory_usage_bytes", S("/a/b"))).toBe(15 * PAGE);
    expect(value(s, "memcg_sim_memory_usage_bytes", S("/a"))).toBe(15 * PAGE);
    expect(value(s, "memcg_sim_memory_usage_bytes", S("/"))).toBe(10 * PAGE);
    expect(select(s, "memcg_sim_memory_max_bytes").map((x) => [x.labels.cgroup, x.value])).toEqual([
      ["/a", MiB],
    ]);
    expect(value(s, "memcg_sim_memory_peak_bytes", S("/a"))).toBe(MiB);
    // /a/b's own level charged page 257 before /a refused it (the watermark is not rolled back)
    expect(value(s, "memcg_sim_memory_peak_bytes", S("/a/b"))).toBe(257 * PAGE);
    // v4.5: 1 drain pass + MEM_CGROUP_RECLAIM_RETRIES (5) + the OOM pass, then one more after the kill
    expect(value(s, "memcg_sim_memory_failcnt", S("/a"))).toBe(8);
    expect(value(s, "memcg_sim_memory_failcnt", S("/a/b"))).toBe(0);
  });

  it("reports kmem usage, failcnt and the memory.stat breakdown", async () => {
    const s = await scrape(scenarioV45());
    for (const cg of ["/", "/a", "/a/b"]) {
      expect(value(s, "memcg_sim_kmem_usage_bytes", S(cg))).toBe(5 * PAGE);
      expect(value(s, "memcg_sim_kmem_failcnt", S(cg))).toBe(0);
      expect(value(s, "memcg_sim_memory_stat_bytes", { ...S(cg), type: "anon" })).toBe(10 * PAGE);
      expect(value(s, "memcg_sim_memory_stat_bytes", { ...S(cg), type: "file" })).toBe(0);
      expect(value(s, "memcg_sim_memory_stat_bytes", { ...S(cg), type: "kernel" })).toBe(5 * PAGE);
    }
    expect(select(s, "memcg_sim_kmem_max_bytes")).toEqual([]);
  });

  it("counts charged and uncharged bytes per counter", async () => {
    const s = await scrape(scenarioV45());
    // 5 slab + 10 anon + 2 file + 241 anon of pid 201 charged; 241 (the kill) + 2 (reclaimed file) uncharged
    for (const cg of ["/a", "/a/b"]) {
      expect(value(s, "memcg_sim_charged_bytes_total", { ...S(cg), counter: "memory" })).toBe(258 * PAGE);
      expect(value(s, "memcg_sim_charged_bytes_total", { ...S(cg), counter: "kmem" })).toBe(5 * PAGE);
      expect(value(s, "memcg_sim_uncharged_bytes_total", { ...S(cg), counter: "memory" })).toBe(243 * PAGE);
      expect(value(s, "memcg_sim_uncharged_bytes_total", { ...S(cg), counter: "kmem" })).toBe(0);
    }
  });

  it("counts charge failures at the cgroup whose limit refused, and allocation failures per simulation", async () => {
    const s = await scrape(scenarioV45());
    expect(value(s, "memcg_sim_charge_failures_total", { ...S("/a"), reason: "memory" })).toBe(8);
    expect(value(s, "memcg_sim_charge_failures_total", { ...S("/a/b"), reason: "memory" })).toBe(0);
    expect(value(s, "memcg_sim_charge_failures_total", { ...S("/a"), reason: "kmem" })).toBe(0);
    expect(value(s, "memcg_sim_allocation_failures_total", { ...S("/"), reason: "memory" })).toBe(1);
    expect(value(s, "memcg_sim_allocation_failures_total", { ...S("/"), reason: "kmem" })).toBe(0);
    expect(value(s, "memcg_sim_oom_kills_total", S("/"))).toBe(1);
  });

  it("reports memory.events per event, hierarchically, and none for the root", async () => {
    const s = await scrape(scenarioV45());
    const ev = (cg: string) =>
      Object.fromEntries(
        select(s, "memcg_sim_memory_events_total", S(cg)).map((x) => [x.labels.event, x.value]),
      );
    expect(ev("/a")).toEqual({ low: 0, high: 0, max: 8, oom: 1, oom_kill: 1, oom_group_kill: 0 });
    expect(ev("/a/b")).toEqual({ low: 0, high: 0, max: 0, oom: 0, oom_kill: 1, oom_group_kill: 0 });
    expect(ev("/")).toEqual({});
  });

  it("reports slab bytes by type and objects and pages per cache copy", async () => {
    const s = await scrape(scenarioV45());
    expect(value(s, "memcg_sim_slab_bytes", { ...S("/a/b"), type: "reclaimable" })).toBe(5 * PAGE);
    expect(value(s, "memcg_sim_slab_bytes", { ...S("/a/b"), type: "unreclaimable" })).toBe(0);
    // the first dentry went to the root cache while /a/b's copy was created; reclaim under the OOM
    // shrank /a/b's 99 dentries, their 5 slabs stay (min_partial)
    expect(value(s, "memcg_sim_slab_objects", { ...S("/"), cache: "dentry", state: "active" })).toBe(1);
    expect(value(s, "memcg_sim_slab_objects", { ...S("/"), cache: "dentry", state: "total" })).toBe(21);
    expect(value(s, "memcg_sim_slab_pages", { ...S("/"), cache: "dentry" })).toBe(1);
    expect(value(s, "memcg_sim_slab_objects", { ...S("/a/b"), cache: "dentry", state: "active" })).toBe(0);
    expect(value(s, "memcg_sim_slab_objects", { ...S("/a/b"), cache: "dentry", state: "total" })).toBe(105);
    expect(value(s, "memcg_sim_slab_pages", { ...S("/a/b"), cache: "dentry" })).toBe(5);
    expect(select(s, "memcg_sim_slab_pages", S("/a"))).toEqual([]);
  });

  it("reports reclaim by source, dying cgroups, commands and the model per simulation", async () => {
    const s = await scrape(scenarioV45());
    expect(value(s, "memcg_sim_reclaimed_bytes_total", { ...S("/"), source: "file" })).toBe(2 * PAGE);
    expect(value(s, "memcg_sim_reclaimed_bytes_total", { ...S("/"), source: "slab" })).toBe(0);
    // the 2 file pages came off /a/b's LRU: counted there and at every ancestor (hierarchical)
    expect(value(s, "memcg_sim_reclaimed_bytes_total", { ...S("/a/b"), source: "file" })).toBe(2 * PAGE);
    expect(value(s, "memcg_sim_reclaimed_bytes_total", { ...S("/a"), source: "file" })).toBe(2 * PAGE);
    // the shrinker freed /a/b's 99 dentries but no slab emptied past min_partial: 0 slab pages
    expect(value(s, "memcg_sim_reclaimed_bytes_total", { ...S("/a/b"), source: "slab" })).toBe(0);
    expect(value(s, "memcg_sim_dying_cgroups", S("/"))).toBe(0);
    const ops = Object.fromEntries(
      select(s, "memcg_sim_commands_total", { simulation: "s" }).map((x) => [x.labels.op, x.value]),
    );
    expect(ops).toEqual({
      createCgroup: 2,
      updateCgroup: 1,
      createCache: 1,
      spawnTask: 2,
      allocObjects: 1,
      allocPages: 3,
    });
    expect(value(s, "memcg_sim_metrics_truncated_cgroups", { simulation: "s" })).toBe(0);
    expect(
      value(s, "memcg_sim_simulation_info", { simulation: "s", model: "v4.5", cgroup_version: "2" }),
    ).toBe(1);
  });

  it("never uses a label named instance, and gives every simulation family a cgroup label", async () => {
    const s = await scrape(scenarioV45());
    const perSim = new Set([
      "memcg_sim_commands_total",
      "memcg_sim_metrics_truncated_cgroups",
      "memcg_sim_simulation_info",
    ]);
    for (const x of s) {
      expect(x.labels).not.toHaveProperty("instance");
      // the one server-wide series: what the series cap left out of this scrape
      if (x.name === "memcg_sim_metrics_series_dropped") {
        expect(x.labels).toEqual({});
        expect(x.value).toBe(0);
        continue;
      }
      expect(x.labels.simulation).toBe("s");
      if (!perSim.has(x.name)) expect(typeof x.labels.cgroup).toBe("string");
    }
  });
});

describe("cAdvisor names", () => {
  it("maps the same state to container_* with id = cgroup path", async () => {
    const registry = scenarioV45();
    metrics = createMetrics({ registry, defaultMetrics: false });
    const s: Sample[] = parseText(await metrics.cadvisorText());
    const I = (id: string) => ({ simulation: "s", id });
    expect(value(s, "container_memory_usage_bytes", I("/a"))).toBe(15 * PAGE);
    expect(value(s, "container_memory_max_usage_bytes", I("/a"))).toBe(MiB);
    expect(value(s, "container_memory_failcnt", I("/a"))).toBe(8);
    expect(value(s, "container_memory_kernel_usage", I("/a/b"))).toBe(5 * PAGE);
    expect(value(s, "container_spec_memory_limit_bytes", I("/a"))).toBe(MiB);
    expect(value(s, "container_spec_memory_limit_bytes", I("/a/b"))).toBe(0);
    expect(value(s, "container_memory_cache", I("/a"))).toBe(0);
    expect(value(s, "container_memory_rss", I("/a"))).toBe(10 * PAGE);
    expect(value(s, "container_memory_working_set_bytes", I("/a"))).toBe(15 * PAGE);
    expect(value(s, "container_oom_events_total", I("/a/b"))).toBe(1);
    expect(value(s, "container_oom_events_total", I("/"))).toBe(1);
    expect(s.every((x) => !("cgroup" in x.labels) && !("instance" in x.labels))).toBe(true);
  });

  it("subtracts file pages for the working set, never below 0", async () => {
    // exact accounting: usage without the per-CPU stock slack, so that usage − file is the anon pages
    const { registry, ex } = newSim("w", { model: "v5.9", chargeBatchPages: 1 });
    ex({ op: "createCgroup", path: "/f" });
    ex({ op: "spawnTask", cgroup: "/f", pid: 10 });
    ex({ op: "allocPages", pid: 10, kind: "file", bytes: 4 * PAGE });
    ex({ op: "allocPages", pid: 10, kind: "anon", bytes: 3 * PAGE });
    metrics = createMetrics({ registry, defaultMetrics: false });
    const s = parseText(await metrics.cadvisorText());
    expect(value(s, "container_memory_cache", { id: "/f" })).toBe(4 * PAGE);
    expect(value(s, "container_memory_working_set_bytes", { id: "/f" })).toBe(3 * PAGE);
    expect(value(s, "container_memory_working_set_bytes", { id: "/" })).toBe(3 * PAGE);
  });
});

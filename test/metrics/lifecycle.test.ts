import { afterEach, describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { Registry } from "../../src/registry.js";
import { newSim, PAGE, parseText, select, value } from "./helpers.js";

let metrics: Metrics | null = null;
afterEach(() => {
  metrics?.close();
  metrics = null;
});

function start(registry: Registry, perCgroupSeriesLimit?: number) {
  metrics = createMetrics({ registry, defaultMetrics: false, perCgroupSeriesLimit });
  const m = metrics;
  return async () => {
    const text = await m.scrape();
    await new Promise((r) => setImmediate(r));
    // the server-wide series cap report has no simulation label
    return parseText(text).filter((x) => x.name !== "memcg_sim_metrics_series_dropped");
  };
}

/** v4.5 on cgroup v1: /k with a 32 KiB kmem limit and a 256 KiB memory limit hits both. */
function v1Limits() {
  // exact accounting: a failed 32-page batch would count a failure of its own
  const sim = newSim("v1", { model: "v4.5", cgroupVersion: 1, chargeBatchPages: 1 });
  const { ex } = sim;
  ex({ op: "createCgroup", path: "/k" });
  ex({ op: "updateCgroup", path: "/k", kmemMaxBytes: 8 * PAGE, memoryMaxBytes: 64 * PAGE });
  ex({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  ex({ op: "spawnTask", cgroup: "/k", pid: 300 });
  expect(ex({ op: "allocObjects", cache: "dentry", pid: 300, count: 1000 })).toMatchObject({
    allocatedCount: 169,
    error: "ENOMEM",
    failedAt: "/k",
  });
  expect(ex({ op: "allocPages", pid: 300, kind: "file", bytes: 70 * PAGE })).toMatchObject({
    error: null,
    // 40 pages before the per-CPU partial lists (audit row 36): the slabs the dentry shrinker
    // empties last stay parked on the CPU's partial list, charged, until it is flushed — 2 of them here
    reclaimedBytes: 38 * PAGE,
  });
  return sim;
}

describe("counters never go backwards", () => {
  const K = { simulation: "v1", cgroup: "/k" };

  it("keeps charge failures when memory.failcnt and memory.kmem.failcnt are reset", async () => {
    const { registry, ex } = v1Limits();
    const scrape = start(registry);
    const before = await scrape();
    expect(value(before, "memcg_sim_memory_failcnt", K)).toBe(1);
    expect(value(before, "memcg_sim_kmem_failcnt", K)).toBe(1);
    expect(value(before, "memcg_sim_charge_failures_total", { ...K, reason: "memory" })).toBe(1);
    expect(value(before, "memcg_sim_charge_failures_total", { ...K, reason: "kmem" })).toBe(1);
    expect(
      value(before, "memcg_sim_allocation_failures_total", { simulation: "v1", cgroup: "/", reason: "kmem" }),
    ).toBe(1);

    ex({ op: "writeFile", cgroup: "/k", file: "memory.failcnt", value: "0" });
    ex({ op: "writeFile", cgroup: "/k", file: "memory.kmem.failcnt", value: "0" });
    ex({ op: "writeFile", cgroup: "/k", file: "memory.max_usage_in_bytes", value: "0" });
    const after = await scrape();
    expect(value(after, "memcg_sim_memory_failcnt", K)).toBe(0);
    expect(value(after, "memcg_sim_kmem_failcnt", K)).toBe(0);
    expect(value(after, "memcg_sim_charge_failures_total", { ...K, reason: "memory" })).toBe(1);
    expect(value(after, "memcg_sim_charge_failures_total", { ...K, reason: "kmem" })).toBe(1);
    const cadvisor = parseText(await metrics!.cadvisorText());
    expect(value(cadvisor, "container_memory_failcnt", { simulation: "v1", id: "/k" })).toBe(1);
    // every counter sample is ≥ its value at the first scrape
    for (const b of before.filter((x) => x.name.endsWith("_total"))) {
      const a = select(after, b.name, b.labels);
      expect(a.length, `${b.name}${JSON.stringify(b.labels)}`).toBe(1);
      expect(a[0].value).toBeGreaterThanOrEqual(b.value);
    }
  });

  it("reports reclaim by source after memory.reclaim frees file pages and shrinks dentries", async () => {
    const { registry, ex } = v1Limits();
    // /k's dentry slabs: the ones its shrinker empties stay on the CPU's partial list or the
    // node's (min_partial 5) — no slab page comes back (audit row 36, put_cpu_partial)
    expect(ex({ op: "reclaim", cgroup: "/k", bytes: 10 * PAGE })).toMatchObject({
      fileReclaimedBytes: 32 * PAGE,
      slabReclaimedBytes: 0,
    });
    // 40 full slabs in /d (kmem active): shrinking empties 39 of them; past the 30-object per-CPU
    // limit of a 192-byte cache the CPU's list goes to the node, where empty slabs beyond
    // min_partial 5 are discarded: 26 discarded, 5 kept on the node, 8 parked (slub-cpu-partial.test.ts)
    ex({ op: "createCgroup", path: "/d" });
    ex({ op: "writeFile", cgroup: "/d", file: "memory.kmem.limit_in_bytes", value: "1G" });
    ex({ op: "spawnTask", cgroup: "/d", pid: 400 });
    ex({ op: "allocObjects", cache: "dentry", pid: 400, count: 840 });
    expect(ex({ op: "reclaim", cgroup: "/d", bytes: 40 * PAGE })).toMatchObject({
      slabReclaimedBytes: 26 * PAGE,
      freedSlabCount: 26,
      freedObjectCount: 839,
      error: "EAGAIN",
    });
    const s = await start(registry)();
    // under /k's limit earlier: 38 file pages; memory.reclaim of /k: 32 file; of /d: 26 slab
    expect(
      value(s, "memcg_sim_reclaimed_bytes_total", { simulation: "v1", cgroup: "/", source: "file" }),
    ).toBe(70 * PAGE);
    expect(
      value(s, "memcg_sim_reclaimed_bytes_total", { simulation: "v1", cgroup: "/", source: "slab" }),
    ).toBe(26 * PAGE);
  });

  it("continues counting across an instance reset (offsets of the old instance are kept)", async () => {
    const { registry, ex } = v1Limits();
    const scrape = start(registry);
    const before = await scrape();
    registry.reset("v1");
    const afterReset = await scrape();
    // the root survives a reset: its series continue from where they were
    for (const b of before.filter(
      (x) => x.name.endsWith("_total") && (x.labels.cgroup === "/" || x.labels.cgroup === undefined),
    )) {
      const a = select(afterReset, b.name, b.labels);
      expect(a.length, `${b.name}${JSON.stringify(b.labels)}`).toBe(1);
      expect(a[0].value).toBe(b.value);
    }
    // /k is gone with the reset; created again, it continues from its old totals
    expect(select(afterReset, "memcg_sim_memory_usage_bytes", { cgroup: "/k" })).toEqual([]);
    ex({ op: "createCgroup", path: "/k" });
    ex({ op: "spawnTask", cgroup: "/k", pid: 1 });
    ex({ op: "allocPages", pid: 1, kind: "anon", bytes: PAGE });
    const again = await scrape();
    const charged = (s: typeof before) =>
      value(s, "memcg_sim_charged_bytes_total", { ...K, counter: "memory" });
    expect(charged(again)).toBe(charged(before) + PAGE);
    expect(value(again, "memcg_sim_charge_failures_total", { ...K, reason: "kmem" })).toBe(1);
    expect(value(again, "memcg_sim_commands_total", { simulation: "v1", op: "createCgroup" })).toBe(2);
    expect(value(again, "memcg_sim_memory_usage_bytes", K)).toBe(PAGE);
  });
});

describe("series follow the life of cgroups and simulations", () => {
  it("keeps a dying cgroup's series and drops them once it is released", async () => {
    const { registry, ex } = newSim("d", { model: "v5.9" });
    ex({ op: "createCgroup", path: "/gone" });
    ex({ op: "spawnTask", cgroup: "/gone", pid: 7 });
    ex({ op: "allocPages", pid: 7, kind: "file", bytes: 2 * PAGE });
    ex({ op: "moveTask", pid: 7, cgroup: "/" });
    ex({ op: "removeCgroup", path: "/gone" });
    const scrape = start(registry);
    const dying = await scrape();
    expect(value(dying, "memcg_sim_dying_cgroups", { simulation: "d", cgroup: "/" })).toBe(1);
    expect(value(dying, "memcg_sim_memory_usage_bytes", { cgroup: "/gone" })).toBe(2 * PAGE);

    ex({ op: "freePages", cgroup: "/gone", kind: "file", bytes: 2 * PAGE });
    const released = await scrape();
    expect(value(released, "memcg_sim_dying_cgroups", { simulation: "d", cgroup: "/" })).toBe(0);
    expect(released.filter((x) => x.labels.cgroup === "/gone")).toEqual([]);
  });

  it("labels a dying cgroup path#id when an online cgroup takes its path", async () => {
    const { registry, ex } = newSim("d", { model: "v5.9" });
    ex({ op: "createCgroup", path: "/x" });
    ex({ op: "spawnTask", cgroup: "/x", pid: 7 });
    ex({ op: "allocPages", pid: 7, kind: "file", bytes: 3 * PAGE });
    ex({ op: "moveTask", pid: 7, cgroup: "/" });
    ex({ op: "removeCgroup", path: "/x" });
    ex({ op: "createCgroup", path: "/x" });
    const s = await start(registry)();
    const usage = select(s, "memcg_sim_memory_usage_bytes", { simulation: "d" }).map((x) => [
      x.labels.cgroup,
      x.value,
    ]);
    expect(usage).toEqual([
      ["/", 3 * PAGE],
      ["/x", 0],
      ["/x#2", 3 * PAGE],
    ]);
  });

  it("drops every series of a deleted simulation", async () => {
    const registry = new Registry();
    registry.create("one");
    registry.create("two");
    const scrape = start(registry);
    expect(new Set((await scrape()).map((x) => x.labels.simulation))).toEqual(new Set(["one", "two"]));
    registry.delete("one");
    expect(new Set((await scrape()).map((x) => x.labels.simulation))).toEqual(new Set(["two"]));
  });
});

describe("the per-scrape cgroup cap", () => {
  it("emits the first N cgroups in pre-order, simulations in name order, and counts the rest as truncated", async () => {
    const registry = new Registry();
    for (const name of ["b-sim", "a-sim"]) {
      registry.create(name);
      for (const p of ["/p", "/p/q", "/r"]) registry.execute(name, { op: "createCgroup", path: p });
    }
    const s = await start(registry, 6)();
    const cgroups = (sim: string) =>
      select(s, "memcg_sim_memory_usage_bytes", { simulation: sim }).map((x) => x.labels.cgroup);
    // 4 cgroups each (root, /p, /p/q, /r): a-sim takes 4, b-sim the 2 left of the budget of 6
    expect(cgroups("a-sim")).toEqual(["/", "/p", "/p/q", "/r"]);
    expect(cgroups("b-sim")).toEqual(["/", "/p"]);
    expect(value(s, "memcg_sim_metrics_truncated_cgroups", { simulation: "a-sim" })).toBe(0);
    expect(value(s, "memcg_sim_metrics_truncated_cgroups", { simulation: "b-sim" })).toBe(2);
    // per-simulation families are never truncated
    expect(select(s, "memcg_sim_dying_cgroups").length).toBe(2);
    expect(select(s, "memcg_sim_charged_bytes_total", { simulation: "b-sim", cgroup: "/r" })).toEqual([]);
    const cadvisor = parseText(await metrics!.cadvisorText());
    expect(
      select(cadvisor, "container_memory_usage_bytes", { simulation: "b-sim" }).map((x) => x.labels.id),
    ).toEqual(["/", "/p"]);
  });

  it("emits no per-cgroup series with a cap of 0", async () => {
    const { registry } = newSim("z");
    const s = await start(registry, 0)();
    expect(select(s, "memcg_sim_memory_usage_bytes")).toEqual([]);
    expect(value(s, "memcg_sim_metrics_truncated_cgroups", { simulation: "z" })).toBe(1);
  });
});

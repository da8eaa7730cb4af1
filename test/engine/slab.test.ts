import { describe, expect, it } from "vitest";
import { Sim } from "./helpers.js";

// docs/DOMAIN.md §5.3: SLUB slab lifecycle; page charges only when a slab is allocated or discarded.
describe("SLUB slabs", () => {
  function filled(model: "rfc-2012" | "v5.9", n: number) {
    const s = new Sim({ model, cpuCount: 4 });
    s.dentry();
    // the seed copies a registered cache into the cgroups created afterwards only
    if (model === "rfc-2012") s.ex({ op: "registerCache", name: "dentry" });
    s.mkdir("/a");
    const pid = s.spawn("/a", { cpu: 0 });
    const ids: number[] = s.alloc("dentry", { pid }, n).objectIds;
    return { s, pid, ids, cache: s.sim.slab.caches.get("dentry")! };
  }

  it("frees no page when every other object is freed", () => {
    const { s, ids, cache } = filled("rfc-2012", 2100);
    const inst = cache.children.get(s.cg("/a").id)!;
    expect(inst.slabCount).toBe(100);
    const r = s.ex({ op: "freeObjects", objectIds: ids.filter((_, i) => i % 2 === 0) });
    expect(r).toEqual({ freedCount: 1050, missingCount: 0, unchargedBytes: 0, freedSlabCount: 0 });
    expect(inst.slabCount).toBe(100);
    expect(inst.activeObjects).toBe(1050);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(100 * 4096);
  });

  it("parks slabs emptied by frees on the CPU partial list: no page freed below its bound (30 objects)", () => {
    const { s, ids, cache } = filled("rfc-2012", 21 * 8);
    const inst = cache.children.get(s.cg("/a").id)!;
    expect(inst.slabCount).toBe(8);
    // free slab by slab, oldest first: slabs 0..6 are full (off-list), slab 7 is the CPU slab
    let freedSlabs = 0;
    for (let k = 0; k < 7; k++)
      freedSlabs += s.ex({ op: "freeObjects", objectIds: ids.slice(21 * k, 21 * (k + 1)) }).freedSlabCount;
    // __slab_free: the first free of each full slab parks it (put_cpu_partial, pobjects 1..7 ≤
    // cpu_partial 30); the slab stays frozen there while it empties — nothing is discarded, the
    // node partial list stays empty (the min_partial rule applies when the list is unfrozen:
    // test/engine/slub-cpu-partial.test.ts)
    expect(freedSlabs).toBe(0);
    expect(inst.nrPartial).toBe(0);
    expect(inst.nrCpuPartial).toBe(7);
    expect(inst.slabCount).toBe(8);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(8 * 4096);
  });

  it("parks a full slab on the CPU partial list on its first free and takes it before allocating", () => {
    const { s, pid, ids, cache } = filled("rfc-2012", 42);
    const inst = cache.children.get(s.cg("/a").id)!;
    s.ex({ op: "freeObjects", objectIds: [ids[0]] });
    expect(inst.nrPartial).toBe(0);
    expect(inst.nrCpuPartial).toBe(1);
    expect(inst.cpuPartialHead[0]).toBeGreaterThanOrEqual(0);
    // the CPU slab is full: the next allocation takes the parked slab, not a new page
    s.alloc("dentry", { pid }, 1);
    expect(inst.slabCount).toBe(2);
    expect(inst.nrCpuPartial).toBe(0);
    s.alloc("dentry", { pid }, 1);
    expect(inst.slabCount).toBe(3);
  });

  it("uses one CPU slab per CPU", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 4 });
    s.dentry();
    const p0 = s.spawn("/", { cpu: 0 });
    const p1 = s.spawn("/", { cpu: 1 });
    s.alloc("dentry", { pid: p0 }, 1);
    s.alloc("dentry", { pid: p1 }, 1);
    expect(s.sim.slab.caches.get("dentry")!.base.slabCount).toBe(2);
  });

  it("answers missing for freed, reclaimed or unknown object ids", () => {
    const { s, ids } = filled("v5.9", 3);
    s.ex({ op: "freeObjects", objectIds: [ids[0]] });
    expect(s.ex({ op: "freeObjects", objectIds: [ids[0], ids[1], 123456789, ids[1]] })).toMatchObject({
      freedCount: 1,
      missingCount: 3,
    });
  });

  it("refuses to remove a cache that still has objects (CACHE_BUSY)", () => {
    const { s, ids } = filled("v5.9", 2);
    expect(() => s.ex({ op: "removeCache", name: "dentry" })).toThrowError(/still has 2 objects/);
    s.ex({ op: "freeObjects", objectIds: ids });
    s.ex({ op: "removeCache", name: "dentry" });
    expect(s.sim.slab.caches.size).toBe(0);
    expect(s.sim.slab.reclaimablePages).toBe(0);
  });
});

describe("do_shrink_slab (docs/DOMAIN.md §9.1)", () => {
  it("defers 4 objects at priority 12 for 10000 freeable objects with seeks 2, scanning nothing", () => {
    const s = new Sim({ model: "v5.9", memoryBytes: 1024 * 1024 * 1024 });
    s.dentry({ shrinker: { memcgAware: false, seeks: 2 } });
    s.alloc("dentry", { cgroup: "/" }, 10000);
    const cache = s.sim.slab.caches.get("dentry")!;
    const stats = {
      filePages: 0,
      slabPages: 0,
      scannedObjects: 0,
      freedObjects: 0,
      freedSlabs: 0,
      lowSkipped: false,
    };
    s.sim.slab.shrinkSlab(s.sim.root, 12, true, stats);
    expect(stats.scannedObjects).toBe(0);
    expect(cache.nrDeferred.get(0)).toBe(4);
    // priority 0: total = min((4 >> 0) + 20000, 2 × 10000) = 20000 → 156 batches of 128 (19968),
    // the list runs dry at 10000, and the 32 left are deferred: clamp(4 + 20000 − 19968, 0, 20000) = 36
    s.sim.slab.shrinkSlab(s.sim.root, 0, true, stats);
    expect(stats.scannedObjects).toBe(19968);
    expect(stats.freedObjects).toBe(10000);
    expect(cache.nrDeferred.get(0)).toBe(36);
  });

  it("gives delta 0 for fewer than 4096 objects at priority 12", () => {
    const s = new Sim({ model: "v5.9" });
    s.dentry({ shrinker: { memcgAware: false, seeks: 2 } });
    s.alloc("dentry", { cgroup: "/" }, 4095);
    const stats = {
      filePages: 0,
      slabPages: 0,
      scannedObjects: 0,
      freedObjects: 0,
      freedSlabs: 0,
      lowSkipped: false,
    };
    s.sim.slab.shrinkSlab(s.sim.root, 12, true, stats);
    expect(s.sim.slab.caches.get("dentry")!.nrDeferred.get(0)).toBe(0);
  });

  it("leaves non-memcg-aware shrinkers alone in memcg reclaim and runs them in global reclaim", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    s.cache("xfs_buf", 384, {
      flags: { account: true, reclaimAccount: true },
      shrinker: { memcgAware: false, seeks: 2 },
    });
    s.dentry();
    s.alloc("xfs_buf", { cgroup: "/a" }, 500);
    s.alloc("dentry", { cgroup: "/a" }, 500);
    const r = s.ex({ op: "reclaim", cgroup: "/a", bytes: 4096 * 64 });
    expect(r.error).toBe("EAGAIN");
    expect(s.sim.slab.caches.get("xfs_buf")!.totals().activeObjects).toBe(500);
    expect(s.sim.slab.caches.get("dentry")!.totals().activeObjects).toBe(0);
    const g = s.ex({ op: "reclaim", cgroup: "/", bytes: 4096 * 64 });
    expect(g.freedObjectCount).toBe(500);
    expect(s.sim.slab.caches.get("xfs_buf")!.totals().activeObjects).toBe(0);
  });
});

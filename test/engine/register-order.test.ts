import { describe, expect, it } from "vitest";
import { checkInvariants } from "../../src/engine/invariants.js";
import { registerCacheAtBoot } from "../../src/engine/slab-api.js";
import { PAGE, Sim } from "./helpers.js";

/**
 * Fidelity-audit row 31: in the 2012 patch ("[PATCH 3/7] per-cgroup slab caches", Feb 2012)
 * `register_memcg_cache` only fills `kmem_avail_caches[]`; a cgroup gets its copy of every
 * registered cache when it is created (`mem_cgroup_create` → `memcg_create_kmem_caches`), and
 * never later. A cache registered after `/a` exists is therefore neither copied into `/a` nor
 * charged there: `/a`'s dentries come from the base cache, unaccounted. A cgroup created after the
 * registration (`/b`) gets `dentry-<index>` and pays its slab pages. The later eras account a cache
 * in cgroups that existed before it (3.8/4.5: copies made lazily on the first allocation; 5.9+:
 * shared caches, objects charged), as before.
 *
 * The scenario, one CPU, exact accounting (chargeBatchPages 1): `/a`, then the cache (`dentry`,
 * 192 B, 21 objects per 4 KiB slab), 42 dentries by a task of `/a`, then `/b` and 42 dentries by a
 * task of `/b`. 42 dentries fill two slabs (8192 bytes) in a page-charged era; in 5.9+ they are
 * 42 × (192 + 8) = 8400 bytes, three pages through the object stock (12288).
 */
type Row = readonly [
  model: "rfc-2012" | "v3.8" | "v4.5" | "v5.9" | "v6.18",
  a: number,
  aKmem: number,
  b: number,
  bKmem: number,
];

describe("row 31: a cache registered after a cgroup exists", () => {
  it.each([
    // the seed: nothing in /a; /b's two slabs on the memory counter (no kmemIndependentAccounting)
    ["rfc-2012", 0, 0, 2 * PAGE, 0],
    ["v3.8", 2 * PAGE, 2 * PAGE, 2 * PAGE, 2 * PAGE],
    ["v4.5", 2 * PAGE, 2 * PAGE, 2 * PAGE, 2 * PAGE],
    ["v5.9", 3 * PAGE, 3 * PAGE, 3 * PAGE, 3 * PAGE],
    ["v6.18", 3 * PAGE, 3 * PAGE, 3 * PAGE, 3 * PAGE],
  ] as Row[])("%s v1: /a usage %i kmem %i, /b usage %i kmem %i", (model, a, aKmem, b, bKmem) => {
    const s = new Sim({ model, cgroupVersion: 1, cpuCount: 1, chargeBatchPages: 1 });
    const activate = (p: string) => {
      // 3.8 and 4.5 on v1 account kmem only after a kmem.limit_in_bytes write (audit rows 18, 19)
      if (model === "v3.8" || model === "v4.5") s.write(p, "memory.kmem.limit_in_bytes", "1G");
    };
    s.mkdir("/a");
    activate("/a");
    const seed = model === "rfc-2012";
    s.ex({
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { reclaimAccount: true, account: !seed },
    });
    if (seed) {
      // register_memcg_cache: the registered cache gets no copy in the existing /a
      const view = s.ex({ op: "registerCache", name: "dentry" });
      expect(view.accounted).toBe(true);
      expect(view.children).toEqual([]);
    }
    s.alloc("dentry", { pid: s.spawn("/a", { cpu: 0 }) }, 42);
    s.mkdir("/b");
    activate("/b");
    s.alloc("dentry", { pid: s.spawn("/b", { cpu: 0 }) }, 42);
    expect([s.num("/a", "memory.usage_in_bytes"), s.num("/a", "memory.kmem.usage_in_bytes")]).toEqual([
      a,
      aKmem,
    ]);
    expect([s.num("/b", "memory.usage_in_bytes"), s.num("/b", "memory.kmem.usage_in_bytes")]).toEqual([
      b,
      bKmem,
    ]);
    if (seed) {
      // /b's copy was made by its creation; /a has none, and its 42 dentries are in the base cache
      const cache = s.sim.slab.caches.get("dentry")!;
      expect([...cache.children.values()].map((c) => c.displayName)).toEqual([
        `dentry-${s.cg("/b").memcgIndex}`,
      ]);
      expect(cache.base.activeObjects).toBe(42);
    }
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("rfc-2012 with kmemIndependentAccounting: /b's slabs on the kmem counter, /a's nowhere", () => {
    const s = new Sim({
      model: "rfc-2012",
      kmemIndependentAccounting: true,
      cpuCount: 1,
      chargeBatchPages: 1,
    });
    s.mkdir("/a");
    s.ex({ op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { reclaimAccount: true } });
    s.ex({ op: "registerCache", name: "dentry" });
    s.mkdir("/b");
    s.alloc("dentry", { cgroup: "/a" }, 21);
    s.alloc("dentry", { cgroup: "/b" }, 21);
    expect([s.num("/a", "memory.usage_in_bytes"), s.num("/a", "memory.kmem.usage_in_bytes")]).toEqual([0, 0]);
    expect([s.num("/b", "memory.usage_in_bytes"), s.num("/b", "memory.kmem.usage_in_bytes")]).toEqual([
      0,
      PAGE,
    ]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("registerCacheAtBoot (the recording replay's): the online cgroups get the copies their creation would have made, exactly as a registration before them", () => {
    // the same scenario twice: the cache registered before the cgroups, or as at boot after them
    const run = (atBoot: boolean) => {
      const s = new Sim({
        model: "rfc-2012",
        kmemIndependentAccounting: true,
        cpuCount: 1,
        chargeBatchPages: 1,
      });
      const cache = () => {
        s.ex({ op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { reclaimAccount: true } });
        if (atBoot) registerCacheAtBoot(s.sim, "dentry");
        else s.ex({ op: "registerCache", name: "dentry" });
      };
      if (!atBoot) cache();
      s.mkdir("/a", "/b", "/c");
      s.rmdir("/c");
      if (atBoot) cache();
      s.alloc("dentry", { pid: s.spawn("/a", { cpu: 0 }) }, 21);
      s.alloc("dentry", { pid: s.spawn("/b", { cpu: 0 }) }, 42);
      const dentry = s.sim.slab.caches.get("dentry")!;
      expect(checkInvariants(s.sim)).toEqual([]);
      return {
        copies: [...dentry.children.values()].map((c) => c.displayName),
        base: dentry.base.activeObjects,
        kmem: [s.num("/a", "memory.kmem.usage_in_bytes"), s.num("/b", "memory.kmem.usage_in_bytes")],
        registerCache: s.sim.opCounts.get("registerCache"),
      };
    };
    const expected = {
      copies: ["dentry-1", "dentry-2"],
      base: 0,
      kmem: [PAGE, 2 * PAGE],
      registerCache: 1,
    };
    expect(run(true)).toEqual(expected);
    expect(run(false)).toEqual(expected);
  });

  it("registerCacheAtBoot in the later eras: no copy made (they copy on first use or share the cache)", () => {
    for (const model of ["v3.8", "v4.5", "v5.9", "v6.18"] as const) {
      const s = new Sim({ model, cpuCount: 1 });
      s.mkdir("/a");
      s.ex({ op: "createCache", name: "dentry", objectSizeBytes: 192 });
      const cache = registerCacheAtBoot(s.sim, "dentry");
      expect([cache.accounted, cache.children.size]).toEqual([true, 0]);
    }
  });
});

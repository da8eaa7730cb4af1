import { describe, expect, it } from "vitest";
import { procMeminfo, procSlabinfo } from "../../src/engine/cgroupfs/proc.js";
import type { ModelName } from "../../src/engine/config.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { RCU_GRACE_PERIOD_MS } from "../../src/engine/slab/kmem.js";
import { Sim } from "./helpers.js";

// SLAB_TYPESAFE_BY_RCU (docs/DOMAIN.md §5.1, §5.3): the free pointer cannot overlay the object, so 8 more
// bytes per object; a discarded slab leaves the cache at once (`dec_slabs_node`: slabinfo stops
// counting it) but its pages, slab statistics and page charge (models A/B/B′) go only when the RCU
// callback runs (`call_rcu(rcu_free_slab)` → `__free_slab`), after a grace period of simulated time
// (RCU_GRACE_PERIOD_MS, a decision: 10 ms). Each case runs a twin instance with the same cache
// without the flag (object size 200 = 192 + 8, the same geometry), so every difference is the
// grace period alone.
const meminfo = (s: Sim, key: string): number =>
  Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(procMeminfo(s.sim))![1]);
// num_slabs of the cache; rfc-2012 lists its copies on lines of their own (`<name>-<n>`), summed here
const slabs = (s: Sim, name: string): number =>
  procSlabinfo(s.sim)
    .split("\n")
    .filter((l) => l.startsWith(`${name} `) || new RegExp(`^${name}-\\d+ `).test(l))
    .reduce((n, line) => n + Number(line.split(":")[2].trim().split(/\s+/)[2]), 0); // slabdata <active_slabs> <num_slabs> ...

function twins(model: ModelName) {
  const make = (rcu: boolean) => {
    const s = new Sim({ model, cpuCount: 1 });
    s.ex({
      op: "createCache",
      name: "anon_vma",
      objectSizeBytes: rcu ? 192 : 200,
      flags: { account: true, typesafeByRcu: rcu },
    });
    // the seed copies a registered cache into the cgroups created afterwards only
    if (model === "rfc-2012") s.ex({ op: "registerCache", name: "anon_vma" });
    s.mkdir("/a");
    // 3.8 and 4.5 (cgroup v1) account kmem only once kmem.limit_in_bytes was written
    if (model === "v3.8" || model === "v4.5") s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    const pid = s.spawn("/a");
    return { s, pid };
  };
  return { rcu: make(true), plain: make(false) };
}

describe("SLAB_TYPESAFE_BY_RCU caches", () => {
  it("place the free pointer after the object: 192 B objects take 200 B slots, 20 per 4 KiB slab", () => {
    const { rcu } = twins("v5.9");
    const c = rcu.s.ex({
      op: "createCache",
      name: "x",
      objectSizeBytes: 192,
      flags: { typesafeByRcu: true },
    });
    expect(c).toMatchObject({ sizeBytes: 200, objectsPerSlab: 20, order: 0 });
    expect(c.flags).toEqual({
      account: false,
      reclaimAccount: false,
      hwcacheAlign: false,
      typesafeByRcu: true,
    });
  });

  for (const model of ["rfc-2012", "v3.8", "v4.5", "v5.9"] as ModelName[]) {
    it(`${model}: freed slabs leave slabinfo at once; their pages, Slab and charges after the grace period`, () => {
      const { rcu, plain } = twins(model);
      const before: number[] = [];
      for (const t of [rcu, plain]) {
        t.s.ex({ op: "allocObjects", cache: "anon_vma", pid: t.pid, count: 800 });
        before.push(slabs(t.s, "anon_vma"));
        t.s.ex({ op: "freeObjects", cache: "anon_vma", pid: t.pid, count: 800 });
      }
      // the same slabs, in slabinfo at once: the frees park the full slabs on the CPU's partial
      // list; the 32nd parked slab drains it (pobjects 31 > cpu_partial 30): of its 31 empty slabs
      // min_partial keeps 5 on the node, 26 are discarded; 8 stay parked, 1 is the CPU slab
      expect(before[0]).toBe(before[1]);
      expect(slabs(rcu.s, "anon_vma")).toBe(slabs(plain.s, "anon_vma"));
      if (model === "v5.9") expect([before[1], slabs(plain.s, "anon_vma")]).toEqual([40, 14]);
      const inFlight = before[1] - slabs(plain.s, "anon_vma"); // discarded slabs, one page each
      expect(inFlight).toBeGreaterThanOrEqual(15);
      expect(meminfo(rcu.s, "Slab")).toBe(meminfo(plain.s, "Slab") + inFlight * 4);
      expect(meminfo(rcu.s, "MemFree")).toBe(meminfo(plain.s, "MemFree") - inFlight * 4);
      // the counter slab pages charge: rfc-2012's `memory` (kmem on its own counter is an option)
      const file = (
        {
          "rfc-2012": "memory.usage_in_bytes",
          "v3.8": "memory.kmem.usage_in_bytes",
          "v4.5": "memory.kmem.usage_in_bytes",
          "v5.9": "memory.current",
        } as Record<string, string>
      )[model];
      const charged = (t: typeof rcu) => t.s.num("/a", file);
      // page-charged models keep the pages charged until the callback; model C charged objects,
      // and those were uncharged at each free
      expect(charged(rcu)).toBe(charged(plain) + (model === "v5.9" ? 0 : inFlight * 4096));
      expect(checkInvariants(rcu.s.sim)).toEqual([]);
      rcu.s.ex({ op: "advanceClock", ms: RCU_GRACE_PERIOD_MS - 1 });
      expect(meminfo(rcu.s, "Slab")).toBe(meminfo(plain.s, "Slab") + inFlight * 4);
      rcu.s.ex({ op: "advanceClock", ms: 1 });
      expect(meminfo(rcu.s, "Slab")).toBe(meminfo(plain.s, "Slab"));
      expect(meminfo(rcu.s, "MemFree")).toBe(meminfo(plain.s, "MemFree"));
      expect(charged(rcu)).toBe(charged(plain));
      expect(checkInvariants(rcu.s.sim)).toEqual([]);
    });
  }

  it("removing the cache completes its pending frees (kmem_cache_destroy runs rcu_barrier)", () => {
    const { rcu, plain } = twins("v5.9");
    for (const t of [rcu, plain]) {
      t.s.ex({ op: "allocObjects", cache: "anon_vma", pid: t.pid, count: 800 });
      t.s.ex({ op: "freeObjects", cache: "anon_vma", pid: t.pid, count: 800 });
      t.s.ex({ op: "removeCache", name: "anon_vma" });
    }
    expect(meminfo(rcu.s, "Slab")).toBe(0);
    expect(meminfo(rcu.s, "MemFree")).toBe(meminfo(plain.s, "MemFree"));
    expect(checkInvariants(rcu.s.sim)).toEqual([]);
  });

  it("v4.5: a removed cgroup's copy is destroyed with its pending frees, and the cgroup released", () => {
    const { rcu, plain } = twins("v4.5");
    for (const { s, pid } of [rcu, plain]) {
      s.ex({ op: "allocObjects", cache: "anon_vma", pid, count: 400 });
      s.ex({ op: "exitTask", pid });
      s.rmdir("/a");
      expect(s.sim.dyingCount).toBe(1); // its copy holds slabs
      s.ex({ op: "freeObjects", cache: "anon_vma", cgroup: "/a", count: 400 });
      // the last free emptied the dying copy: destroyed (after rcu_barrier), nothing pins /a
      expect(s.sim.dyingCount).toBe(0);
      expect(checkInvariants(s.sim)).toEqual([]);
    }
    expect(meminfo(rcu.s, "Slab")).toBe(meminfo(plain.s, "Slab"));
    expect(rcu.s.num("/", "memory.kmem.usage_in_bytes")).toBe(plain.s.num("/", "memory.kmem.usage_in_bytes"));
  });
});

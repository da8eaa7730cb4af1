import { describe, expect, it } from "vitest";
import { checkInvariants } from "../../src/engine/invariants.js";
import { Simulation } from "../../src/engine/simulation.js";
import { captureState, restoreState } from "../../src/engine/snapshot.js";
import { PAGE, Sim } from "./helpers.js";

/**
 * What a new memory cgroup costs its parent (audit row 22, percpu; src/engine/memcg-alloc.ts):
 * mem_cgroup_css_alloc allocates the cgroup's statistics with GFP_KERNEL_ACCOUNT while the parent
 * is the active memcg. The 6.18 numbers are what the recorded 6.18 host showed (x86_64, 2 possible
 * CPUs, cgroup v1): one `mkdir` traced kmalloc 1712 B (kmalloc-cg-2k) and 792 B (kmalloc-cg-1k)
 * and per-CPU areas of 1216, 24 and 528 B, whose percpu_alloc_percpu events printed
 * bytes_alloc 4864, 96 and 2112 (size × 2 CPUs + an objcg pointer per 4 B); the parent's
 * kmem.usage_in_bytes read 12288 after one child, 114688 after eleven, 4096 once they were removed.
 */
const stat = (s: Sim, path: string, key: string) => s.stat(path, key);

describe("memcg-alloc: a new cgroup's statistics are charged to its parent", () => {
  it("v6.18 (v1, 2 CPUs): the parent's kmem after 1 and 11 children and after their removal, as the host read it", () => {
    const s = new Sim({ model: "v6.18", cgroupVersion: 1, cpuCount: 2 });
    s.mkdir("/p");
    expect(s.num("/p", "memory.kmem.usage_in_bytes")).toBe(0);
    s.mkdir("/p/c1");
    // 2056 + 4864 + 96 + 1032 + 2112 = 10160 B: 3 pages, charged in one batch of 64
    expect(s.num("/p", "memory.kmem.usage_in_bytes")).toBe(12288);
    expect(s.num("/p", "memory.usage_in_bytes")).toBe(262144);
    for (let i = 2; i <= 11; i++) s.mkdir(`/p/c${i}`);
    // 11 × 10160 = 111760 B: 28 pages
    expect(s.num("/p", "memory.kmem.usage_in_bytes")).toBe(114688);
    expect(checkInvariants(s.sim)).toEqual([]);
    for (let i = 1; i <= 11; i++) s.rmdir(`/p/c${i}`);
    // removed but not freed yet: mem_cgroup_free runs a grace period after the release
    expect(s.num("/p", "memory.kmem.usage_in_bytes")).toBe(114688);
    expect(checkInvariants(s.sim)).toEqual([]);
    s.ex({ op: "advanceClock", ms: 10 });
    // 111760 B back through the obj stock: a page stays stocked (refill_obj_stock keeps ≤ a page)
    expect(s.num("/p", "memory.kmem.usage_in_bytes")).toBe(4096);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v6.18 (v2, 2 CPUs): percpu 7072 (4864 + 96 + 2112), slab_unreclaimable 3088, kernel 3 pages", () => {
    const s = new Sim({ model: "v6.18", cgroupVersion: 2, cpuCount: 2 });
    s.mkdir("/p", "/p/c");
    expect([stat(s, "/p", "percpu"), stat(s, "/p", "slab_unreclaimable"), stat(s, "/p", "kernel")]).toEqual([
      7072,
      3088,
      3 * PAGE,
    ]);
    // the child's own files: nothing of it is charged to itself
    expect([stat(s, "/p/c", "percpu"), stat(s, "/p/c", "kernel")]).toEqual([0, 0]);
    // hierarchical: the root's children each count what their subtree holds
    s.mkdir("/p/c/d");
    expect(stat(s, "/p", "percpu")).toBe(2 * 7072);
    expect(stat(s, "/p/c", "percpu")).toBe(7072);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v5.9 (v2): four per-CPU areas (2 × 1112 + 2 × 296 B per CPU), no objcg pointers, no kmalloc", () => {
    for (const [cpuCount, percpu, pages] of [
      [1, 2816, 1],
      [2, 5632, 2],
      [4, 11264, 3],
    ] as const) {
      const s = new Sim({ model: "v5.9", cgroupVersion: 2, cpuCount, chargeBatchPages: 1 });
      s.mkdir("/p", "/p/c");
      expect(stat(s, "/p", "percpu")).toBe(percpu);
      expect(stat(s, "/p", "slab_unreclaimable")).toBe(0);
      expect(s.num("/p", "memory.current")).toBe(pages * PAGE);
    }
  });

  it.each([
    ["rfc-2012", 1],
    ["v3.8", 1],
    ["v4.5", 1],
    ["v4.5", 2],
  ] as const)("%s (cgroup v%i): no part of a new cgroup is charged", (model, cgroupVersion) => {
    const s = new Sim({ model, cgroupVersion, chargeBatchPages: 1 });
    s.mkdir("/p");
    if (cgroupVersion === 1) s.write("/p", "memory.kmem.limit_in_bytes", "1G");
    s.mkdir("/p/c");
    expect(s.num("/p", cgroupVersion === 2 ? "memory.current" : "memory.usage_in_bytes")).toBe(0);
  });

  it("a top-level cgroup costs no one: the root memcg has no objcg", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 2 });
    s.mkdir("/a");
    expect(s.sim.root.memory.usage).toBe(0);
    expect(s.sim.root.percpuBytesHier).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("a parent that cannot be charged fails the mkdir with ENOMEM: no cgroup, the charged part given back", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 2, chargeBatchPages: 1 });
    s.mkdir("/p");
    s.write("/p", "memory.max", "8K");
    // 10160 B need 3 pages: the per-CPU area's second page is over the 2-page max (nothing to
    // reclaim, no task to kill: ENOMEM)
    expect(() => s.mkdir("/p/c")).toThrow(/ENOMEM|cannot charge/);
    expect(() => s.read("/p/c", "memory.current")).toThrow();
    // mem_cgroup_alloc's error path frees what it had (mem_cgroup_free): 2056 + 4864 + 96 B back
    // through the obj stock, which keeps up to a page — that page stays charged, as in the kernel
    expect([s.num("/p", "memory.current"), stat(s, "/p", "percpu"), stat(s, "/p", "kernel")]).toEqual([
      PAGE,
      0,
      PAGE,
    ]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("reparenting: a grandchild freed after its parent's rmdir uncharges the grandparent", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 2, chargeBatchPages: 1 });
    s.mkdir("/p", "/p/c", "/p/c/d");
    expect(stat(s, "/p/c", "percpu")).toBe(7072);
    s.rmdir("/p/c/d");
    s.rmdir("/p/c");
    // /p/c's objcg, which pays for /p/c/d, now charges /p: d's areas count in /p's own percpu
    expect(stat(s, "/p", "percpu")).toBe(2 * 7072);
    expect(checkInvariants(s.sim)).toEqual([]);
    s.ex({ op: "advanceClock", ms: 10 });
    expect(stat(s, "/p", "percpu")).toBe(0);
    expect(stat(s, "/p", "slab_unreclaimable")).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("a snapshot taken while a removed cgroup waits to be freed restores it, and the free happens after", () => {
    const a = new Simulation({ model: "v6.18", cgroupVersion: 2, cpuCount: 2 });
    for (const path of ["/p", "/p/c"]) a.execute({ op: "createCgroup", path });
    a.execute({ op: "removeCgroup", path: "/p/c" });
    expect(a.memcgFreePending).toHaveLength(1);
    const b = restoreState(structuredClone(captureState(a)));
    for (const sim of [a, b]) {
      expect(sim.readFile("/p", "memory.stat")).toMatch(/^percpu 7072$/m);
      sim.execute({ op: "advanceClock", ms: 10 });
      expect(sim.readFile("/p", "memory.stat")).toMatch(/^percpu 0$/m);
      expect(sim.memcgFreePending).toHaveLength(0);
      expect(checkInvariants(sim)).toEqual([]);
    }
    expect(b.readFile("/p", "memory.current")).toBe(a.readFile("/p", "memory.current"));
  });
});

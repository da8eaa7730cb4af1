import { describe, expect, it } from "vitest";
import { Simulation } from "../../src/engine/simulation.js";

// docs/DOMAIN.md §0, §11 model A: with kmem_independent_accounting the seed charges slab pages to
// memcg->kmem; a charge over the kmem limit frees the page and fails the allocation, no reclaim.
describe("rfc-2012 with kmemIndependentAccounting", () => {
  it("fails at the kmem limit and names the cgroup whose kmem counter failed", () => {
    const sim = new Simulation({ model: "rfc-2012", kmemIndependentAccounting: true, cpuCount: 4 });
    sim.execute({ op: "writeFile", cgroup: "/", file: "memory.use_hierarchy", value: "1" });
    // registered before the cgroups exist: the seed copies a cache only at mem_cgroup_create
    sim.execute({ op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { reclaimAccount: true } });
    sim.execute({ op: "registerCache", name: "dentry" });
    sim.execute({ op: "createCgroup", path: "/w" });
    sim.execute({ op: "createCgroup", path: "/w/a" });
    sim.execute({ op: "writeFile", cgroup: "/w", file: "memory.kmem.limit_in_bytes", value: "8K" });
    sim.execute({ op: "spawnTask", cgroup: "/w/a", pid: 10, cpu: 0 });
    // 192 B objects, 21 per order-0 slab (docs/DOMAIN.md §5.2, 4 CPUs): two slabs fit under 8 KiB, the 43rd object needs a third
    const r = sim.execute({ op: "allocObjects", cache: "dentry", pid: 10, count: 50 }) as {
      allocatedCount: number;
      error: string;
      failedAt: string;
    };
    expect(r.allocatedCount).toBe(42);
    expect(r.error).toBe("ENOMEM");
    expect(r.failedAt).toBe("/w");
    expect(sim.readFile("/w", "memory.kmem.usage_in_bytes")).toBe("8192\n");
    expect(sim.readFile("/w", "memory.kmem.failcnt")).toBe("1\n");
    expect(sim.readFile("/w/a", "memory.kmem.failcnt")).toBe("0\n");
    // the memory counter never saw the slab pages
    expect(sim.readFile("/w", "memory.usage_in_bytes")).toBe("0\n");
  });
});

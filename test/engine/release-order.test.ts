import { describe, expect, it } from "vitest";
import { Simulation } from "../../src/engine/simulation.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { cgroupView } from "../../src/engine/views.js";

// docs/DOMAIN.md §10: a removed cgroup is released when nothing pins it — and a child's css holds a
// reference on its parent's (css_release → css_put(parent)), so a removed parent whose removed
// child is still pinned stays dying until that child is released.
describe("release order of nested dying cgroups (v4.5, cgroup v2)", () => {
  it("keeps a removed parent dying while its removed child is pinned, then releases both", () => {
    const sim = new Simulation({ model: "v4.5", cgroupVersion: 2, cpuCount: 1 });
    for (const p of ["/a", "/a/b", "/a/b/d"]) sim.execute({ op: "createCgroup", path: p });
    sim.execute({
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    });
    sim.execute({ op: "spawnTask", cgroup: "/a/b/d", pid: 7, cpu: 0 });
    // the first allocation queues d's copy and is served by the root cache (docs/DOMAIN.md §6.1 step 4)
    sim.execute({ op: "allocObjects", cache: "dentry", pid: 7, count: 1 });
    const r = sim.execute({ op: "allocObjects", cache: "dentry", pid: 7, count: 5 }) as {
      objectIds: number[];
    };
    sim.execute({ op: "exitTask", pid: 7 });
    sim.execute({ op: "removeCgroup", path: "/a/b/d" });
    sim.execute({ op: "removeCgroup", path: "/a/b" });
    expect(sim.lookup("/a/b", true).state).toBe("dying");
    expect(cgroupView(sim, sim.lookup("/a")).dyingDescendantCount).toBe(2);
    // one slab page charged to d, seen at every level up to /a
    expect(sim.readFile("/a", "memory.current")).toBe("4096\n");
    expect(checkInvariants(sim)).toEqual([]);
    sim.execute({ op: "freeObjects", objectIds: r.objectIds });
    expect(cgroupView(sim, sim.lookup("/a")).dyingDescendantCount).toBe(0);
    expect(sim.readFile("/a", "memory.current")).toBe("0\n");
    expect(cgroupView(sim, sim.lookup("/a")).descendantCount).toBe(0);
    expect(checkInvariants(sim)).toEqual([]);
  });
});

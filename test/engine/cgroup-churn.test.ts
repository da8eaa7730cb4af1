import { describe, expect, it } from "vitest";
import type { ModelName } from "../../src/engine/config.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { Sim } from "./helpers.js";

// A released cgroup leaves nothing behind in the slab system but its objcg's two array entries
// (SlabSystem.cgroupReleased): its objcgs point at the root, its emptied lists and their sentinel
// slots are reused, its per-cache map entries go. Before, models A/B/B′ kept every Cgroup object
// ever created reachable (~1.7 KB each) and every list sentinel.
describe("container churn", () => {
  for (const model of ["rfc-2012", "v3.8", "v4.5", "v5.9"] as ModelName[]) {
    it(`${model}: 2,000 created and removed cgroups leave no lists, map entries or cgroups behind`, () => {
      const s = new Sim({ model, cpuCount: 2 });
      s.ex({
        op: "createCache",
        name: "dentry",
        objectSizeBytes: 192,
        flags: { account: true, reclaimAccount: true },
      });
      if (model === "rfc-2012") s.ex({ op: "registerCache", name: "dentry" });
      s.mkdir("/pods");
      let slotsAfterWarmup = 0;
      for (let i = 0; i < 2000; i++) {
        const path = `/pods/c${i}`;
        s.mkdir(path);
        if (model === "v3.8") s.write(path, "memory.kmem.limit_in_bytes", "1G");
        const pid = s.spawn(path);
        s.ex({ op: "allocObjects", cache: "dentry", pid, count: 30 });
        s.ex({ op: "freeObjects", cache: "dentry", pid, count: 30 });
        s.ex({ op: "exitTask", pid });
        s.rmdir(path);
        s.ex({ op: "advanceClock", ms: 10 });
        if (i === 99) slotsAfterWarmup = s.sim.slab.slotCapacity;
      }
      const slab = s.sim.slab;
      expect(s.sim.dyingCount).toBe(0);
      // no objcg keeps a released cgroup reachable
      expect(slab.objcgMemcg.filter((c) => c.state === "released")).toEqual([]);
      const cache = slab.caches.get("dentry")!;
      // lists of /, /pods at most (the churned cgroups' lists are gone)
      expect(cache.ownerLists.size).toBeLessThanOrEqual(2);
      expect(cache.lruLists.size).toBeLessThanOrEqual(2);
      expect(cache.lruFwd.size).toBe(0);
      expect([...cache.nrDeferred.keys()].every((id) => id <= 2)).toBe(true);
      // list sentinels are reused: the slot arrays stopped growing after the first 100 cgroups
      expect(slab.slotCapacity).toBe(slotsAfterWarmup);
      expect(checkInvariants(s.sim)).toEqual([]);
    });
  }

  it("v5.9: a cgroup that inherited 200,000 objcgs from removed children hands them on at its own rmdir", () => {
    // (as a long-lived parent of churned containers does; the ids move one by one, not as a
    // spread of arguments, which overflows the stack)
    const s = new Sim({ model: "v5.9", cpuCount: 1 });
    s.mkdir("/a", "/a/pods");
    const pods = s.sim.lookup("/a/pods");
    for (let i = 0; i < 200_000; i++) s.sim.slab.newObjcg(pods);
    s.rmdir("/a/pods");
    const a = s.sim.lookup("/a");
    expect(a.objcgsHere.length).toBe(200_002); // its own, /a/pods own and the 200,000
    expect(pods.objcgsHere.length).toBe(0);
    expect(s.sim.slab.objcgMemcg.filter((c) => c === pods)).toEqual([]);
  });
});

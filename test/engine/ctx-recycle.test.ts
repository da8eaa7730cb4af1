import { describe, expect, it } from "vitest";
import { checkInvariants } from "../../src/engine/invariants.js";
import { Sim } from "./helpers.js";

// Allocation contexts (one per (objcg, pid) that allocated) are recycled once their task has
// exited and their last object is freed, so task churn does not grow the engine's per-context
// tables (SlabSystem.taskExited). Context ids are internal: recycling changes no answer.
describe("allocation contexts under task churn", () => {
  it("stay bounded by the tasks alive or holding objects, not by every task ever seen", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 2 });
    s.mkdir("/a", "/b");
    s.ex({
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    });
    for (let i = 0; i < 3000; i++) {
      const pid = s.spawn(i % 2 === 0 ? "/a" : "/b");
      s.ex({ op: "allocObjects", cache: "dentry", pid, count: 10 });
      expect(s.ex({ op: "freeObjects", cache: "dentry", pid, count: 5, order: "oldest" }).freedCount).toBe(5);
      s.ex({ op: "exitTask", pid }); // 5 objects outlive the task
      if (i % 100 === 99) {
        // 100 exited tasks hold objects here; then their cgroups' objects all go
        expect(s.sim.slab.ctxInUse).toBe(100);
        for (const cg of ["/a", "/b"])
          expect(s.ex({ op: "freeObjects", cache: "dentry", cgroup: cg, count: 250 }).freedCount).toBe(250);
        expect(s.sim.slab.ctxInUse).toBe(0);
        expect(checkInvariants(s.sim)).toEqual([]);
      }
    }
    // one table slot per context alive at once, reused since
    expect(s.sim.slab.ctxObjcg.length).toBe(100);
    expect(s.sim.slab.liveObjects).toBe(0);
  });

  it("a new task with the pid of an exited one continues its objects (free by pid selects by pid)", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1 });
    s.mkdir("/a");
    s.ex({ op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { account: true } });
    s.spawn("/a", { pid: 100 });
    s.ex({ op: "allocObjects", cache: "dentry", pid: 100, count: 3 });
    s.ex({ op: "exitTask", pid: 100 });
    expect(s.sim.slab.exitedCtxs.size).toBe(1);
    s.spawn("/a", { pid: 100 });
    s.ex({ op: "allocObjects", cache: "dentry", pid: 100, count: 2 });
    expect(s.sim.slab.exitedCtxs.size).toBe(0); // in use again
    expect(s.sim.slab.ctxInUse).toBe(1);
    expect(checkInvariants(s.sim)).toEqual([]);
    expect(s.ex({ op: "freeObjects", cache: "dentry", pid: 100, count: 10, order: "newest" })).toMatchObject({
      freedCount: 5,
      missingCount: 5,
    });
    // the task lives on: its context stays (its memo names it) and takes new objects
    expect(s.sim.slab.ctxInUse).toBe(1);
    s.ex({ op: "allocObjects", cache: "dentry", pid: 100, count: 1 });
    expect(checkInvariants(s.sim)).toEqual([]);
    s.ex({ op: "exitTask", pid: 100 });
    s.ex({ op: "freeObjects", cache: "dentry", cgroup: "/a", count: 1 });
    expect(s.sim.slab.ctxInUse).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });
});

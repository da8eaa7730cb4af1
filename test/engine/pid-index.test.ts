import { describe, expect, it } from "vitest";
import { Sim } from "./helpers.js";

// Tasks and allocation contexts are found by pid through an array for pids up to pid_max
// (4,194,304, the API's limit) and through a Map above it (the engine itself takes any pid).
// Both paths must answer the same: lookups, free by pid, exit and reuse of a pid.
describe("tasks by pid (array below pid_max, Map above)", () => {
  it("allocates, frees by pid, exits and reuses pids on both sides of the index", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a", "/b");
    s.ex({
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    });
    const pids = [7, 4_194_304, 4_194_305, 9_000_000];
    for (const [i, pid] of pids.entries()) s.spawn(i % 2 === 0 ? "/a" : "/b", { pid });
    for (const [i, pid] of pids.entries()) {
      const r = s.ex({
        op: "allocObjects",
        cache: "dentry",
        pid,
        count: 10 * (i + 1),
        returnObjectIds: false,
      });
      expect(r.allocatedCount).toBe(10 * (i + 1));
    }
    // a second context for pid 9,000,000: the same task moved to /a allocates there too
    s.ex({ op: "moveTask", pid: 9_000_000, cgroup: "/a" });
    s.ex({ op: "allocObjects", cache: "dentry", pid: 9_000_000, count: 5, returnObjectIds: false });
    // free by pid takes exactly that task's objects, from every cgroup they were charged to
    expect(
      s.ex({ op: "freeObjects", cache: "dentry", pid: 9_000_000, count: 1000, order: "oldest" }),
    ).toMatchObject({
      freedCount: 45,
      missingCount: 955,
    });
    expect(
      s.ex({ op: "freeObjects", cache: "dentry", pid: 4_194_305, count: 1000, order: "oldest" }).freedCount,
    ).toBe(30);
    expect(s.ex({ op: "freeObjects", cache: "dentry", pid: 7, count: 4, order: "newest" }).freedCount).toBe(
      4,
    );
    expect(s.sim.slab.liveObjects).toBe(6 + 20);
    for (const pid of pids) {
      s.ex({ op: "exitTask", pid });
      expect(() => s.ex({ op: "allocObjects", cache: "dentry", pid, count: 1 })).toThrowError(
        expect.objectContaining({ code: "TASK_NOT_FOUND" }),
      );
      expect(s.sim.taskAt(pid)).toBeUndefined();
    }
    // a pid can be used again after its task exited; its old objects still count as that pid's
    s.spawn("/b", { pid: 4_194_304 });
    s.spawn("/b", { pid: 9_000_000 });
    expect(
      s.ex({ op: "freeObjects", cache: "dentry", pid: 4_194_304, count: 100, order: "oldest" }).freedCount,
    ).toBe(20);
    expect(
      s.ex({ op: "freeObjects", cache: "dentry", pid: 9_000_000, count: 100, order: "oldest" }).freedCount,
    ).toBe(0);
    expect(s.sim.slab.liveObjects).toBe(6);
  });
});

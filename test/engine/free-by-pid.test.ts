import { describe, expect, it } from "vitest";
import { checkInvariants } from "../../src/engine/invariants.js";
import { Sim } from "./helpers.js";

// Free by pid (docs/API.md §5) picks among the live objects the task allocated, by age. The engine
// keeps, per cache and allocation context, the count and the oldest and newest object
// (KmemCache.ctxCount/ctxOldest/ctxNewest) so the walk starts at the task's own objects; these
// tests pin the picks with object ids and check the index against the lists after every step.
describe("free by pid among other tasks' objects", () => {
  function setup(model: "v5.9" | "rfc-2012" = "v5.9") {
    const s = new Sim({ model, cpuCount: 1 });
    s.mkdir("/a", "/b");
    s.ex({
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    });
    const p1 = s.spawn("/a");
    const p2 = s.spawn("/a");
    const ids = { p1: [] as number[], p2: [] as number[] };
    const alloc = (pid: number, count: number): number[] =>
      s.ex({ op: "allocObjects", cache: "dentry", pid, count }).objectIds;
    // p1: 4, p2: 3, p1: 3, p2: 2, p1: 1 — p1's objects in three runs between p2's
    ids.p1.push(...alloc(p1, 4));
    ids.p2.push(...alloc(p2, 3));
    ids.p1.push(...alloc(p1, 3));
    ids.p2.push(...alloc(p2, 2));
    ids.p1.push(...alloc(p1, 1));
    const ok = () => expect(checkInvariants(s.sim)).toEqual([]);
    ok();
    /** Which of `want` are still live: freeing them by id answers freed/missing (and frees them). */
    const live = (want: number[]): boolean[] =>
      want.map((id) => s.ex({ op: "freeObjects", objectIds: [id] }).freedCount === 1);
    const freeByPid = (pid: number, count: number, order: "oldest" | "newest" | "every-other" | "random") =>
      s.ex({ op: "freeObjects", cache: "dentry", pid, count, order });
    return { s, p1, p2, ids, ok, live, freeByPid };
  }

  for (const model of ["v5.9", "rfc-2012"] as const) {
    it(`${model}: oldest takes the task's first objects across the gaps, newest its last`, () => {
      const { ids, ok, live, freeByPid, p1 } = setup(model);
      expect(freeByPid(p1, 5, "oldest")).toMatchObject({ freedCount: 5, missingCount: 0 });
      ok();
      expect(freeByPid(p1, 1, "newest")).toMatchObject({ freedCount: 1, missingCount: 0 });
      ok();
      // p1 had 8: the 5 oldest and the newest are gone, the 6th and 7th stay
      expect(live(ids.p1)).toEqual([false, false, false, false, false, true, true, false]);
      ok();
      // p2 untouched
      expect(live(ids.p2)).toEqual([true, true, true, true, true]);
      ok();
    });
  }

  it("asking for more than the task has frees all of it and reports the rest missing", () => {
    const { ids, ok, live, freeByPid, p2 } = setup();
    expect(freeByPid(p2, 9, "newest")).toMatchObject({ freedCount: 5, missingCount: 4 });
    ok();
    expect(live(ids.p2)).toEqual([false, false, false, false, false]);
    expect(freeByPid(p2, 1, "oldest")).toMatchObject({ freedCount: 0, missingCount: 1 });
    ok();
  });

  it("every-other takes the 1st, 3rd, 5th... of the task's objects in allocation order", () => {
    const { ids, ok, live, freeByPid, p1 } = setup();
    expect(freeByPid(p1, 3, "every-other")).toMatchObject({ freedCount: 3 });
    ok();
    expect(live(ids.p1)).toEqual([false, true, false, true, false, true, true, true]);
  });

  it("frees by id in the middle of a task's run keep its oldest and newest exact", () => {
    const { s, ids, ok, live, freeByPid, p1 } = setup();
    // the oldest and the newest of p1 go by id first: the index moves across p2's run
    expect(s.ex({ op: "freeObjects", objectIds: [ids.p1[0], ids.p1[7], ids.p1[3]] }).freedCount).toBe(3);
    ok();
    expect(freeByPid(p1, 2, "oldest")).toMatchObject({ freedCount: 2 });
    ok();
    expect(freeByPid(p1, 1, "newest")).toMatchObject({ freedCount: 1 });
    ok();
    // p1 = [x, 1, 2, x, 4, 5, 6, x]: oldest 2 → 1, 2; newest 1 → 6; left: 4 and 5
    expect(live(ids.p1)).toEqual([false, false, false, false, true, true, false, false]);
    ok();
  });

  it("a task that moved has objects in two cgroups: the picks go list by list, as before the index", () => {
    const { s, ids, ok, live, freeByPid, p1 } = setup();
    s.ex({ op: "moveTask", pid: p1, cgroup: "/b" });
    const inB = s.ex({ op: "allocObjects", cache: "dentry", pid: p1, count: 2 }).objectIds as number[];
    ok();
    // oldest: /a's list comes first (the cache's lists in creation order)
    expect(freeByPid(p1, 9, "oldest")).toMatchObject({ freedCount: 9, missingCount: 0 });
    ok();
    expect(live([...ids.p1, ...inB])).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    ok();
  });

  it("with many tasks in one cgroup, each free by pid touches the task's own objects", () => {
    // 300 tasks in /a, 20 objects each in two rounds of 10; freeing in reverse task order used to
    // walk past every earlier task's objects. The result must be the same objects either way.
    const s = new Sim({ model: "v5.9", cpuCount: 2 });
    s.mkdir("/a");
    s.ex({
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    });
    const pids = Array.from({ length: 300 }, () => s.spawn("/a"));
    const first = new Map<number, number[]>();
    for (let round = 0; round < 2; round++)
      for (const pid of pids) {
        const got = s.ex({ op: "allocObjects", cache: "dentry", pid, count: 10 }).objectIds as number[];
        if (round === 0) first.set(pid, got);
      }
    for (const pid of pids.slice().reverse())
      expect(s.ex({ op: "freeObjects", cache: "dentry", pid, count: 10, order: "oldest" }).freedCount).toBe(
        10,
      );
    expect(checkInvariants(s.sim)).toEqual([]);
    // exactly the first round's objects went
    for (const pid of pids.filter((_, i) => i % 37 === 0))
      expect(s.ex({ op: "freeObjects", objectIds: first.get(pid)! })).toMatchObject({
        freedCount: 0,
        missingCount: 10,
      });
    expect(s.sim.slab.liveObjects).toBe(3000);
  });
});

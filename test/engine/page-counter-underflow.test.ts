import { describe, expect, it } from "vitest";
import type { ModelName } from "../../src/engine/config.js";
import { PageCounter } from "../../src/engine/page-counter.js";
import { Sim } from "./helpers.js";

// mm/page_counter.c:page_counter_cancel (6.18): usage -= nr_pages; below 0 the kernel warns once
// ("page_counter underflow: %ld nr_pages=%lu") and sets the usage to 0. The simulator clamps the
// same way (numbers unchanged) and records each underflow per counter level (PC_UNDERFLOWS).

function chain() {
  const root = new PageCounter(null);
  const a = new PageCounter(root);
  const b = new PageCounter(a);
  return { root, a, b };
}

describe("page_counter underflow", () => {
  it("an uncharge of more than the usage sets every level to 0 and records one warning per level", () => {
    const { root, a, b } = chain();
    b.charge(3);
    b.uncharge(5);
    expect([b.usage, a.usage, root.usage]).toEqual([0, 0, 0]);
    expect([b.underflows, a.underflows, root.underflows]).toEqual([1, 1, 1]);
    // only the 3 pages the usage held count as uncharged: charged = usage + uncharged = 3
    expect([b.unchargedTotal, b.chargedTotal]).toEqual([3, 3]);
  });

  it("a level with usage to spare does not warn", () => {
    const { root, a, b } = chain();
    a.charge(4); // a and root hold 4, b nothing
    b.charge(1); // b 1, a 5, root 5
    b.uncharge(2); // b underflows (1 - 2), a and root go to 3
    expect([b.usage, a.usage, root.usage]).toEqual([0, 3, 3]);
    expect([b.underflows, a.underflows, root.underflows]).toEqual([1, 0, 0]);
    expect([b.unchargedTotal, a.unchargedTotal]).toEqual([1, 2]);
  });

  it("cancelLocal underflows only the level it cancels", () => {
    const { root, a, b } = chain();
    b.charge(2);
    b.cancelLocal(4);
    expect([b.usage, a.usage, root.usage]).toEqual([0, 2, 2]);
    expect([b.underflows, a.underflows, root.underflows]).toEqual([1, 0, 0]);
  });

  it("an exact uncharge to 0 is no underflow", () => {
    const { root, b } = chain();
    b.charge(7);
    b.uncharge(7);
    expect([b.usage, root.usage, b.underflows, root.underflows]).toEqual([0, 0, 0, 0]);
    expect(b.unchargedTotal).toBe(7);
  });

  // A container's life in each model (objects, reclaim, rmdir with live objects, frees after
  // reparenting): no counter ever underflows.
  for (const model of ["rfc-2012", "v3.8", "v4.5", "v5.9"] as ModelName[]) {
    it(`${model}: a container's life leaves every counter without an underflow`, () => {
      const s = new Sim({ model, cpuCount: 2, memoryBytes: 64 * 1024 * 1024 });
      s.mkdir("/a", "/a/b");
      s.dentry({ shrinker: { memcgAware: true, seeks: 2 } });
      if (model === "rfc-2012") s.ex({ op: "registerCache", name: "dentry" });
      if (model === "v3.8") s.write("/a/b", "memory.kmem.limit_in_bytes", "64M");
      const pid = s.spawn("/a/b");
      const first = s.alloc("dentry", { pid }, 5000);
      expect(first.allocatedCount).toBe(5000);
      s.ex({ op: "freeObjects", cache: "dentry", pid, count: 1000, order: "random" });
      s.ex({ op: "reclaim", cgroup: "/a", bytes: 64 * 4096 });
      s.ex({ op: "exitTask", pid });
      s.rmdir("/a/b");
      const live = (first.objectIds as number[]).filter((id) => s.sim.slab.liveSlot(id) >= 0);
      const freed = s.ex({ op: "freeObjects", objectIds: live });
      expect(freed.freedCount).toBe(live.length);
      expect(s.sim.slab.liveObjects).toBe(0);
      const all = s.sim.allCgroups();
      expect(all.map((cg) => cg.memory.underflows + cg.kmem.underflows)).toEqual(all.map(() => 0));
    });
  }
});

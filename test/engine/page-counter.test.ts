import { describe, expect, it } from "vitest";
import { Cgroup, modStat, ROW_KMEM, ROW_MEMORY, STAT_KERNEL_PAGES } from "../../src/engine/cgroup.js";
import { chargeAt, PageCounter, tryChargeAt, UNLIMITED } from "../../src/engine/page-counter.js";

function chain() {
  const root = new PageCounter(null);
  const a = new PageCounter(root);
  const b = new PageCounter(a);
  return { root, a, b };
}

// docs/DOMAIN.md §2.1 (res_counter_charge) and §2.2 (page_counter_try_charge).
describe("PageCounter", () => {
  it("charges every level up to the root", () => {
    const { root, a, b } = chain();
    expect(b.tryCharge(3)).toBeNull();
    expect([b.usage, a.usage, root.usage]).toEqual([3, 3, 3]);
    expect([b.watermark, a.watermark, root.watermark]).toEqual([3, 3, 3]);
  });

  it("rolls back the levels below the failing ancestor and counts the failure only there", () => {
    const { root, a, b } = chain();
    a.max = 10;
    b.tryCharge(8);
    const failed = b.tryCharge(3);
    expect(failed).toBe(a);
    expect([b.usage, a.usage, root.usage]).toEqual([8, 8, 8]);
    expect([b.failcnt, a.failcnt, root.failcnt]).toEqual([0, 1, 0]);
    // page_counter_try_charge raised the watermark of the level below before the rollback
    expect(b.watermark).toBe(11);
    expect(a.watermark).toBe(8);
  });

  it("fails at the leaf without touching any ancestor", () => {
    const { root, a, b } = chain();
    b.max = 2;
    expect(b.tryCharge(3)).toBe(b);
    expect([b.usage, a.usage, root.usage]).toEqual([0, 0, 0]);
    expect([b.failcnt, a.failcnt]).toEqual([1, 0]);
  });

  it("forces a charge over max at every level and raises the watermark", () => {
    const { root, a, b } = chain();
    a.max = 4;
    b.charge(6);
    expect([b.usage, a.usage, root.usage]).toEqual([6, 6, 6]);
    expect(a.watermark).toBe(6);
    expect(a.failcnt).toBe(0);
  });

  it("keeps the watermark when usage drops", () => {
    const { b } = chain();
    b.tryCharge(5);
    b.uncharge(4);
    expect([b.usage, b.watermark]).toEqual([1, 5]);
  });

  it("clamps an over-uncharge at 0 on every level", () => {
    const { root, a, b } = chain();
    b.tryCharge(2);
    a.charge(1);
    b.uncharge(5);
    expect([b.usage, a.usage, root.usage]).toEqual([0, 0, 0]);
    expect(b.unchargedTotal).toBe(2);
    expect(a.unchargedTotal).toBe(3);
  });

  it("refuses setMax below usage (EBUSY) and installs otherwise", () => {
    const { b } = chain();
    b.tryCharge(5);
    expect(b.setMax(4)).toBe(false);
    expect(b.max).toBe(Number.POSITIVE_INFINITY);
    expect(b.setMax(5)).toBe(true);
    expect(b.max).toBe(5);
  });

  it("reports the smallest margin along the chain", () => {
    const { root, a, b } = chain();
    a.max = 10;
    b.max = 20;
    root.max = 100;
    b.tryCharge(4);
    expect(b.margin()).toBe(6);
  });

  it("keeps monotonic totals that a failed charge does not move", () => {
    const { a, b } = chain();
    a.max = 1;
    b.tryCharge(1);
    b.tryCharge(1);
    expect(b.chargedTotal).toBe(1);
    expect(a.failTotal).toBe(1);
  });

  it("counts charged pages once per successful charge through rollbacks, forced charges and clamps", () => {
    // charged is derived (usage + uncharged): every way usage moves must keep that exact
    const { root, a, b } = chain();
    a.max = 5;
    b.tryCharge(4); // b, a, root +4
    expect(b.tryCharge(2)).toBe(a); // rolled back at b: not charged anywhere
    b.charge(3); // forced: 7 at b and a
    b.uncharge(10); // clamped: b gives back 7, a 7
    a.tryCharge(1); // at a itself: 0 + 1 ≤ 5
    b.cancelLocal(1); // nothing left at b: clamps at 0
    expect([b.chargedTotal, a.chargedTotal, root.chargedTotal]).toEqual([7, 8, 8]);
    expect([b.unchargedTotal, a.unchargedTotal, root.unchargedTotal]).toEqual([7, 7, 7]);
    expect([b.usage, a.usage, root.usage]).toEqual([0, 1, 1]);
    expect([b.forcedTotal, a.forcedTotal, b.failTotal, a.failTotal]).toEqual([3, 3, 0, 1]);
  });
});

// A cgroup's memory and kmem counters share its row with its statistics (cgroup.ts).
describe("cgroup rows", () => {
  it("keep memory, kmem, memory.high and the statistics apart, and walk the cgroups", () => {
    const root = new Cgroup(1, "", null, true);
    const c = new Cgroup(2, "c", root, true);
    const d = new Cgroup(3, "d", c, true);
    c.memory.max = 3;
    d.highPages = 7;
    expect(tryChargeAt(d, ROW_MEMORY, 2)).toBeNull();
    chargeAt(d, ROW_KMEM, 5);
    modStat(d, STAT_KERNEL_PAGES, 5);
    expect(tryChargeAt(d, ROW_MEMORY, 2)).toBe(c); // the failing cgroup itself
    expect([d.memory.usage, c.memory.usage, root.memory.usage]).toEqual([2, 2, 2]);
    expect([d.kmem.usage, c.kmem.usage, root.kmem.usage]).toEqual([5, 5, 5]);
    expect([d.statLocal[STAT_KERNEL_PAGES], c.statLocal[STAT_KERNEL_PAGES]]).toEqual([5, 0]);
    expect([d.statHier[STAT_KERNEL_PAGES], c.statHier[STAT_KERNEL_PAGES]]).toEqual([5, 5]);
    expect([d.highPages, c.highPages, d.memory.max, d.kmem.max]).toEqual([
      7,
      UNLIMITED,
      UNLIMITED,
      UNLIMITED,
    ]);
    expect([c.memory.failcnt, d.memory.failcnt]).toEqual([1, 0]);
  });

  it("follow use_hierarchy=0: a child's counters stop at itself", () => {
    const root = new Cgroup(1, "", null, false);
    const c = new Cgroup(2, "c", root, false);
    expect(c.counterParent).toBeNull();
    expect(c.memory.parent).toBeNull();
    chargeAt(c, ROW_MEMORY, 4);
    expect([c.memory.usage, root.memory.usage]).toEqual([4, 0]);
  });
});

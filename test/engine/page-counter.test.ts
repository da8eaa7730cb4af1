import { describe, expect, it } from "vitest";
import { PageCounter } from "../../src/engine/page-counter.js";

function chain() {
  const root = new PageCounter(null);
  const a = new PageCounter(root);
  const b = new PageCounter(a);
  return { root, a, b };
}

// DOMAIN §2.1 (res_counter_charge) and §2.2 (page_counter_try_charge).
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
});

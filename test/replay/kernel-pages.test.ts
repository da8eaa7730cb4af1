import { describe, expect, it } from "vitest";
import { checkInvariants } from "../../src/engine/invariants.js";
import { PAGE, Sim } from "../engine/helpers.js";

/**
 * allocKernelPages / freeKernelPages (src/engine/kernel-pages.ts): whole pages charged as each
 * era charges them. Numbers: a kernel stack is THREAD_SIZE = 16384 bytes (4 pages, x86_64); a
 * `GFP_KERNEL_ACCOUNT` page is 4096 << order.
 */
function setup(model: "rfc-2012" | "v3.8" | "v4.5" | "v5.9", activate = false): Sim {
  // exact accounting (no per-CPU page stock): the point is which pages each era charges
  const s = new Sim({ model, cgroupVersion: 1, cpuCount: 1, chargeBatchPages: 1 });
  s.mkdir("/a");
  if (activate) s.write("/a", "memory.kmem.limit_in_bytes", "1G");
  s.spawn("/a", { pid: 100 });
  return s;
}

const stack = { op: "allocKernelPages" as const, pid: 100, kind: "kernelStack" as const };
const accountPage = {
  op: "allocKernelPages" as const,
  pid: 100,
  kind: "other" as const,
  order: 1,
  gfp: "GFP_KERNEL_ACCOUNT",
};
const plainPage = { op: "allocKernelPages" as const, pid: 100, kind: "other" as const, gfp: "GFP_KERNEL" };

describe("allocKernelPages per era", () => {
  it("v4.5 cgroup v1 charges nothing until kmem.limit_in_bytes is written (even -1); cgroup v2 always", () => {
    const s = setup("v4.5");
    expect(s.ex(stack)).toMatchObject({ allocatedBytes: 16384, chargedBytes: 0, accounted: false });
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(0);
    s.mkdir("/b");
    s.write("/b", "memory.kmem.limit_in_bytes", "-1"); // 4.x memcg_update_kmem_limit activates on any value
    s.ex({ op: "moveTask", pid: 100, cgroup: "/b" });
    expect(s.ex(stack)).toMatchObject({ chargedBytes: 16384, accounted: true });
    expect(s.num("/b", "memory.kmem.usage_in_bytes")).toBe(16384);
    expect(s.read("/b", "memory.kmem.limit_in_bytes")).toBe("9223372036854771712\n");
    const v2 = new Sim({ model: "v4.5", cgroupVersion: 2, cpuCount: 1 });
    v2.mkdir("/a");
    v2.spawn("/a", { pid: 100 });
    expect(v2.ex(stack)).toMatchObject({ chargedBytes: 16384, accounted: true });
  });

  it("v5.9 and v4.5 charge a kernel stack (16384) and an ACCOUNT order-1 page (8192), not a plain page", () => {
    for (const model of ["v5.9", "v4.5"] as const) {
      const s = setup(model, model === "v4.5"); // 4.5 v1: kmem accounting needs the activating write
      const a = s.ex(stack);
      expect(a).toMatchObject({ allocatedBytes: 16384, chargedBytes: 16384, accounted: true, error: null });
      const b = s.ex(accountPage);
      expect(b).toMatchObject({ allocatedBytes: 8192, chargedBytes: 8192, accounted: true });
      const c = s.ex(plainPage);
      expect(c).toMatchObject({ allocatedBytes: 4096, chargedBytes: 0, accounted: false });
      expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(24576);
      expect(s.num("/a", "memory.usage_in_bytes")).toBe(24576);
      expect(checkInvariants(s.sim)).toEqual([]);
      const f = s.ex({ op: "freeKernelPages", pageIds: [a.pageId, c.pageId, 999] });
      expect(f).toEqual({ freedBytes: 20480, missingCount: 1, unchargedBytes: 16384, freedSlabCount: 0 });
      expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(8192);
      s.ex({ op: "freeKernelPages", pageIds: [b.pageId] });
      expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(0);
      expect(s.sim.usedPages).toBe(0);
      expect(checkInvariants(s.sim)).toEqual([]);
    }
  });

  it("v3.8 charges stacks and large kmalloc only once kmem is active, never other pages", () => {
    const off = setup("v3.8");
    expect(off.ex(stack)).toMatchObject({ chargedBytes: 0, accounted: false });
    expect(off.num("/a", "memory.kmem.usage_in_bytes")).toBe(0);
    const on = setup("v3.8", true);
    expect(on.ex(stack)).toMatchObject({ chargedBytes: 16384, accounted: true });
    expect(on.ex({ ...accountPage, kind: "kmallocLarge" })).toMatchObject({ chargedBytes: 8192 });
    expect(on.ex(accountPage)).toMatchObject({ chargedBytes: 0, accounted: false });
    expect(on.num("/a", "memory.kmem.usage_in_bytes")).toBe(24576);
    expect(checkInvariants(on.sim)).toEqual([]);
  });

  it("rfc-2012 charges no whole kernel page", () => {
    const s = setup("rfc-2012");
    expect(s.ex(stack)).toMatchObject({ allocatedBytes: 16384, chargedBytes: 0, accounted: false });
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v4.5: a removed cgroup stays dying while a charged page lives; v5.9 moves the charge to the parent", () => {
    const b = setup("v4.5", true);
    b.write("/a", "memory.use_hierarchy", "1");
    b.mkdir("/a/b");
    b.ex({ op: "moveTask", pid: 100, cgroup: "/a/b" });
    const p = b.ex(stack).pageId;
    b.ex({ op: "exitTask", pid: 100 });
    b.rmdir("/a/b");
    expect(b.sim.dyingCount).toBe(1);
    expect(b.num("/a", "memory.kmem.usage_in_bytes")).toBe(16384);
    expect(checkInvariants(b.sim)).toEqual([]);
    b.ex({ op: "freeKernelPages", pageIds: [p] });
    expect(b.sim.dyingCount).toBe(0);
    expect(b.num("/a", "memory.kmem.usage_in_bytes")).toBe(0);
    expect(checkInvariants(b.sim)).toEqual([]);

    const c = setup("v5.9");
    c.mkdir("/a/b");
    c.ex({ op: "moveTask", pid: 100, cgroup: "/a/b" });
    const q = c.ex(stack).pageId;
    c.ex({ op: "exitTask", pid: 100 });
    c.rmdir("/a/b");
    expect(c.sim.dyingCount).toBe(0);
    // the stack's 4 pages, and the page /a pays for /a/b's statistics (5.9, one CPU: 2816 B) until
    // /a/b is freed, a grace period after its release
    expect(c.num("/a", "memory.kmem.usage_in_bytes")).toBe(16384 + PAGE);
    expect(checkInvariants(c.sim)).toEqual([]);
    c.ex({ op: "freeKernelPages", pageIds: [q] });
    expect(c.num("/a", "memory.kmem.usage_in_bytes")).toBe(PAGE);
    c.ex({ op: "advanceClock", ms: 10 });
    // freed: its 2816 B join /a's 1280 spare in the obj stock, 4096 B — a page, kept (5.9 drains
    // above a page only)
    expect(c.num("/a", "memory.kmem.usage_in_bytes")).toBe(PAGE);
    expect(c.sim.root.percpuBytesHier).toBe(0);
    expect(checkInvariants(c.sim)).toEqual([]);
  });

  it("a kernel stack over the memory limit OOM-kills the forking task, whose own charge 5.9 then forces (should_force_charge)", () => {
    const s = setup("v5.9");
    s.write("/a", "memory.limit_in_bytes", String(3 * PAGE));
    const r = s.ex(stack);
    expect(r).toMatchObject({ oomKilledPids: [100], allocatedBytes: 16384 });
    // the 4-page stack is charged past the 3-page limit
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(4 * PAGE);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("refuses a bad order and an unknown pid", () => {
    const s = setup("v5.9");
    expect(() => s.ex({ ...stack, order: 11 })).toThrow(/order/);
    expect(() => s.ex({ ...stack, pid: 7 })).toThrow(/task 7 not found/);
  });
});

import { describe, expect, it } from "vitest";
import { checkInvariants } from "../../src/engine/invariants.js";
import { PAGE, Sim } from "./helpers.js";

/**
 * Each model's charge path against its own kernel's (docs/MODELS.md, per-row notes). Every number
 * is derived from the era's mm/memcontrol.c: 3.8 __mem_cgroup_try_charge / memcg_charge_kmem,
 * 4.x try_charge / mem_cgroup_oom / mem_cgroup_handle_over_high, 5.9/5.10 try_charge /
 * __memcg_kmem_charge / __memcg_kmem_uncharge / refill_obj_stock, 6.x try_charge_memcg.
 */

const events = (s: Sim, path: string, file = "memory.events") =>
  Object.fromEntries(
    s
      .read(path, file)
      .trim()
      .split("\n")
      .map((l) => [l.split(" ")[0], Number(l.split(" ")[1])]),
  );

describe("row 3: charge batching is on by default, with the era's batch", () => {
  it.each([
    ["rfc-2012", 32],
    ["v3.8", 32],
    ["v4.5", 32],
    ["v5.9", 32],
    ["v6.18", 64],
  ] as const)("%s: chargeBatchPages defaults to MEMCG_CHARGE_BATCH = %i", (model, batch) => {
    expect(new Sim({ model }).sim.config.chargeBatchPages).toBe(batch);
  });

  it("v5.9, one CPU, 21 dentries: memory.current 131072 (one 32-page batch), kmem 8192", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1 });
    s.dentry();
    s.mkdir("/a");
    const pid = s.spawn("/a");
    // 21 × (192 + 8) = 4200 B: a page at the first object, a second at the 21st; the first page
    // charges a 32-page batch (31 stocked), the second comes from the stock
    expect(s.alloc("dentry", { pid }, 21).chargedBytes).toBe(2 * PAGE);
    expect(s.num("/a", "memory.current")).toBe(131072);
    expect(s.cg("/a").kmem.usage * PAGE).toBe(8192);
    expect(s.sim.pageStocks.map((x) => x.pages)).toEqual([30]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v5.9 cgroup v1, same workload: usage_in_bytes 131072, kmem.usage_in_bytes 8192", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1, cpuCount: 1 });
    s.dentry();
    s.mkdir("/a");
    s.alloc("dentry", { pid: s.spawn("/a") }, 21);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(131072);
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(8192);
  });

  it("v3.8 cgroup v1 with kmem active, 21 dentries: usage_in_bytes 131072, kmem.usage_in_bytes 4096", () => {
    const s = new Sim({ model: "v3.8", cpuCount: 1 });
    s.dentry();
    s.mkdir("/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    const pid = s.spawn("/a");
    // the first dentry is served by the root cache while the copy is created; the other 20 share
    // one slab page: memcg_charge_kmem charges kmem exactly (res_counter_charge) and res through
    // __mem_cgroup_try_charge, which charges max(CHARGE_BATCH, 1) = 32 pages
    s.alloc("dentry", { pid }, 21);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(131072);
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(4096);
    expect(s.num("/a", "memory.max_usage_in_bytes")).toBe(131072);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("rfc-2012: a user page charges the 3.3 CHARGE_BATCH of 32 pages", () => {
    const s = new Sim({ model: "rfc-2012", cpuCount: 1 });
    s.mkdir("/a");
    s.pages(s.spawn("/a"), "anon", PAGE);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(32 * PAGE);
  });

  it("v4.5: a user page charges 32 pages; v6.18: 64", () => {
    for (const [model, batch] of [
      ["v4.5", 32],
      ["v6.18", 64],
    ] as const) {
      const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1 });
      s.mkdir("/a");
      s.pages(s.spawn("/a"), "anon", PAGE);
      expect(s.num("/a", "memory.current")).toBe(batch * PAGE);
    }
  });

  it("chargeBatchPages: 1 stays available as exact accounting (v5.9: 8192 after 21 dentries)", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1, chargeBatchPages: 1 });
    s.dentry();
    s.mkdir("/a");
    s.alloc("dentry", { pid: s.spawn("/a") }, 21);
    expect(s.num("/a", "memory.current")).toBe(8192);
  });

  it("3.x consume_stock serves single pages only: an order-1 slab charges a fresh batch (v3.8)", () => {
    const s = new Sim({ model: "v3.8", cpuCount: 1 });
    // 8 KiB objects: order-3 slabs (8 pages) of 4 objects
    s.cache("big", 8192, { flags: { account: true } });
    s.mkdir("/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    const pid = s.spawn("/a");
    s.alloc("big", { pid }, 1); // root cache, the copy is created
    s.alloc("big", { pid }, 1); // first 8-page slab: max(32, 8) charged, 24 stocked
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(32 * PAGE);
    s.alloc("big", { pid }, 4); // the second slab: 8 > 1 pages, not from the stock: another batch
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(64 * PAGE);
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(16 * PAGE);
  });

  it("stocks are drained at limit writes: v5.9 memory.max below usage drains the stock first", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1 });
    s.dentry();
    s.mkdir("/a");
    s.alloc("dentry", { pid: s.spawn("/a") }, 21);
    // memory_max_write: usage 32 pages > 16 → drain_all_stock → 2 pages, under the new max
    s.write("/a", "memory.max", "64K");
    expect(s.num("/a", "memory.current")).toBe(8192);
    expect(events(s, "/a").max).toBe(0);
  });

  it("stocks are drained at rmdir: the parent loses the removed child's stocked pages", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1 });
    s.dentry();
    s.mkdir("/p", "/p/c");
    const pid = s.spawn("/p/c");
    // /p pays for /p/c's per-CPU statistics (5.9: 2 × 1112 + 2 × 296 = 2816 B on one CPU): one
    // page, charged in a batch whose 31 spare pages the CPU's single stock slot then gives up
    // for /p/c's batch
    s.pages(pid, "anon", PAGE);
    expect(s.num("/p", "memory.current")).toBe(33 * PAGE);
    s.ex({ op: "exitTask", pid });
    s.rmdir("/p/c");
    // /p/c's batch is gone; its statistics stay charged until it is freed, a grace period after
    // its release (css_free_rwork_fn)
    expect(s.num("/p", "memory.current")).toBe(PAGE);
    expect(s.sim.dyingCount).toBe(0);
    s.ex({ op: "advanceClock", ms: 10 });
    // freed: `percpu` drops to 0; the 2816 B go back to CPU 0's obj stock, which held /p's 1280
    // spare bytes: 4096, not more than a page, so 5.9 refill_obj_stock keeps them (no drain) and
    // the page stays charged
    expect(s.read("/p", "memory.stat")).toMatch(/^percpu 0$/m);
    expect(s.num("/p", "memory.current")).toBe(PAGE);
  });
});

describe("row 5: 5.9 kmem uncharges refill the page stock (__memcg_kmem_uncharge → refill_stock)", () => {
  it("freed dentries: kmem drops to one page, memory.current stays at the batch", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1, cpuCount: 1 });
    s.dentry();
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.alloc("dentry", { pid }, 210); // 42000 B: 11 pages of kmem, one 32-page batch
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(11 * PAGE);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(32 * PAGE);
    s.ex({ op: "freeObjects", cache: "dentry", pid, count: 210 });
    // 3056 parked + 42000 freed = 45056 B: 10 drains of one page each, 4096 B left; the 10 pages
    // go to the page stock (21 → 31 ≤ 32), not off the counter
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(PAGE);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(32 * PAGE);
    expect(s.sim.pageStocks.map((x) => x.pages)).toEqual([31]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("4.x refill_stock drains a stock grown above MEMCG_CHARGE_BATCH", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1, cpuCount: 1 });
    s.dentry();
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.alloc("dentry", { pid }, 21 * 40); // 168000 B: 42 pages of kmem in two 32-page batches
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(64 * PAGE);
    expect(s.sim.pageStocks.map((x) => x.pages)).toEqual([22]);
    s.ex({ op: "freeObjects", cache: "dentry", pid, count: 21 * 40 });
    // 41 pages come back one at a time: the stock reaches 33 > 32 after 11 and is drained
    // (usage 64 − 33 = 31 pages), the other 30 refill it again
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(PAGE);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(31 * PAGE);
    expect(s.sim.pageStocks.map((x) => x.pages)).toEqual([30]);
  });
});

describe("row 6: reclaim retries 5 until 5.8, 16 from 5.9", () => {
  it.each([
    ["v4.5", 5],
    ["v5.9", 16],
    ["v6.18", 16],
  ] as const)("%s: maxReclaimRetries defaults to %i", (model, retries) => {
    expect(new Sim({ model }).sim.config.maxReclaimRetries).toBe(retries);
  });
});

/**
 * A v2 cgroup at a 16 KiB memory.max holding 4 pages of unreclaimable 192-byte objects (no
 * shrinker), one CPU. At 200 B charged each, 4 pages hold 81 objects (the obj stock keeps the
 * rest of each page: 20, 20, 20 and 21 objects); the 82nd needs a 5th page.
 */
function full(model: "v4.5" | "v5.9" | "v6.18", oomScoreAdj = 0) {
  const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1 });
  s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
  s.mkdir("/a");
  s.write("/a", "memory.max", "16K");
  const pid = s.spawn("/a", { oomScoreAdj });
  const r = s.alloc("kmalloc-cg-192", { pid }, 81);
  expect(r.error).toBeNull();
  return { s, pid };
}

describe("row 7: where the memcg OOM runs for a kmem charge from a syscall", () => {
  it("v4.5 (3.12–4.18, deferred OOM): ENOMEM, nobody killed, MEMCG_OOM counted (oom +1), 7 max events", () => {
    const { s, pid } = full("v4.5");
    const r = s.alloc("kmalloc-cg-192", { pid }, 100);
    // mem_cgroup_oom: `if (!current->memcg_may_oom) return;` — only a page fault OOM-kills
    expect(r).toMatchObject({ error: "ENOMEM", oomKilledPids: [], failedAt: "/a" });
    // 1 drain pass + MEM_CGROUP_RECLAIM_RETRIES (5) + 1
    // 4.5's memory.events has the four keys low, high, max, oom (no oom_kill line: row 41)
    expect(events(s, "/a")).toEqual({ low: 0, high: 0, max: 7, oom: 1 });
    expect(s.sim.tasks.has(pid)).toBe(true);
    expect(s.num("/a", "memory.current")).toBe(16384);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v4.5 user pages (a page fault) still OOM-kill (mem_cgroup_oom_synchronize)", () => {
    const s = new Sim({ model: "v4.5", cgroupVersion: 2, cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.max", "16K");
    const hog = s.spawn("/a");
    s.pages(hog, "anon", 4 * PAGE);
    const t = s.spawn("/a");
    expect(s.pages(t, "anon", PAGE)).toMatchObject({ error: null, oomKilledPids: [hog] });
  });

  it("v3.8: synchronous OOM on a kmem charge (mem_cgroup_handle_oom)", () => {
    const s = new Sim({ model: "v3.8", cpuCount: 1, chargeBatchPages: 1 });
    s.dentry();
    s.mkdir("/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    s.write("/a", "memory.limit_in_bytes", "16K");
    const hog = s.spawn("/a");
    s.pages(hog, "anon", 3 * PAGE);
    const pid = s.spawn("/a", { oomScoreAdj: -1000 });
    s.alloc("dentry", { pid }, 1);
    const r = s.alloc("dentry", { pid }, 60);
    expect(r.oomKilledPids).toEqual([hog]);
    expect(r.error).toBeNull();
  });
});

describe("row 8: the OOM killer finds no victim (OOM_FAILED)", () => {
  it("v5.9: the kmem charge is forced over memory.max (`case OOM_FAILED: goto force`)", () => {
    const { s, pid } = full("v5.9", -1000);
    const r = s.alloc("kmalloc-cg-192", { pid }, 20);
    expect(r).toMatchObject({ error: null, allocatedCount: 20, oomKilledPids: [] });
    // 1 drain pass + 16 retries + 1, one oom, no MAX at 5.9's force
    expect(events(s, "/a")).toMatchObject({ max: 18, oom: 1, oom_kill: 0 });
    expect(s.num("/a", "memory.current")).toBe(5 * PAGE);
  });

  it("v6.18 (5.16+): ENOMEM", () => {
    const { s, pid } = full("v6.18", -1000);
    const r = s.alloc("kmalloc-cg-192", { pid }, 20);
    expect(r).toMatchObject({ error: "ENOMEM", allocatedCount: 0, oomKilledPids: [] });
    expect(s.num("/a", "memory.current")).toBe(4 * PAGE);
  });
});

describe("row 9: the kmem charge of a task OOM-killed during it", () => {
  it("v5.9 (4.x–5.15: should_force_charge → force): the object is allocated over the limit", () => {
    const { s, pid } = full("v5.9");
    const r = s.alloc("kmalloc-cg-192", { pid }, 20);
    expect(r).toMatchObject({ error: "OOM_KILLED", allocatedCount: 1, oomKilledPids: [pid] });
    expect(s.num("/a", "memory.current")).toBe(5 * PAGE);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v5.9: the forced object of a killed task whose objects were all freed lands in a context of the exited pid", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 2, cpuCount: 2, chargeBatchPages: 1 });
    s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
    s.mkdir("/a");
    s.write("/a", "memory.max", "16K");
    const pid = s.spawn("/a", { cpu: 0 });
    // 20 × 200 B: one page, 96 B left in CPU 0's obj stock; freed on CPU 1 (its stock keeps the
    // 4000 B): the task's allocation context holds no object, and its memo still names it
    const ids = s.alloc("kmalloc-cg-192", { pid }, 20).objectIds;
    s.ex({ op: "freeObjects", objectIds: ids, cpu: 1 });
    expect(s.pages(pid, "anon", 3 * PAGE).error).toBeNull();
    expect(s.num("/a", "memory.current")).toBe(4 * PAGE);
    // the first object needs a page: the OOM killer takes the task itself, whose charge 5.9
    // forces; the kill recycled the empty context (taskExited), so the object goes to a new one
    const r = s.alloc("kmalloc-cg-192", { pid }, 40);
    expect(r).toMatchObject({ error: "OOM_KILLED", allocatedCount: 1, oomKilledPids: [pid] });
    expect(checkInvariants(s.sim)).toEqual([]);
    // freeing it recycles that context too
    const f = s.ex({ op: "freeObjects", objectIds: r.objectIds });
    expect(f.freedCount).toBe(1);
    expect(s.sim.slab.exitedCtxs.size).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v3.8 (CHARGE_OOM_DIE → -EINTR → res_counter_charge_nofail): the slab is charged over the limit", () => {
    const s = new Sim({ model: "v3.8", cpuCount: 1, chargeBatchPages: 1 });
    s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
    s.mkdir("/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    s.write("/a", "memory.limit_in_bytes", "16K");
    const pid = s.spawn("/a");
    s.pages(pid, "anon", 3 * PAGE);
    s.alloc("kmalloc-cg-192", { pid }, 1); // root cache: the copy is created
    const r = s.alloc("kmalloc-cg-192", { pid }, 60);
    // the copy's first slab page fits (3 anon + 1 = the limit); the second fails 6 times (5
    // retries, then the OOM pass), the OOM killer picks the task itself and the charge goes
    // through anyway: its 21 objects are allocated (a failed charge would stop at 21). The
    // simulator frees the victim's 3 anon pages at the kill, before the forced charge.
    expect(r).toMatchObject({ error: "OOM_KILLED", allocatedCount: 42, oomKilledPids: [pid] });
    expect(s.num("/a", "memory.failcnt")).toBe(6);
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(2 * PAGE);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(2 * PAGE);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v6.18 (5.16+, passed_oom && task_is_dying → nomem): the charge fails", () => {
    const { s, pid } = full("v6.18");
    const r = s.alloc("kmalloc-cg-192", { pid }, 20);
    expect(r).toMatchObject({ error: "OOM_KILLED", allocatedCount: 0, oomKilledPids: [pid] });
    expect(s.num("/a", "memory.current")).toBe(4 * PAGE);
  });
});

describe("row 10: GFP_ATOMIC over memory.max (the audit's P5: 16 KiB max, 10 × 4 KiB objects)", () => {
  function p5(model: "v4.5" | "v5.9" | "v6.18") {
    const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1 });
    s.cache("kmalloc-cg-4k", 4096, { flags: { account: true } });
    s.mkdir("/a");
    s.write("/a", "memory.max", "16K");
    const pid = s.spawn("/a");
    // v4.5: the first allocation is served by the root cache while the cgroup's copy is created
    s.ex({ op: "freeObjects", objectIds: s.alloc("kmalloc-cg-4k", { pid }, 1).objectIds });
    return { s, r: s.alloc("kmalloc-cg-4k", { pid }, 10, "GFP_ATOMIC") };
  }

  it("v4.5: `if (!gfpflags_allow_blocking(gfp_mask)) goto nomem` — all 10 fail with ENOMEM, no event", () => {
    const { s, r } = p5("v4.5");
    expect(r).toMatchObject({ allocatedCount: 0, error: "ENOMEM", failedAt: "/a" });
    expect(events(s, "/a")).toMatchObject({ max: 0, oom: 0 });
    expect(s.num("/a", "memory.current")).toBe(0);
  });

  it("v5.9: `if (gfp_mask & __GFP_ATOMIC) goto force` — all 10 forced past the limit, 0 max events", () => {
    const { s, r } = p5("v5.9");
    expect(r).toMatchObject({ allocatedCount: 10, error: null });
    expect(events(s, "/a")).toMatchObject({ max: 0, oom: 0 });
    expect(s.num("/a", "memory.current")).toBe(49152);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v6.18: forced at `nomem` (__GFP_HIGH), each forced charge raising MEMCG_MAX at `force`", () => {
    const { s, r } = p5("v6.18");
    expect(r).toMatchObject({ allocatedCount: 10, error: null });
    expect(events(s, "/a")).toMatchObject({ max: 4, oom: 0 });
    expect(s.num("/a", "memory.current")).toBe(49152);
  });
});

describe("row 12: memory.high per era (the audit's P6: 64 KiB high, 400 pages in one command)", () => {
  function p6(model: "v4.5" | "v5.9" | "v6.18") {
    const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.high", "64K");
    return { s, r: s.pages(s.spawn("/a"), "anon", 400 * PAGE) };
  }

  it("v4.5: reclaim on the return to user only, no throttle: one `high`, 0 ms", () => {
    const { s, r } = p6("v4.5");
    expect(r).toMatchObject({ error: null, throttleMs: 0 });
    expect(events(s, "/a")).toMatchObject({ high: 1, max: 0 });
  });

  it("v5.9: the penalty on the return to user, none mid-charge: 17 `high` (1 + 16 retries), one 2000 ms sleep", () => {
    const { s, r } = p6("v5.9");
    expect(r).toMatchObject({ error: null, throttleMs: 2000 });
    expect(events(s, "/a").high).toBe(17);
  });

  it("v6.18: synchronous handling mid-charge each time the debt passes 64 pages, plus the return", () => {
    const { s, r } = p6("v6.18");
    expect(r).toMatchObject({ error: null, throttleMs: 4 * 2000 });
    expect(events(s, "/a").high).toBe(68);
  });
});

describe("row 13: high_work reclaims MEMCG_CHARGE_BATCH pages — 32 before 6.1", () => {
  // a remote charge (no task) of 66 pages (1344 × 200 B) over memory.high 0, exact accounting:
  // high_work runs every MEMCG_CHARGE_BATCH pages charged over high, and once at the end for the rest
  it.each([
    ["v5.9", 3], // at 32, at 64, the last 2 pages
    ["v6.18", 2], // at 64, the last 2 pages
  ] as const)("%s: %i `high` events", (model, high) => {
    const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1, chargeBatchPages: 1 });
    s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
    s.mkdir("/a");
    s.write("/a", "memory.high", "0");
    expect(s.alloc("kmalloc-cg-192", { cgroup: "/a" }, 21 * 64).allocatedCount).toBe(1344);
    expect(s.num("/a", "memory.current")).toBe(66 * PAGE);
    expect(events(s, "/a").high).toBe(high);
  });
});

describe("row 17: 5.9 enforces the v1 kmem limit (the audit's P4)", () => {
  it("kmem.limit_in_bytes 8K: ENOMEM at the third page, kmem.failcnt 1, the memory charge cancelled", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1, cpuCount: 1 });
    s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
    s.mkdir("/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "8K");
    expect(s.num("/a", "memory.kmem.limit_in_bytes")).toBe(8192);
    const r = s.alloc("kmalloc-cg-192", { pid: s.spawn("/a") }, 200);
    // 2 pages hold 40 objects (20 + 20, the obj stock keeping 96 then 192 B); the 41st needs a third
    expect(r).toMatchObject({ allocatedCount: 40, error: "ENOMEM", failedAt: "/a" });
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(8192);
    expect(s.num("/a", "memory.kmem.failcnt")).toBe(1);
    // try_charge took the third page from the page stock (32 − 1 − 1 − 1 = 29 left), then
    // cancel_charge took it straight off the counter: 31 pages
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(31 * PAGE);
    expect(s.num("/a", "memory.failcnt")).toBe(0);
  });

  it("kmem.limit_in_bytes below kmem usage: EBUSY (memcg_update_kmem_max → page_counter_set_max)", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1, cpuCount: 1 });
    s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
    s.mkdir("/a");
    s.alloc("kmalloc-cg-192", { pid: s.spawn("/a") }, 41);
    expect(() => s.write("/a", "memory.kmem.limit_in_bytes", "8K")).toThrow(/EBUSY|above/);
  });
});

describe("row 26: 5.9 refill_obj_stock drains the whole stock above a page, after a charge too", () => {
  // two 5000-byte objects (5008 B charged each: 2 pages, 3184 B back to the obj stock)
  it.each([
    ["v5.9", 3], // 3184 + 3184 = 6368 > 4096: drained, one page uncharged, 2272 B parked
    ["v6.18", 4], // allow_uncharge is false right after a charge: the stock keeps 6368 B
  ] as const)("%s: kmem %i pages", (model, pages) => {
    const s = new Sim({ model, cgroupVersion: 1, cpuCount: 1 });
    s.cache("big", 5000, { flags: { account: true } });
    s.mkdir("/a");
    s.alloc("big", { pid: s.spawn("/a") }, 2);
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(pages * PAGE);
  });
});

describe("row 37: memcg reclaim credits shrinker-freed slab pages until 6.4", () => {
  // 1680 dentries under a 256 KiB memory.max: the dentry shrinker frees slab pages during the
  // charge. Its frees park the slabs they open on CPU 0's per-CPU partial list (put_cpu_partial);
  // pages go only when the list drains — in 5.9 at the 32nd parked slab (pobjects 31 >
  // cpu_partial 30), whose 31 empty slabs leave min_partial 5 on the node and discard 26
  it.each([
    ["v5.9", 26 * PAGE], // reclaim_state->reclaimed_slab counts for memcg reclaim (5.9 shrink_node)
    ["v6.18", 0], // 6.4+: non-LRU reclaim counts for global reclaim only
  ] as const)("%s: reclaimedBytes %i", (model, reclaimed) => {
    const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1, chargeBatchPages: 1 });
    s.dentry();
    s.mkdir("/a");
    s.write("/a", "memory.max", "256K");
    const r = s.alloc("dentry", { pid: s.spawn("/a") }, 21 * 80);
    expect(r).toMatchObject({ allocatedCount: 1680, error: null, reclaimedBytes: reclaimed });
  });
});

import { describe, expect, it } from "vitest";
import { checkInvariants } from "../../src/engine/invariants.js";
import { PAGE, Sim } from "./helpers.js";

/**
 * Model v6.18: what differs from v5.9, each number derived from the 6.18 source (mm/memcontrol.c:
 * try_charge_memcg, consume_stock, refill_stock, obj_cgroup_uncharge_pages; MEMCG_CHARGE_BATCH 64,
 * NR_MEMCG_STOCK 7) or from the recordings of a real 6.18 host.
 */
function v618(cpuCount = 1, extra: Record<string, unknown> = {}) {
  const s = new Sim({ model: "v6.18", cgroupVersion: 1, cpuCount, ...extra });
  s.dentry();
  return s;
}

describe("v6.18", () => {
  it("is the v1/v2 model with the 6.18 defaults: batch 64, 16 reclaim retries, v2 by default", () => {
    const s = new Sim({ model: "v6.18" });
    expect(s.sim.config.chargeBatchPages).toBe(64);
    expect(s.sim.config.maxReclaimRetries).toBe(16);
    expect(s.sim.config.cgroupVersion).toBe(2);
  });

  it("21 dentries on one CPU: usage moves by the 64-page batch (262144, as the real 6.18 host showed), kmem by 2 pages", () => {
    const s = v618();
    s.mkdir("/a");
    const pid = s.spawn("/a");
    // 21 × (192 + 8) = 4200 bytes: one page at the first object, a second at the 21st
    expect(s.alloc("dentry", { pid }, 21).chargedBytes).toBe(2 * PAGE);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(262144);
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(8192);
    expect(s.num("/a", "memory.memsw.usage_in_bytes")).toBe(262144);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("freed objects give their pages back to the page stock: kmem drops, usage stays", () => {
    const s = v618();
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.alloc("dentry", { pid }, 21 * 10); // 42000 bytes: 11 pages of kmem
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(11 * PAGE);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(64 * PAGE);
    s.ex({ op: "freeObjects", cache: "dentry", pid, count: 21 * 10 });
    // 42000 freed bytes + the 3056-byte remainder = 45056 bytes in the obj stock, which gives back
    // whole pages only while it holds more than a page (refill_obj_stock: nr_bytes > PAGE_SIZE):
    // 10 pages go back, exactly 4096 bytes stay. The 10 pages refill the page stock (53 → 63),
    // they do not leave the memory counter.
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(PAGE);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(64 * PAGE);
    expect(s.sim.pageStocks.filter((x) => x.memcg !== null).map((x) => x.pages)).toEqual([63]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("one CPU's page stock holds 7 memcgs; the 8th evicts one slot chosen by the seeded PRNG, the same one every run", () => {
    const run = () => {
      const s = v618(1, { seed: 7 });
      const pids: number[] = [];
      for (let i = 0; i < 8; i++) {
        s.mkdir(`/c${i}`);
        pids.push(s.spawn(`/c${i}`));
      }
      for (let i = 0; i < 7; i++) s.alloc("dentry", { pid: pids[i] }, 1);
      const usage = () =>
        Array.from({ length: 8 }, (_, i) => s.num(`/c${i}`, "memory.usage_in_bytes") / PAGE);
      // seven cgroups each hold their batch: 1 page used by the object's charge, 63 stocked
      expect(usage()).toEqual([64, 64, 64, 64, 64, 64, 64, 0]);
      s.alloc("dentry", { pid: pids[7] }, 1);
      const after = usage();
      expect(checkInvariants(s.sim)).toEqual([]);
      return after;
    };
    const a = run();
    // exactly one of the seven was drained to its 1 charged page; the 8th holds its batch
    expect(a.filter((u) => u === 1)).toHaveLength(1);
    expect(a.filter((u) => u === 64)).toHaveLength(7);
    expect(run()).toEqual(a);
  });

  it("rmdir with live objects: the parent's kmem is unchanged, its usage drops by the CPU's stocked pages, the child's among them (as recorded)", () => {
    const s = v618(1);
    s.mkdir("/p", "/p/c");
    // /p pays 3 pages for /p/c's statistics (8392 B on one CPU), charged in a batch of 64
    expect(s.num("/p", "memory.kmem.usage_in_bytes")).toBe(3 * PAGE);
    expect(s.num("/p", "memory.usage_in_bytes")).toBe(64 * PAGE);
    const pid = s.spawn("/p/c");
    s.alloc("dentry", { pid }, 21 * 100); // 420000 bytes: 103 pages of kmem
    const kmemBefore = s.num("/p", "memory.kmem.usage_in_bytes");
    const usageBefore = s.num("/p", "memory.usage_in_bytes");
    expect(kmemBefore).toBe((103 + 3) * PAGE);
    // /p/c's 103 pages charged in two batches of 64: 128 charged, 25 left in its stock slot; /p's
    // slot keeps its 61 (6.16+: seven memcgs per CPU)
    expect(usageBefore).toBe((128 + 64) * PAGE);
    s.ex({ op: "exitTask", pid });
    s.rmdir("/p/c");
    // /p/c's statistics stay charged until it is freed, a grace period after its release
    expect(s.num("/p", "memory.kmem.usage_in_bytes")).toBe(kmemBefore);
    // offline drains the CPU's whole stock (6.16+ drain_local_stock → drain_stock_fully): /p/c's
    // 25 pages and /p's own 61
    expect(usageBefore - s.num("/p", "memory.usage_in_bytes")).toBe((25 + 61) * PAGE);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v1 memsw: its limit cannot go below the memory limit; once equal, a charge over it fails at memsw (memsw.failcnt, not failcnt)", () => {
    const s = v618(1, { chargeBatchPages: 1 });
    // not reclaimable: reclaim finds nothing to free, so the charge fails
    s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.write("/a", "memory.limit_in_bytes", "64K");
    expect(() => s.write("/a", "memory.memsw.limit_in_bytes", "32K")).toThrow(/EINVAL|below/);
    s.write("/a", "memory.memsw.limit_in_bytes", "64K");
    const r = s.alloc("kmalloc-cg-192", { pid }, 1000, "GFP_KERNEL|__GFP_RETRY_MAYFAIL");
    // 16 pages hold 65536 / 200 = 327 objects (327.68): the 328th needs a 17th page
    expect(r.allocatedCount).toBe(327);
    expect(r.error).toBe("ENOMEM");
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(16 * PAGE);
    expect(s.num("/a", "memory.failcnt")).toBe(0);
    // try_charge_memcg's failed tries: the first, the one after drain_all_stock, then one per
    // MAX_RECLAIM_RETRIES (16) fruitless reclaim pass; __GFP_RETRY_MAYFAIL then gives up (no OOM)
    expect(s.num("/a", "memory.memsw.failcnt")).toBe(18);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("memsw max_usage has its own watermark, reset on its own", () => {
    const s = v618(1, { chargeBatchPages: 1 });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.alloc("dentry", { pid }, 200);
    s.ex({ op: "freeObjects", cache: "dentry", pid, count: 200 });
    const peak = s.num("/a", "memory.max_usage_in_bytes");
    expect(peak).toBe(10 * PAGE);
    s.write("/a", "memory.memsw.max_usage_in_bytes", "0");
    const usage = s.num("/a", "memory.usage_in_bytes");
    expect(s.num("/a", "memory.memsw.max_usage_in_bytes")).toBe(usage);
    expect(s.num("/a", "memory.max_usage_in_bytes")).toBe(peak);
    // a smaller peak after the memsw reset, then the memory reset: each keeps its own
    // 100 × 200 bytes: the first 20 from the 4096 bytes left in the obj stock, 16000 in 4 new pages
    s.alloc("dentry", { pid }, 100);
    const peak2 = s.num("/a", "memory.usage_in_bytes");
    expect(peak2).toBe(usage + 4 * PAGE);
    s.ex({ op: "freeObjects", cache: "dentry", pid, count: 100 });
    s.write("/a", "memory.max_usage_in_bytes", "0");
    expect(s.num("/a", "memory.max_usage_in_bytes")).toBe(s.num("/a", "memory.usage_in_bytes"));
    expect(s.num("/a", "memory.memsw.max_usage_in_bytes")).toBe(peak2);
    s.alloc("dentry", { pid }, 20);
    expect(s.num("/a", "memory.memsw.max_usage_in_bytes")).toBe(peak2);
    expect(s.num("/a", "memory.max_usage_in_bytes")).toBe(s.num("/a", "memory.usage_in_bytes"));
  });

  it("memory.swappiness is inherited at creation; numa_stat counts LRU pages", () => {
    const s = v618();
    s.mkdir("/a");
    s.write("/a", "memory.swappiness", "10");
    s.mkdir("/a/b");
    expect(s.read("/a/b", "memory.swappiness")).toBe("10\n");
    expect(() => s.write("/a", "memory.swappiness", "201")).toThrow();
    const pid = s.spawn("/a/b");
    s.pages(pid, "anon", 3 * PAGE);
    expect(s.read("/a", "memory.numa_stat")).toBe(
      "total=0 N0=0\nfile=0 N0=0\nanon=0 N0=0\nunevictable=0 N0=0\nhierarchical_total=3 N0=3\nhierarchical_file=0 N0=0\nhierarchical_anon=3 N0=3\nhierarchical_unevictable=0 N0=0\n",
    );
  });

  it("v2: memory.events ends with oom_group_kill (no MEMCG_SOCK_THROTTLED in the 6.18 host's BTF); a memory.peak write leaves what a new reader sees", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1, chargeBatchPages: 1 });
    s.dentry();
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.alloc("dentry", { pid }, 200);
    s.ex({ op: "freeObjects", cache: "dentry", pid, count: 200 });
    expect(s.read("/a", "memory.events")).toBe("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
    s.write("/a", "memory.peak", "reset");
    expect(s.num("/a", "memory.peak")).toBe(10 * PAGE);
  });
});

describe("v6.18 memcg OOM: the order of events of try_charge_memcg", () => {
  it("a task filling a 2 MiB cgroup with unreclaimable objects is killed at usage 2097152 with failcnt 36, as the real 6.18 host recorded", () => {
    const s = v618(1);
    s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
    s.mkdir("/a");
    s.write("/a", "memory.limit_in_bytes", "2M");
    const pid = s.spawn("/a");
    // 512 pages in 8 batches of 64 fit exactly; the charge after the stock runs dry fails: the
    // 64-page batch (1), the page itself (2), again after drain_all_stock (3), 16 reclaim retries
    // (19), the OOM killer chooses the task, 17 more tries with fresh retries (36), then nomem
    const r = s.alloc("kmalloc-cg-192", { pid }, 100_000);
    expect(r.oomKilledPids).toEqual([pid]);
    expect(r.allocatedCount).toBe(Math.floor((512 * PAGE) / 200));
    expect(s.num("/a", "memory.failcnt")).toBe(36);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(2097152);
    expect(s.read("/a", "memory.oom_control")).toBe("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v5.9 keeps its own order (the killed task's own charge is forced: should_force_charge): failcnt 20 on the same workload", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1, cpuCount: 1, chargeBatchPages: 64 });
    s.cache("kmalloc-cg-192", 192, { flags: { account: true } });
    s.mkdir("/a");
    s.write("/a", "memory.limit_in_bytes", "2M");
    const pid = s.spawn("/a");
    const r = s.alloc("kmalloc-cg-192", { pid }, 100_000);
    expect(r.oomKilledPids).toEqual([pid]);
    // 1 batch + 1 + 1 after the drain + 16 retries, the OOM kills the task, the retry fails once
    // more (20) and, the task being an OOM victim, 5.9 goes to `force`: one page over the limit
    expect(s.num("/a", "memory.failcnt")).toBe(20);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(2097152 + PAGE);
    // the object whose charge killed its task is allocated; the dead task allocates no more
    expect(r.allocatedCount).toBe(Math.floor((512 * PAGE) / 200) + 1);
    expect(checkInvariants(s.sim)).toEqual([]);
  });
});

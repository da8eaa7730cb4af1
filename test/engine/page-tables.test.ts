import { describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/errors.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { selectVictim } from "../../src/engine/oom.js";
import { pageTablesFor } from "../../src/engine/page-alloc.js";
import { PAGE, Sim } from "./helpers.js";

/**
 * Audit row 22 (page tables): a task forked inside the simulation (`spawnTask` with `fork`) has a
 * new mm: its pgd at fork (dup_mm → mm_alloc_pgd → pgd_alloc, `4096 << PGD_ALLOCATION_ORDER`:
 * order 1 with page table isolation, 4.15+ d9e9a6418065, so 8 KiB in v5.9 and v6.18 — the recorded
 * 6.18 host allocated one order-1 GFP_KERNEL_ACCOUNT|__GFP_ZERO page per fork in fork-100), then
 * the pud, pmd and pte pages its anon pages need (x86_64 4-level paging, 512 entries a page, one
 * contiguous region: ⌈n/512⌉ pte pages, ⌈pte/512⌉ pmd, ⌈pmd/512⌉ pud). Every era allocates them
 * (physical memory); only 4.8+ charges them (3e79ec7ddcb2 "arch: x86: charge page tables to
 * kmemcg": __GFP_ACCOUNT, to the faulting task's memcg), so v5.9 and v6.18; v2 `pagetables` is
 * printed from 5.11 (f0c0c115fb81), so by v6.18 only. A placed task (no `fork`) has its mm outside
 * the simulation: no page tables simulated.
 *
 * The scenario: one CPU, exact accounting (chargeBatchPages 1), a task forked in /a faults 513 anon
 * pages — 2 pte pages, 1 pmd, 1 pud — then frees 2 (511 left: one pte page goes), then exits.
 */
type Row = readonly [
  model: "rfc-2012" | "v3.8" | "v4.5" | "v5.9" | "v6.18",
  v: 1 | 2,
  usagePages: number,
  kmemBytes: number | null,
  physPages: number,
  afterFreeUsagePages: number,
];

describe("row 22: a forked task's page tables, per era", () => {
  it("pageTablesFor: 512 entries a level", () => {
    expect(pageTablesFor(0)).toEqual({ pud: 0, pmd: 0, pte: 0 });
    expect(pageTablesFor(1)).toEqual({ pud: 1, pmd: 1, pte: 1 });
    expect(pageTablesFor(512)).toEqual({ pud: 1, pmd: 1, pte: 1 });
    expect(pageTablesFor(513)).toEqual({ pud: 1, pmd: 1, pte: 2 });
    expect(pageTablesFor(512 * 512 + 1)).toEqual({ pud: 1, pmd: 2, pte: 513 });
  });

  it.each([
    // physical pages: 513 anon + the stack (2 pages before 3.15, 4 after) + pgd + 4 page-table pages
    // the seed charges no page of its own but slab: 513 user pages
    ["rfc-2012", 1, 513, 0, 513 + 2 + 1 + 4, 511],
    // 3.8: the 8 KiB stack (__GFP_KMEMCG), no page table
    ["v3.8", 1, 513 + 2, 8192, 513 + 2 + 1 + 4, 511 + 2],
    // 4.5: the 16 KiB stack (GFP_KERNEL_ACCOUNT), page tables not yet accounted (4.8)
    ["v4.5", 2, 513 + 4, null, 513 + 4 + 1 + 4, 511 + 4],
    // 5.9: stack 4 + pgd 2 (order 1) + pud, pmd, 2 pte = 10 kernel pages
    ["v5.9", 2, 513 + 10, null, 513 + 10, 511 + 9],
    ["v6.18", 2, 513 + 10, null, 513 + 10, 511 + 9],
    ["v5.9", 1, 513 + 10, 40960, 513 + 10, 511 + 9],
    ["v6.18", 1, 513 + 10, 40960, 513 + 10, 511 + 9],
  ] as Row[])(
    "%s v%i: usage %i pages, kmem %s, physical %i pages; after freeing 2 anon pages usage %i pages",
    (model, v, usage, kmem, phys, afterFree) => {
      const s = new Sim({ model, cgroupVersion: v, cpuCount: 1, chargeBatchPages: 1 });
      const u = v === 1 ? "memory.usage_in_bytes" : "memory.current";
      s.mkdir("/a");
      if (model === "v3.8") s.write("/a", "memory.kmem.limit_in_bytes", "1G");
      const pid = s.ex({ op: "spawnTask", cgroup: "/a", fork: true }).pid;
      const r = s.pages(pid, "anon", 513 * PAGE);
      expect(r.allocatedBytes).toBe(513 * PAGE);
      // chargedBytes: the user pages and, where the era charges them, the pud, pmd and 2 pte pages
      // the faults allocated (the pgd and stack were charged at the fork)
      const tablesCharged = model === "v5.9" || model === "v6.18" ? 4 : 0;
      expect(r.chargedBytes).toBe((513 + tablesCharged) * PAGE);
      expect(s.num("/a", u)).toBe(usage * PAGE);
      if (kmem !== null) expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(kmem);
      expect(s.sim.usedPages).toBe(phys);
      expect(checkInvariants(s.sim)).toEqual([]);
      s.ex({ op: "freePages", pid, kind: "anon", bytes: 2 * PAGE });
      expect(s.num("/a", u)).toBe(afterFree * PAGE);
      expect(s.sim.usedPages).toBe(phys - 3);
      s.ex({ op: "exitTask", pid });
      expect(s.num("/a", u)).toBe(0);
      expect(s.sim.usedPages).toBe(0);
      expect(checkInvariants(s.sim)).toEqual([]);
    },
  );

  const stat = (s: Sim, path: string): string =>
    s
      .read(path, "memory.stat")
      .split("\n")
      .filter((l) => /^(kernel|kernel_stack|pagetables) /.test(l))
      .join(",");

  it("v2 memory.stat: v6.18 prints pagetables (5.11+) inside kernel; v5.9 and v4.5 print no pagetables key", () => {
    const run = (model: "v4.5" | "v5.9" | "v6.18") => {
      const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1, chargeBatchPages: 1 });
      s.mkdir("/a");
      const pid = s.ex({ op: "spawnTask", cgroup: "/a", fork: true }).pid;
      s.pages(pid, "anon", 513 * PAGE);
      const at513 = stat(s, "/a");
      s.ex({ op: "freePages", pid, kind: "anon", bytes: 2 * PAGE });
      const at511 = stat(s, "/a");
      s.ex({ op: "exitTask", pid });
      return [at513, at511, stat(s, "/a")];
    };
    // pgd 8192 + pud + pmd + 2 pte = 24576; the stack 16384; kernel = both
    expect(run("v6.18")).toEqual([
      "kernel 40960,kernel_stack 16384,pagetables 24576",
      "kernel 36864,kernel_stack 16384,pagetables 20480",
      "kernel 0,kernel_stack 0,pagetables 0",
    ]);
    expect(run("v5.9")).toEqual(["kernel_stack 16384", "kernel_stack 16384", "kernel_stack 0"]);
    expect(run("v4.5")).toEqual(["", "", ""]);
  });

  it("a placed task (no fork) has no simulated page tables", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.pages(pid, "anon", 513 * PAGE);
    expect(s.num("/a", "memory.current")).toBe(513 * PAGE);
    expect(stat(s, "/a")).toBe("kernel 0,kernel_stack 0,pagetables 0");
  });

  it("page tables are charged where the task faults: after a move the new ones go to the new cgroup, all leave at exit", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a", "/b");
    const pid = s.ex({ op: "spawnTask", cgroup: "/a", fork: true }).pid;
    s.pages(pid, "anon", 512 * PAGE);
    s.ex({ op: "moveTask", pid, cgroup: "/b" });
    s.pages(pid, "anon", PAGE);
    // /a: pgd 2 + pud + pmd + pte = 5 pages; /b: the second pte page
    expect(stat(s, "/a")).toBe("kernel 36864,kernel_stack 16384,pagetables 20480");
    expect(stat(s, "/b")).toBe("kernel 4096,kernel_stack 0,pagetables 4096");
    expect([s.num("/a", "memory.current"), s.num("/b", "memory.current")]).toEqual([521 * PAGE, 2 * PAGE]);
    s.ex({ op: "exitTask", pid });
    expect([s.num("/a", "memory.current"), s.num("/b", "memory.current")]).toEqual([0, 0]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("a fork whose pgd cannot be charged fails with ENOMEM; its stack is given back", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    // the 4-page stack fits under 5 pages, the 2-page pgd does not
    s.write("/a", "memory.max", String(5 * PAGE));
    let err: unknown;
    try {
      s.ex({ op: "spawnTask", cgroup: "/a", fork: true, pid: 7 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe("ENOMEM");
    expect(s.sim.tasks.has(7)).toBe(false);
    expect([s.num("/a", "memory.current"), s.sim.usedPages]).toEqual([0, 0]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("a page-table charge over memory.max fails the fault: the OOM killer takes the faulting task", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    // stack 4 + pgd 2 + pud + pmd = 8 pages; the pte page is the 9th
    s.write("/a", "memory.max", String(8 * PAGE));
    const pid = s.ex({ op: "spawnTask", cgroup: "/a", fork: true }).pid;
    const r = s.pages(pid, "anon", 3 * PAGE);
    expect([r.allocatedBytes, r.error, r.oomKilledPids]).toEqual([0, "OOM_KILLED", [pid]]);
    expect([s.num("/a", "memory.current"), s.sim.usedPages]).toEqual([0, 0]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  /**
   * oom_badness counts page tables (mm/oom_kill.c): 3.x nr_ptes; 4.0+ also the pmd pages
   * (dc6c9a35b66b); 4.15+ also the pud pages (b4e98d9ac775, af5b0f6a09e4: mm_pgtables_bytes). A
   * forked task with 513 anon pages (2 pte, 1 pmd, 1 pud) scores 515 (rfc-2012, v3.8), 516 (v4.5),
   * 517 (v5.9, v6.18) against a placed task (pid 5, no simulated page tables) of 516 or 517 anon
   * pages; ties go to the higher pid, the forked task's 10.
   */
  it.each([
    ["rfc-2012", 5, 5],
    ["v3.8", 5, 5],
    ["v4.5", 10, 5],
    ["v5.9", 10, 10],
    ["v6.18", 10, 10],
  ] as const)(
    "%s: the OOM victim against 516 anon pages is pid %i, against 517 pid %i",
    (model, vs516, vs517) => {
      const victim = (other: number) => {
        const s = new Sim({ model, cpuCount: 1, chargeBatchPages: 1 });
        s.mkdir("/a");
        const forked = s.ex({ op: "spawnTask", cgroup: "/a", fork: true, pid: 10 }).pid;
        s.pages(forked, "anon", 513 * PAGE);
        s.pages(s.spawn("/a", { pid: 5 }), "anon", other * PAGE);
        return selectVictim(s.sim, s.cg("/a"))?.pid;
      };
      expect([victim(516), victim(517)]).toEqual([vs516, vs517]);
    },
  );
});

describe("a task OOM-killed during a fault's forced charge (5.9: should_force_charge)", () => {
  it("faults nothing more: the page being charged and the tables it needed go with the task", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1, cpuCount: 1 });
    s.cache("k", 512, { flags: { account: true } });
    s.mkdir("/a", "/a/x", "/a/y");
    // 32 objects of an exited task keep 4 pages of /a charged; the limit leaves room for little more
    const filler = s.spawn("/a/x");
    s.alloc("k", { pid: filler }, 32);
    s.ex({ op: "exitTask", pid: filler });
    s.write("/a", "memory.limit_in_bytes", String(20 * PAGE));
    const a = s.ex({ op: "spawnTask", cgroup: "/a/x", fork: true }).pid;
    const b = s.ex({ op: "spawnTask", cgroup: "/a/y", fork: true }).pid;
    const r = s.pages(a, "anon", 100 * PAGE);
    // a page-table page's charge finds /a full, the OOM killer takes the faulting task itself and
    // its charge is forced; the task is gone, so no anon page is added to it
    expect(r).toMatchObject({ allocatedBytes: 0, error: "OOM_KILLED", oomKilledPids: [a] });
    expect(s.sim.tasks.has(a)).toBe(false);
    expect(s.sim.tasks.has(b)).toBe(true);
    expect(s.cg("/a/x").statLocal[0]).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });
});

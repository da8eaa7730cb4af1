import { type ChargeCtx, newOutcome, runPendingHighWork } from "./charge.js";
import { type Cgroup, modStat, STAT_KERNEL_STACK_PAGES, STAT_PAGETABLE_PAGES } from "./cgroup.js";
import type * as C from "./commands.js";
import { fail } from "./errors.js";
import { GFP_ACCOUNT, parseGfp } from "./gfp.js";
import type { Sim } from "./sim.js";
import { PAGE_SIZE as PAGE } from "./page.js";

/** What a whole-page kernel allocation is: the kinds whose accounting differs between eras. */
export const KERNEL_PAGE_KINDS = ["kernelStack", "kmallocLarge", "pageTable", "other"] as const;
export type KernelPageKind = (typeof KERNEL_PAGE_KINDS)[number];
/** The kinds, the page tables the engine allocates for a task's user pages itself included (page-alloc.ts). */
type AnyKernelPageKind = KernelPageKind;

/**
 * `THREAD_SIZE_ORDER` on x86_64 without KASAN (arch/x86/include/asm/page_64_types.h, 3.15+:
 * 6538b8ea886e "x86_64: expand kernel stack to 16K"): a kernel stack is 4 pages, 16 KiB — the
 * 16384 bytes per forked child the real 6.18 showed. Before 3.15 it was order 1 (8 KiB); the era
 * says which (`Era.threadSizeOrder`).
 */
export const KERNEL_STACK_ORDER = 2;

/** Largest order accepted (`MAX_PAGE_ORDER` 10 on x86_64: 4 MiB). */
export const MAX_KERNEL_PAGE_ORDER = 10;

/** Bookkeeping of one live whole-page kernel allocation. */
interface KernelAlloc {
  pages: number;
  kind: AnyKernelPageKind;
  /** Page-charged eras: the memcg the pages are charged to (the page's `mem_cgroup`), null if uncharged. */
  memcg: Cgroup | null;
  /** Model C: the objcg the pages are charged to (`page->memcg_data`), 0 if uncharged. */
  objcg: number;
  /** The charged pages also count in the `kernel_stack` statistic (NR_KERNEL_STACK_KB). */
  stack: boolean;
  /** The charged pages also count in the `pagetables` statistic (NR_PAGETABLE). */
  pagetable: boolean;
}

/**
 * Whether the era charges a whole-page kernel allocation of `kind` to `memcg` (docs/DOMAIN.md §7.3, §11):
 *
 * - rfc-2012: nothing but slab pages of registered caches — the RFC series ("[PATCH 3/7]
 *   per-cgroup slab caches", Feb 2012) charges only `memcg_kmem_*` slab pages; it has no
 *   `__GFP_KMEMCG` page path.
 * - v3.8: pages allocated with `__GFP_KMEMCG`, once kmem accounting is active in the cgroup
 *   (mm/page_alloc.c:__alloc_pages_nodemask → memcg_kmem_newpage_charge, 3.8). Its only users in
 *   3.8 are kernel stacks (include/linux/thread_info.h:THREADINFO_GFP_ACCOUNTED =
 *   THREADINFO_GFP | __GFP_KMEMCG, used by kernel/fork.c:alloc_thread_info_node) and large kmalloc
 *   (include/linux/slub_def.h:kmalloc_order, `flags |= __GFP_COMP | __GFP_KMEMCG`): other pages
 *   (`__GFP_ACCOUNT` did not exist) are not charged.
 * - v4.5: opt-in `__GFP_ACCOUNT` (commit a9bb7e620efd "memcg: only account kmem allocations
 *   marked as __GFP_ACCOUNT", 4.5): any page allocation with the flag
 *   (mm/page_alloc.c:__alloc_pages_nodemask → memcg_kmem_charge, 4.5), large kmalloc only with it
 *   (mm/slab_common.c:kmalloc_order → alloc_kmem_pages), and kernel stacks, whose
 *   THREADINFO_GFP carries GFP_KERNEL_ACCOUNT since 4.5 (include/linux/thread_info.h).
 * - v5.9: the same set; stacks are vmalloc'd and charged page by page with the flag stripped from
 *   the allocation itself (kernel/fork.c:memcg_charge_kernel_stack → memcg_kmem_charge_page, 5.9
 *   to 6.18), pages through their objcg (mm/memcontrol.c:__memcg_kmem_charge_page →
 *   obj_cgroup_charge_pages, 5.9+).
 *
 * The era says which (`Era.kernelPages`); a new model sets it in its era file. A task's user page
 * tables (`pageTable`, page-alloc.ts) are charged by the eras whose x86 page-table gfp carries
 * `__GFP_ACCOUNT`, 4.8+ (`Era.pageTablesAccounted`, 3e79ec7ddcb2).
 */
export function kernelPagesAccounted(sim: Sim, kind: AnyKernelPageKind, gfp: number, memcg: Cgroup): boolean {
  if (memcg.isRoot) return false;
  switch (sim.era.kernelPages) {
    case "none":
      return false;
    case "kmemcg":
      return memcg.kmemActive && (kind === "kernelStack" || kind === "kmallocLarge");
    case "account":
      if (!kmemAccountingActive(sim, memcg)) return false;
      if (kind === "pageTable") return sim.era.pageTablesAccounted;
      return kind === "kernelStack" || (gfp & GFP_ACCOUNT) !== 0;
  }
}

/**
 * Whether kmem accounting is on in `memcg`: eras whose v1 `kmem.limit_in_bytes` write activates it
 * (`Era.kmemLimit` "activate": 3.8, 4.5) account nothing in a v1 cgroup until then
 * (memcg_kmem_is_active); 4.5 on cgroup v2 activates every cgroup at creation, and 4.6+
 * (b313aeee2509 "mm: memcontrol: enable kmem accounting for all cgroups in the legacy hierarchy")
 * always accounts.
 */
export function kmemAccountingActive(sim: Sim, memcg: Cgroup): boolean {
  return sim.era.kmemLimit !== "activate" || sim.config.cgroupVersion === 2 || memcg.kmemActive;
}

/** Result of allocKernelPages: the AllocResult of docs/API.md §5 plus the id to free the pages by. */
export interface KernelPagesResult extends C.AllocResult {
  /** Id of the allocation for freeKernelPages; null when it failed. */
  pageId: number | null;
  /** The era charged the pages (false: allocated, not accounted). */
  accounted: boolean;
}

/**
 * Whole-page kernel allocations made on behalf of a task (kernel stacks, large kmalloc, pages
 * allocated with `__GFP_ACCOUNT`): allocated from physical memory, charged whole (`4096 << order`)
 * as the instance's era does, uncharged when freed by id. Charged pages count in the `kernel`
 * statistic and the v1 `kmem` counter next to slab; a page-charged era's page pins its (dying)
 * cgroup until freed, as the css reference `memcg_kmem_charge` takes (4.5, mm/memcontrol.c); model
 * C pages follow their objcg when a cgroup is removed, as slab objects do.
 */
export class KernelPages {
  private readonly live = new Map<number, KernelAlloc>();
  private nextId = 1;
  /** Page-charged eras: charged pages per memcg (they pin a dying cgroup). */
  private readonly byMemcg = new Map<Cgroup, number>();
  /** Pages allocated (charged or not), part of the instance's used physical pages. */
  totalPages = 0;

  constructor(private readonly sim: Sim) {}

  get liveCount(): number {
    return this.live.size;
  }

  /** Pages held charged to `cg` by page-charged eras (a dying cgroup stays pinned while > 0). */
  pinnedPages(cg: Cgroup): number {
    return this.byMemcg.get(cg) ?? 0;
  }

  /** Charged pages by cgroup as the `kernel` statistic holds them (for the invariants). */
  chargedPagesByCgroup(): Map<Cgroup, number> {
    const out = new Map<Cgroup, number>();
    for (const a of this.live.values()) {
      let cg: Cgroup | null = a.memcg;
      if (a.objcg > 0) cg = this.sim.slab.objcgMemcg[a.objcg];
      if (cg === null || cg.isRoot) continue;
      out.set(cg, (out.get(cg) ?? 0) + a.pages);
    }
    return out;
  }

  alloc(cmd: C.AllocKernelPagesCmd): KernelPagesResult {
    const t = this.sim.task(cmd.pid);
    if (!(KERNEL_PAGE_KINDS as readonly string[]).includes(cmd.kind))
      fail("INVALID_ARGUMENT", `kind must be one of ${KERNEL_PAGE_KINDS.join(", ")}`, {
        issues: [{ path: "kind", message: "unknown kind" }],
      });
    // an explicit kernelStack defaults to today's 16 KiB whatever the era (a trace recorded on a
    // 6.x host replays its stacks as they were); a fork inside the simulation (forkStack) uses the
    // era's own THREAD_SIZE
    const order = cmd.order ?? (cmd.kind === "kernelStack" ? KERNEL_STACK_ORDER : 0);
    if (!Number.isInteger(order) || order < 0 || order > MAX_KERNEL_PAGE_ORDER)
      fail("INVALID_ARGUMENT", `order must be an integer in [0, ${MAX_KERNEL_PAGE_ORDER}]`, {
        issues: [{ path: "order", message: "out of range" }],
      });
    const gfp = parseGfp(cmd.gfp);
    return this.allocPages(t.cgroup, t, t.cpu, cmd.kind, order, gfp);
  }

  /**
   * The kernel stack of a task forked in `memcg` on `cpu`, allocated by the forking task before
   * the child exists (kernel/fork.c:copy_process → dup_task_struct → alloc_thread_stack_node;
   * 3.8 alloc_thread_info_node with THREADINFO_GFP_ACCOUNTED, 4.5 THREADINFO_GFP with
   * GFP_KERNEL_ACCOUNT, 5.9+ memcg_charge_kernel_stack → memcg_kmem_charge_page per page of the
   * vmap'd stack): `THREAD_SIZE` bytes (`Era.threadSizeOrder`), charged where the era charges
   * stacks (kernelPagesAccounted). The charging context is the parent, which the simulator does
   * not model: no task is the OOM killer's "current", and the child cannot be chosen as a victim
   * of its own stack's charge (it is not on the task list yet).
   */
  forkStack(memcg: Cgroup, cpu: number): KernelPagesResult {
    return this.allocPages(
      memcg,
      null,
      cpu,
      "kernelStack",
      this.sim.era.threadSizeOrder,
      parseGfp(undefined),
    );
  }

  /**
   * One page-table page of task `t`'s mm (order 0: a pud, pmd or pte page; the pgd of a fork:
   * `Era.pgdOrder`), allocated in `memcg` — the faulting task's cgroup (mm/memory.c:__pte_alloc →
   * pte_alloc_one, __pmd_alloc, __pud_alloc with GFP_PGTABLE_USER, charged through the current
   * task's memcg by __GFP_ACCOUNT; 4.8-era arch/x86/mm/pgtable.c PGALLOC_GFP), or for the pgd the
   * forking parent's (kernel/fork.c:dup_mm → mm_init → mm_alloc_pgd → pgd_alloc, `t` null).
   * Physical memory in every era; charged where `Era.pageTablesAccounted` (kernelPagesAccounted).
   */
  pageTable(memcg: Cgroup, t: ChargeCtx["task"], cpu: number, order: number): KernelPagesResult {
    return this.allocPages(memcg, t, cpu, "pageTable", order, parseGfp("GFP_KERNEL_ACCOUNT"));
  }

  private allocPages(
    memcg: Cgroup,
    t: ChargeCtx["task"],
    cpu: number,
    kind: AnyKernelPageKind,
    order: number,
    gfp: number,
  ): KernelPagesResult {
    const n = 1 << order;
    const out = newOutcome();
    const ctx: ChargeCtx = { task: t, cpu, gfp, out };
    const failed = (error: C.AllocResult["error"]): KernelPagesResult => {
      runPendingHighWork(this.sim, out);
      return {
        allocatedBytes: 0,
        failedBytes: n * PAGE,
        error,
        failedAt: error === "ENOMEM" && out.failedAt !== null ? out.failedAt.path : null,
        chargedBytes: 0,
        reclaimedBytes: out.reclaimedPages * PAGE,
        oomKilledPids: out.oomKilledPids,
        throttleMs: out.throttleMs,
        pageId: null,
        accounted: false,
      };
    };
    if (!this.sim.allocPhysPages(n, ctx)) return failed(out.selfKilled ? "OOM_KILLED" : "ENOMEM");
    const accounted = kernelPagesAccounted(this.sim, kind, gfp, memcg);
    const a: KernelAlloc = { pages: n, kind, memcg: null, objcg: 0, stack: false, pagetable: false };
    if (accounted) {
      if (!this.charge(memcg, n, ctx)) {
        this.sim.usedPages -= n;
        this.sim.chargeFailures.kmem++;
        this.sim.events.emit(this.sim.clockMs, "charge_failed", {
          cgroup: memcg.path,
          ...(t === null ? {} : { pid: t.pid }),
          failedAt: out.failedAt?.path ?? memcg.path,
          reason: "kmem",
        });
        return failed(out.selfKilled ? "OOM_KILLED" : "ENOMEM");
      }
      if (this.sim.model.objectCharging) a.objcg = memcg.objcgId;
      else {
        a.memcg = memcg;
        this.byMemcg.set(memcg, (this.byMemcg.get(memcg) ?? 0) + n);
      }
      // kernel/fork.c:account_kernel_stack → NR_KERNEL_STACK_KB of the stack's memcg (4.6+ a memcg
      // statistic, 12580e4b54ba; the eras before it keep it too, they just do not print it)
      if (kind === "kernelStack") {
        a.stack = true;
        modStat(memcg, STAT_KERNEL_STACK_PAGES, n);
      }
      // NR_PAGETABLE of the page's memcg (mm.h:pagetable_pte_ctor → lruvec_stat_add_folio; a memcg
      // statistic from 5.11, f0c0c115fb81; kept by the eras before it too, only not printed)
      if (kind === "pageTable") {
        a.pagetable = true;
        modStat(memcg, STAT_PAGETABLE_PAGES, n);
      }
    }
    this.totalPages += n;
    const id = this.nextId++;
    this.live.set(id, a);
    runPendingHighWork(this.sim, out);
    return {
      allocatedBytes: n * PAGE,
      failedBytes: 0,
      error: null,
      failedAt: null,
      chargedBytes: accounted ? n * PAGE : 0,
      reclaimedBytes: out.reclaimedPages * PAGE,
      oomKilledPids: out.oomKilledPids,
      throttleMs: out.throttleMs,
      pageId: id,
      accounted,
    };
  }

  /**
   * The era's charge of `n` whole pages, by the model's own page charge (AccountingModel
   * .chargeKernelPages): 4.5+ (`memcg_kmem_charge`, 4.5; `obj_cgroup_charge_pages`, 5.9+)
   * try-charge `memory` with reclaim and OOM, then the v1 `kmem` counter (enforced in 4.5 v1, a
   * mirror since 5.16); 3.8 `memcg_charge_kmem` charges `kmem` first (failure: ENOMEM without
   * reclaim), then `res` through the 3.x path. Statistic `kernel` moves by the pages.
   */
  private charge(memcg: Cgroup, n: number, ctx: ChargeCtx): boolean {
    return this.sim.model.chargeKernelPages(memcg, n, ctx);
  }

  /** Frees one allocation by id, the frees running on `cpu`. */
  freePages(id: number, cpu: number): void {
    this.free({ op: "freeKernelPages", pageIds: [id], cpu });
  }

  /** Frees allocations by id (`__free_pages` → `__memcg_kmem_uncharge_page`); unknown ids count as missing. */
  free(cmd: C.FreeKernelPagesCmd): C.FreeResult {
    let missing = 0;
    let freedBytes = 0;
    let unchargedPages = 0;
    for (const id of cmd.pageIds) {
      const a = this.live.get(id);
      if (a === undefined) {
        missing++;
        continue;
      }
      this.live.delete(id);
      this.totalPages -= a.pages;
      this.sim.usedPages -= a.pages;
      freedBytes += a.pages * PAGE;
      if (a.objcg > 0) {
        // model C: the pages uncharge whatever cgroup their objcg points at now (a reparented
        // objcg: the parent; the root: only the statistics it kept, its charge left at offline,
        // audit row 29)
        const memcg = this.sim.slab.objcgMemcg[a.objcg];
        if (a.stack) modStat(memcg, STAT_KERNEL_STACK_PAGES, -a.pages);
        if (a.pagetable) modStat(memcg, STAT_PAGETABLE_PAGES, -a.pages);
        // __memcg_kmem_uncharge_page → obj_cgroup_uncharge_pages, as the era does it (6.16+: the
        // memory charge refills this CPU's page stock)
        this.sim.model.unchargeKernelPages(memcg, a.pages, cmd.cpu ?? 0);
        if (!memcg.isRoot) unchargedPages += a.pages;
      } else if (a.memcg !== null) {
        const memcg = a.memcg;
        if (a.stack) modStat(memcg, STAT_KERNEL_STACK_PAGES, -a.pages);
        if (a.pagetable) modStat(memcg, STAT_PAGETABLE_PAGES, -a.pages);
        this.sim.model.unchargeKernelPages(memcg, a.pages, cmd.cpu ?? 0);
        const left = (this.byMemcg.get(memcg) ?? 0) - a.pages;
        if (left === 0) this.byMemcg.delete(memcg);
        else this.byMemcg.set(memcg, left);
        unchargedPages += a.pages;
        this.sim.maybeRelease(memcg);
      }
    }
    return { freedBytes, missingCount: missing, unchargedBytes: unchargedPages * PAGE, freedSlabCount: 0 };
  }
}

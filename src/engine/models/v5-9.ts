import {
  type AllocOutcome,
  CHARGE_OK,
  type ChargeCtx,
  drainAllStock,
  refillStock,
  tryChargeMemcg,
  uncharge,
} from "../charge.js";
import {
  type Cgroup,
  modStat,
  moveLocalPercpu,
  ROW_KMEM,
  STAT_KERNEL_PAGES,
  STAT_KERNEL_STACK_PAGES,
  STAT_PAGETABLE_PAGES,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
} from "../cgroup.js";
import { GFP_ACCOUNT, GFP_NOFAIL } from "../gfp.js";
import { chargeAt, tryChargeAt, unchargeAt } from "../page-counter.js";
import type { Sim } from "../sim.js";
import type { CacheCopy, KmemCache } from "../slab/cache.js";
import type { SlabSystem } from "../slab/kmem.js";
import type { AccountingModel, Selection } from "./model.js";
import { PAGE_SIZE as PAGE } from "../page.js";

/** One CPU's obj stock (`struct obj_stock`): the cached objcg and its pre-charged bytes. */
export interface ObjStock {
  objcg: number;
  bytes: number;
}

/**
 * Model C — the slab controller of 5.9+ (docs/DOMAIN.md §7): caches are shared; an accounted object
 * (SLAB_ACCOUNT cache or `__GFP_ACCOUNT` call, non-root cgroup) charges `size + 8` bytes to the
 * allocating cgroup's objcg through the per-CPU obj stock (§7.2, 5.9's refill: the whole stock
 * drained above a page); whole pages go through the full modern charge path and the `kernel`
 * statistic, with the v1 `kmem` limit enforced (5.9 __memcg_kmem_charge); uncharged pages refill
 * the page stock (5.9 __memcg_kmem_uncharge); `slab_*` statistics move in object bytes; slab
 * pages are never charged. On rmdir the objcgs are reparented (§7.4): later frees uncharge the parent and slab never
 * pins a removed cgroup.
 */
export class V59Model implements AccountingModel {
  readonly name: string = "v5.9";
  readonly modern = true;
  readonly objectCharging = true;
  readonly memcgAwareShrinking = true;
  /**
   * 5.9 shrink_node: slab pages freed by shrinkers (`reclaim_state->reclaimed_slab`) count for
   * memcg reclaim too, until 6.4 ("mm: vmscan: ignore non-LRU-based reclaim in memcg reclaim").
   */
  readonly creditsSlabPagesInMemcgReclaim: boolean = true;
  readonly reparentsLruChargesOnOffline = false;
  readonly stocks: ObjStock[];
  private readonly sel: Selection = { inst: null as unknown as CacheCopy, objcg: 0, stable: true };
  /** The task of the command now running was OOM-killed during its own (forced) charge. */
  private killedInCommand = false;

  constructor(protected readonly sim: Sim) {
    this.stocks = Array.from({ length: sim.config.cpuCount }, () => ({ objcg: -1, bytes: 0 }));
  }

  selectInstance(_kmem: SlabSystem, cache: KmemCache, memcg: Cgroup, gfp: number): Selection {
    this.sel.inst = cache.base;
    this.sel.objcg = !memcg.isRoot && (cache.accounted || gfp & GFP_ACCOUNT) ? memcg.objcgId : 0;
    return this.sel;
  }

  chargeSlab(): boolean {
    return true;
  }

  unchargeSlab(): void {}

  /** `obj_cgroup_charge`: consume the stock, else charge whole pages and park the remainder. */
  chargeObject(kmem: SlabSystem, objcg: number, bytes: number, ctx: ChargeCtx): boolean {
    // a task the OOM killer chose during this command (its own charge went through where the era
    // forces it) makes no further allocations: the simulator ends its command here
    if (ctx.out.selfKilled) {
      this.killedInCommand = true;
      return false;
    }
    this.killedInCommand = false;
    const s = this.stocks[ctx.cpu];
    if (s.objcg === objcg && s.bytes >= bytes) {
      s.bytes -= bytes;
      return true;
    }
    const nrPages = Math.ceil(bytes / PAGE);
    const rem = bytes % PAGE;
    if (!this.chargePages(kmem.objcgMemcg[objcg], nrPages, ctx)) return false;
    if (rem > 0) this.refill(kmem, objcg, PAGE - rem, false, ctx.cpu);
    if (ctx.out.selfKilled) this.killedInCommand = true;
    return true;
  }

  unchargeObject(kmem: SlabSystem, objcg: number, bytes: number, cpu: number): void {
    this.refill(kmem, objcg, bytes, true, cpu);
  }

  /**
   * `n` frees of `bytes` each: `n` calls of 5.9 `refill_obj_stock`, one by one (every time the
   * stock passes a page it is drained whole, its rest parked in `nr_charged_bytes`, which the next
   * free takes back — together with what other CPUs parked meanwhile).
   */
  unchargeObjects(kmem: SlabSystem, objcg: number, bytes: number, n: number, cpu: number): void {
    for (let i = 0; i < n; i++) this.refill(kmem, objcg, bytes, true, cpu);
  }

  stockedObjects(objcg: number, bytes: number, cpu: number): number {
    // the command of a task killed during its own charge takes nothing more from the stock
    if (this.killedInCommand) return 0;
    const s = this.stocks[cpu];
    return s.objcg === objcg ? Math.floor(s.bytes / bytes) : 0;
  }

  consumeStock(_objcg: number, bytes: number, cpu: number): void {
    this.stocks[cpu].bytes -= bytes;
  }

  /**
   * 5.9 `refill_obj_stock` (mm/memcontrol.c, "mm: memcg/slab: obj_cgroup API", 5.9): switching
   * objcg drains the old one and takes the new one's `nr_charged_bytes`; once the stock holds more
   * than a page it is drained whole — after a charge too (`allowUncharge` is a 6.x argument).
   */
  protected refill(
    kmem: SlabSystem,
    objcg: number,
    bytes: number,
    allowUncharge: boolean,
    cpu: number,
  ): void {
    void allowUncharge;
    const s = this.stocks[cpu];
    if (s.objcg !== objcg) {
      this.drain(kmem, s, cpu);
      s.objcg = objcg;
      s.bytes = kmem.objcgChargedBytes[objcg];
      kmem.objcgChargedBytes[objcg] = 0;
    }
    s.bytes += bytes;
    if (s.bytes > PAGE) this.drain(kmem, s, cpu);
  }

  /** `drain_obj_stock`: whole pages uncharged, the sub-page rest parked in `nr_charged_bytes`. */
  protected drain(kmem: SlabSystem, s: ObjStock, cpu: number): void {
    if (s.objcg >= 0 && s.bytes > 0) {
      const pages = Math.floor(s.bytes / PAGE);
      const rem = s.bytes % PAGE;
      if (pages > 0) this.unchargePages(kmem.objcgMemcg[s.objcg], pages, cpu);
      if (rem > 0) kmem.objcgChargedBytes[s.objcg] += rem;
    }
    s.objcg = -1;
    s.bytes = 0;
  }

  /** `__memcg_kmem_charge` / `obj_cgroup_charge_pages`: the full try-charge, the v1 kmem counter, the `kernel` stat. */
  private chargePages(memcg: Cgroup, nrPages: number, ctx: ChargeCtx): boolean {
    if (memcg.isRoot) return true;
    if (
      tryChargeMemcg(this.sim, memcg, nrPages, ctx, true) !== CHARGE_OK ||
      !this.chargeKmemCounter(memcg, nrPages, ctx)
    ) {
      this.sim.chargeFailures.kmem++;
      this.sim.events.emit(this.sim.clockMs, "charge_failed", {
        cgroup: memcg.path,
        failedAt: ctx.out.failedAt?.path ?? memcg.path,
        reason: "kmem",
      });
      return false;
    }
    memcg.objcgPages += nrPages;
    modStat(memcg, STAT_KERNEL_PAGES, nrPages);
    return true;
  }

  /**
   * 5.9 `__memcg_kmem_charge` on cgroup v1: `page_counter_try_charge(&memcg->kmem)` after the
   * memory charge; a failure (kmem.failcnt) cancels the memory charge (cancel_charge: straight off
   * the counter) and fails with ENOMEM, except `__GFP_NOFAIL`, which is charged over the limit.
   * On v2 the kmem counter only mirrors the memory charge.
   */
  protected chargeKmemCounter(memcg: Cgroup, nrPages: number, ctx: ChargeCtx): boolean {
    if (this.sim.config.cgroupVersion === 2 || ctx.gfp & GFP_NOFAIL) {
      chargeAt(memcg, ROW_KMEM, nrPages);
      return true;
    }
    const failed = tryChargeAt(memcg, ROW_KMEM, nrPages);
    if (failed === null) return true;
    uncharge(memcg, nrPages);
    ctx.out.failedAt = failed;
    return false;
  }

  chargeKernelPages(memcg: Cgroup, nrPages: number, ctx: ChargeCtx): boolean {
    return this.chargePages(memcg, nrPages, ctx);
  }

  unchargeKernelPages(memcg: Cgroup, nrPages: number, cpu: number): void {
    this.unchargePages(memcg, nrPages, cpu);
  }

  /**
   * 5.9 `__memcg_kmem_uncharge` (6.x `obj_cgroup_uncharge_pages`): kmem and the `kernel` stat drop,
   * the memory charge goes to this CPU's page stock (`refill_stock(memcg, nr_pages)`), so usage
   * stays until the stock is drained.
   */
  protected unchargePages(memcg: Cgroup, nrPages: number, cpu: number): void {
    if (memcg.isRoot) {
      // an objcg reparented to the root: its counters were let go at offline; the `kernel`
      // statistic the root kept drops now (obj_cgroup_uncharge_pages → memcg_account_kmem)
      modStat(memcg, STAT_KERNEL_PAGES, -nrPages);
      return;
    }
    unchargeAt(memcg, ROW_KMEM, nrPages);
    memcg.objcgPages -= nrPages;
    modStat(memcg, STAT_KERNEL_PAGES, -nrPages);
    // chargeBatchPages 1 is the simulator's exact-accounting mode: no stock, the pages leave at once
    if (this.sim.config.chargeBatchPages > 1) refillStock(this.sim, memcg, nrPages, cpu);
    else uncharge(memcg, nrPages);
    this.sim.maybeRelease(memcg);
  }

  objectStat(_kmem: SlabSystem, cache: KmemCache, cg: Cgroup, deltaBytes: number): void {
    // the root only by a reparented objcg (a new object of the root is never charged): its frees
    // take the slab statistic the root kept (mod_objcg_mlstate on the root, audit row 29)
    modStat(
      cg,
      cache.flags.reclaimAccount ? STAT_SLAB_RECLAIMABLE_BYTES : STAT_SLAB_UNRECLAIMABLE_BYTES,
      deltaBytes,
    );
  }

  onCgroupCreated(kmem: SlabSystem, cg: Cgroup): void {
    void kmem;
    void cg;
  }

  onCgroupCreatedWithCache(): void {}

  onCacheAccounted(): void {}

  /**
   * `memcg_offline_kmem` (docs/DOMAIN.md §7.4): drain the stocks caching this cgroup's objcgs, point every
   * objcg it owns or inherited at the parent, move its kmem charges, statistics and lists there.
   */
  onCgroupOffline(kmem: SlabSystem, cg: Cgroup): void {
    const parent = cg.parent!;
    this.stocks.forEach((s, cpu) => {
      if (s.objcg >= 0 && kmem.objcgMemcg[s.objcg] === cg) this.drain(kmem, s, cpu);
    });
    this.reparent(kmem, cg, parent);
    // mem_cgroup_css_offline (5.9): memcg_offline_kmem, then drain_all_stock(memcg) — the pages the
    // obj-stock drain just gave back to the page stock leave the counters
    drainAllStock(this.sim, cg);
  }

  /** The offline work after the stocks: objcgs, kmem charges, statistics and lists move to the parent. */
  protected reparent(kmem: SlabSystem, cg: Cgroup, parent: Cgroup): void {
    kmem.moveObjcgs(cg, parent);
    const pages = cg.objcgPages;
    cg.objcgPages = 0;
    if (parent.isRoot) {
      // Reparented to the root, which the simulator never charges: the pages leave every level now
      // (the root's own counter included) and the objects' later frees uncharge nothing. (The
      // kernel keeps them on the root page_counter until the frees; the root has no limit, so no
      // decision differs.)
      if (pages > 0) {
        cg.memory.uncharge(pages);
        cg.kmem.uncharge(pages);
      }
    } else if (pages > 0) {
      // the pages stay charged to the ancestors; the dying level lets go of them
      cg.memory.cancelLocal(pages);
      cg.kmem.cancelLocal(pages);
      parent.objcgPages += pages;
    }
    // the statistics follow the objcg (the root's too: memcg_reparent_objcgs moves the objcg, not
    // the statistics, so the root's memory.stat keeps counting what meminfo's Slab still holds
    // until the frees, audit row 29), with the percpu areas of dead children charged through it
    for (const st of [
      STAT_KERNEL_PAGES,
      STAT_KERNEL_STACK_PAGES,
      STAT_PAGETABLE_PAGES,
      STAT_SLAB_RECLAIMABLE_BYTES,
      STAT_SLAB_UNRECLAIMABLE_BYTES,
    ])
      this.sim.moveLocalStat(cg, parent, st);
    moveLocalPercpu(cg, parent);
    kmem.spliceLists(cg, parent, true, true);
  }

  afterDyingFree(): void {}

  onClock(): void {}
}

import { CHARGE_OK, type ChargeCtx, tryChargeMemcg, uncharge } from "../charge.js";
import {
  type Cgroup,
  modStat,
  ROW_KMEM,
  STAT_KERNEL_PAGES,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
} from "../cgroup.js";
import { GFP_ACCOUNT } from "../gfp.js";
import { chargeAt, unchargeAt } from "../page-counter.js";
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
 * allocating cgroup's objcg through the per-CPU obj stock (§7.2, the 6.x refill rules); whole pages
 * go through the full modern charge path and the `kernel` statistic, with the v1 `kmem` counter
 * as an unenforced mirror (5.16+); `slab_*` statistics move in object bytes; slab pages are never
 * charged. On rmdir the objcgs are reparented (§7.4): later frees uncharge the parent and slab never
 * pins a removed cgroup.
 */
export class V59Model implements AccountingModel {
  readonly name: string = "v5.9";
  readonly modern = true;
  readonly objectCharging = true;
  readonly memcgAwareShrinking = true;
  /** 6.x `flush_reclaim_state`: slab pages freed by shrinkers count only for global reclaim. */
  readonly creditsSlabPagesInMemcgReclaim = false;
  readonly reparentsLruChargesOnOffline = false;
  readonly stocks: ObjStock[];
  private readonly sel: Selection = { inst: null as unknown as CacheCopy, objcg: 0, stable: true };

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
    const s = this.stocks[ctx.cpu];
    if (s.objcg === objcg && s.bytes >= bytes) {
      s.bytes -= bytes;
      return true;
    }
    const nrPages = Math.ceil(bytes / PAGE);
    const rem = bytes % PAGE;
    if (!this.chargePages(kmem.objcgMemcg[objcg], nrPages, ctx)) return false;
    if (rem > 0) this.refill(kmem, objcg, PAGE - rem, false, ctx.cpu);
    return true;
  }

  unchargeObject(kmem: SlabSystem, objcg: number, bytes: number, cpu: number): void {
    this.refill(kmem, objcg, bytes, true, cpu);
  }

  unchargeObjects(kmem: SlabSystem, objcg: number, bytes: number, n: number, cpu: number): void {
    if (n <= 0) return;
    const s = this.stocks[cpu];
    if (s.objcg !== objcg) {
      // the first one switches the stock (drain, take the parked bytes)
      this.refill(kmem, objcg, bytes, true, cpu);
      n--;
    }
    // the rest: `refill_obj_stock` with the same objcg, n times; whole pages go back together
    let b = s.bytes;
    let pages = 0;
    for (let i = 0; i < n; i++) {
      b += bytes;
      if (b > PAGE) {
        pages += Math.floor(b / PAGE);
        b %= PAGE;
      }
    }
    s.bytes = b;
    if (pages > 0) this.unchargePages(kmem.objcgMemcg[objcg], pages, cpu);
  }

  stockedObjects(objcg: number, bytes: number, cpu: number): number {
    const s = this.stocks[cpu];
    return s.objcg === objcg ? Math.floor(s.bytes / bytes) : 0;
  }

  consumeStock(_objcg: number, bytes: number, cpu: number): void {
    this.stocks[cpu].bytes -= bytes;
  }

  /** `refill_obj_stock` (6.x): switching objcg drains the old one; above a page, whole pages go back. */
  private refill(kmem: SlabSystem, objcg: number, bytes: number, allowUncharge: boolean, cpu: number): void {
    const s = this.stocks[cpu];
    if (s.objcg !== objcg) {
      this.drain(kmem, s, cpu);
      s.objcg = objcg;
      s.bytes = kmem.objcgChargedBytes[objcg];
      kmem.objcgChargedBytes[objcg] = 0;
      allowUncharge = true;
    }
    s.bytes += bytes;
    if (allowUncharge && s.bytes > PAGE) {
      const pages = Math.floor(s.bytes / PAGE);
      s.bytes %= PAGE;
      this.unchargePages(kmem.objcgMemcg[objcg], pages, cpu);
    }
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

  /** `obj_cgroup_charge_pages`: the full try-charge, the `kernel` stat and the v1 kmem mirror. */
  private chargePages(memcg: Cgroup, nrPages: number, ctx: ChargeCtx): boolean {
    if (memcg.isRoot) return true;
    if (tryChargeMemcg(this.sim, memcg, nrPages, ctx) !== CHARGE_OK) {
      this.sim.chargeFailures.kmem++;
      this.sim.events.emit(this.sim.clockMs, "charge_failed", {
        cgroup: memcg.path,
        failedAt: ctx.out.failedAt?.path ?? memcg.path,
        reason: "kmem",
      });
      return false;
    }
    chargeAt(memcg, ROW_KMEM, nrPages);
    memcg.objcgPages += nrPages;
    modStat(memcg, STAT_KERNEL_PAGES, nrPages);
    return true;
  }

  chargeKernelPages(memcg: Cgroup, nrPages: number, ctx: ChargeCtx): boolean {
    return this.chargePages(memcg, nrPages, ctx);
  }

  unchargeKernelPages(memcg: Cgroup, nrPages: number, cpu: number): void {
    this.unchargePages(memcg, nrPages, cpu);
  }

  /** `obj_cgroup_uncharge_pages` of 5.9: the pages leave the memory counter (`cpu` unused here). */
  protected unchargePages(memcg: Cgroup, nrPages: number, cpu: number): void {
    void cpu;
    if (memcg.isRoot) return;
    uncharge(memcg, nrPages);
    unchargeAt(memcg, ROW_KMEM, nrPages);
    memcg.objcgPages -= nrPages;
    modStat(memcg, STAT_KERNEL_PAGES, -nrPages);
    this.sim.maybeRelease(memcg);
  }

  objectStat(_kmem: SlabSystem, cache: KmemCache, cg: Cgroup, deltaBytes: number): void {
    if (cg.isRoot) return;
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
      // decision differs.) Their kernel/slab statistics go with them.
      if (pages > 0) {
        cg.memory.uncharge(pages);
        cg.kmem.uncharge(pages);
      }
      for (const st of [STAT_KERNEL_PAGES, STAT_SLAB_RECLAIMABLE_BYTES, STAT_SLAB_UNRECLAIMABLE_BYTES])
        modStat(cg, st, -cg.statLocal[st]);
    } else {
      if (pages > 0) {
        // the pages stay charged to the ancestors; the dying level lets go of them
        cg.memory.cancelLocal(pages);
        cg.kmem.cancelLocal(pages);
        parent.objcgPages += pages;
      }
      this.sim.moveLocalStat(cg, parent, STAT_KERNEL_PAGES);
      this.sim.moveLocalStat(cg, parent, STAT_SLAB_RECLAIMABLE_BYTES);
      this.sim.moveLocalStat(cg, parent, STAT_SLAB_UNRECLAIMABLE_BYTES);
    }
    kmem.spliceLists(cg, parent, true, true);
  }

  afterDyingFree(): void {}

  onClock(): void {}
}

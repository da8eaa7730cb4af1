import type { ChargeCtx } from "../charge.js";
import {
  type Cgroup,
  modStat,
  STAT_KERNEL_PAGES,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
} from "../cgroup.js";
import type { Sim } from "../sim.js";
import type { CacheCopy, KmemCache } from "../slab/cache.js";
import type { SlabSystem } from "../slab/kmem.js";
import type { AccountingModel, Selection } from "./model.js";

/**
 * What the three per-cgroup-cache designs (A, B, B′) share: slab pages charged when a copy
 * allocates a slab and uncharged when it frees one; `kernel`/`slab_*` statistics in whole pages
 * (docs/DOMAIN.md §11 "Charge unit: slab page").
 */
export abstract class PageChargedModel implements AccountingModel {
  abstract readonly name: string;
  abstract readonly modern: boolean;
  readonly objectCharging = false;
  abstract readonly memcgAwareShrinking: boolean;
  readonly creditsSlabPagesInMemcgReclaim = true;
  abstract readonly reparentsLruChargesOnOffline: boolean;
  protected readonly sel: Selection = { inst: null as unknown as CacheCopy, objcg: 0, stable: true };

  constructor(protected readonly sim: Sim) {}

  abstract selectInstance(kmem: SlabSystem, cache: KmemCache, memcg: Cgroup, gfp: number): Selection;
  /** Charges the counters of the era; on success the statistics follow in `chargeSlab`. */
  protected abstract chargePages(memcg: Cgroup, pages: number, ctx: ChargeCtx): boolean;
  protected abstract unchargePages(memcg: Cgroup, pages: number): void;
  abstract onCgroupCreated(kmem: SlabSystem, cg: Cgroup): void;
  abstract onCgroupCreatedWithCache(kmem: SlabSystem, cache: KmemCache, cg: Cgroup): void;
  abstract onCacheAccounted(kmem: SlabSystem, cache: KmemCache): void;
  abstract onCgroupOffline(kmem: SlabSystem, cg: Cgroup): void;
  abstract afterDyingFree(kmem: SlabSystem, inst: CacheCopy): void;

  protected pick(inst: CacheCopy, stable = true): Selection {
    this.sel.inst = inst;
    this.sel.objcg = 0;
    this.sel.stable = stable;
    return this.sel;
  }

  chargeSlab(_kmem: SlabSystem, inst: CacheCopy, pages: number, ctx: ChargeCtx): boolean {
    const memcg = inst.memcg;
    if (memcg === null) return true;
    if (!this.chargePages(memcg, pages, ctx)) {
      this.sim.events.emit(this.sim.clockMs, "charge_failed", {
        cgroup: memcg.path,
        cache: inst.root.name,
        failedAt: ctx.out.failedAt?.path ?? memcg.path,
        reason: "kmem",
      });
      this.sim.chargeFailures.kmem++;
      return false;
    }
    modStat(memcg, STAT_KERNEL_PAGES, pages);
    modStat(
      memcg,
      inst.root.flags.reclaimAccount ? STAT_SLAB_RECLAIMABLE_BYTES : STAT_SLAB_UNRECLAIMABLE_BYTES,
      pages * 4096,
    );
    return true;
  }

  unchargeSlab(_kmem: SlabSystem, inst: CacheCopy, pages: number): void {
    const memcg = inst.memcg;
    if (memcg === null) return;
    this.unchargePages(memcg, pages);
    modStat(memcg, STAT_KERNEL_PAGES, -pages);
    modStat(
      memcg,
      inst.root.flags.reclaimAccount ? STAT_SLAB_RECLAIMABLE_BYTES : STAT_SLAB_UNRECLAIMABLE_BYTES,
      -pages * 4096,
    );
    this.sim.maybeRelease(memcg);
  }

  chargeObject(): boolean {
    return true;
  }

  unchargeObject(): void {}

  unchargeObjects(): void {}

  chargeKernelPages(memcg: Cgroup, nrPages: number, ctx: ChargeCtx): boolean {
    if (!this.chargePages(memcg, nrPages, ctx)) {
      this.sim.events.emit(this.sim.clockMs, "charge_failed", {
        cgroup: memcg.path,
        failedAt: ctx.out.failedAt?.path ?? memcg.path,
        reason: "kmem",
      });
      this.sim.chargeFailures.kmem++;
      return false;
    }
    modStat(memcg, STAT_KERNEL_PAGES, nrPages);
    return true;
  }

  unchargeKernelPages(memcg: Cgroup, nrPages: number): void {
    this.unchargePages(memcg, nrPages);
    modStat(memcg, STAT_KERNEL_PAGES, -nrPages);
  }

  stockedObjects(): number {
    return 0;
  }

  consumeStock(): void {}

  objectStat(): void {}

  onClock(kmem: SlabSystem): void {
    for (const cache of kmem.caches.values())
      for (const inst of cache.children.values())
        if (
          inst.state === "pending" &&
          this.sim.clockMs >= inst.readyAtMs &&
          kmem.allocSerial > inst.requestedAtSerial
        )
          this.activate(inst);
  }

  /** The async worker of 3.8–5.8 finished: the copy is published and serves allocations. */
  protected activate(inst: CacheCopy): void {
    inst.state = "active";
    this.sim.events.emit(this.sim.clockMs, "cache_created", {
      cache: inst.root.name,
      cgroup: inst.memcg!.path,
      displayName: inst.displayName,
    });
  }

  /**
   * Lazy, asynchronous copy creation of 3.8–5.8 (docs/DOMAIN.md §6.1 step 4, §6.4): a miss queues the
   * creation and is served by the root cache, unaccounted; the copy serves allocations once its
   * creation delay has passed and a later allocation asks for it.
   */
  protected lazyCopy(kmem: SlabSystem, cache: KmemCache, memcg: Cgroup, name: string): Selection {
    let inst = cache.children.get(memcg.id);
    if (inst === undefined) {
      inst = kmem.newCopy(cache, memcg, name, "pending");
      inst.readyAtMs = this.sim.clockMs + this.sim.config.cacheCreationDelayMs;
      inst.requestedAtSerial = kmem.allocSerial;
      // the next allocation may find it ready
      return this.pick(cache.base, false);
    }
    if (inst.state === "pending") {
      if (this.sim.clockMs >= inst.readyAtMs && kmem.allocSerial > inst.requestedAtSerial)
        this.activate(inst);
      // the simulated clock does not move within a command: a copy not yet due stays pending
      else return this.pick(cache.base, this.sim.clockMs < inst.readyAtMs);
    }
    if (inst.state !== "active") return this.pick(cache.base);
    return this.pick(inst);
  }

  /**
   * rmdir of a cgroup with copies (3.8–5.8): a pending creation is dropped; live copies are
   * deactivated (`min_partial` 0, `cpu_partial` 0, CPU slabs and per-CPU partial lists flushed,
   * empty slabs freed) and destroyed once they
   * hold no slab — until then they pin the cgroup.
   */
  protected deactivateCopies(kmem: SlabSystem, cg: Cgroup): void {
    for (const cache of kmem.caches.values()) {
      const inst = cache.children.get(cg.id);
      if (inst === undefined) continue;
      if (inst.state === "pending") {
        inst.state = "active";
        kmem.destroyCopy(inst);
        continue;
      }
      inst.state = "dying";
      inst.minPartial = 0;
      // the deactivation zeroes the per-CPU partial bound (4.x __kmem_cache_shrink(s, deactivate):
      // `s->cpu_partial = 0`; later __kmemcg_cache_deactivate): from now on a free parks nothing;
      // shrinkInstance's flush_all unfreezes what is parked
      inst.cpuPartialLimit = 0;
      kmem.shrinkInstance(inst);
      if (inst.slabCount === 0) kmem.destroyCopy(inst);
    }
  }
}

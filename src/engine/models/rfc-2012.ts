import type { ChargeCtx } from "../charge.js";
import { type Cgroup, ROW_KMEM, ROW_MEMORY } from "../cgroup.js";
import { tryChargeAt, unchargeAt } from "../page-counter.js";
import type { CacheCopy, KmemCache } from "../slab/cache.js";
import type { SlabSystem } from "../slab/kmem.js";
import { tryToFreeMemcgPages } from "../reclaim.js";
import type { Selection } from "./model.js";
import { PageChargedModel } from "./page-charged.js";

/**
 * Model A — the seed patch "[PATCH 3/7] per-cgroup slab caches" (docs/DOMAIN.md §0, §11): registered
 * caches only; a copy per registered cache made eagerly when a cgroup is created, and only then
 * (a cache registered later gets no copy in the cgroups that already exist: they keep using the
 * base cache, unaccounted), named `<base>-<index>` with a small-integer
 * index (the seed's TODO: an ida instead of the memcg pointer); slab pages charged to `kmem` when
 * `kmemIndependentAccounting`, else to the user-memory counter; a failed charge frees the page and
 * fails the allocation without reclaim (unless `reclaimOnKmemFailure`, the promised respin). gfp
 * flags are ignored (an explicit TODO of the seed). Copies of a removed cgroup live on while they
 * hold objects (`mem_cgroup_get`), then are destroyed and the cgroup released.
 */
export class Rfc2012Model extends PageChargedModel {
  readonly name = "rfc-2012" as const;
  readonly modern = false;
  /** The series' memcg-aware dcache shrinker (patches 4–7/7). */
  readonly memcgAwareShrinking = true;
  readonly reparentsLruChargesOnOffline = true;

  selectInstance(_kmem: SlabSystem, cache: KmemCache, memcg: Cgroup): Selection {
    if (memcg.isRoot || !cache.accounted) return this.pick(cache.base);
    const inst = cache.children.get(memcg.id);
    return this.pick(inst !== undefined && inst.state === "active" ? inst : cache.base);
  }

  /** The counter slab pages charge: `kmem` with independent kmem accounting, else `memory`. */
  private counterAt(): number {
    return this.sim.config.kmemIndependentAccounting ? ROW_KMEM : ROW_MEMORY;
  }

  protected chargePages(memcg: Cgroup, pages: number, ctx: ChargeCtx): boolean {
    let retries = this.sim.config.maxReclaimRetries;
    for (;;) {
      const at = tryChargeAt(memcg, this.counterAt(), pages);
      if (at === null) return true;
      ctx.out.failedAt = at;
      if (!this.sim.config.reclaimOnKmemFailure || retries-- <= 0) return false;
      tryToFreeMemcgPages(this.sim, at, pages, ctx.out);
    }
  }

  protected unchargePages(memcg: Cgroup, pages: number): void {
    unchargeAt(memcg, this.counterAt(), pages);
  }

  private dup(kmem: SlabSystem, cache: KmemCache, cg: Cgroup): void {
    if (cache.children.has(cg.id)) return;
    kmem.newCopy(cache, cg, `${cache.name}-${cg.memcgIndex}`, "active");
    this.sim.events.emit(this.sim.clockMs, "cache_created", {
      cache: cache.name,
      cgroup: cg.path,
      displayName: `${cache.name}-${cg.memcgIndex}`,
    });
  }

  onCgroupCreated(kmem: SlabSystem, cg: Cgroup): void {
    if (cg.isRoot) return;
    for (const cache of kmem.caches.values()) if (cache.accounted) this.dup(kmem, cache, cg);
  }

  onCgroupCreatedWithCache(kmem: SlabSystem, cache: KmemCache, cg: Cgroup): void {
    if (!cg.isRoot && cache.accounted) this.dup(kmem, cache, cg);
  }

  /**
   * Registering a cache makes no copies: the seed's `register_memcg_cache` only fills
   * `kmem_avail_caches[cache->index]`, and the copies are made by `memcg_create_kmem_caches`,
   * called from `mem_cgroup_create` alone ("[PATCH 3/7] per-cgroup slab caches", Feb 2012;
   * KAMEZAWA: "memcg should know _all_ kmem_caches when it's created", Glauber Costa: "Which
   * maybe is not a bad thing"). Cgroups that exist already keep allocating from the base cache,
   * unaccounted; cgroups created afterwards get a copy.
   */
  onCacheAccounted(): void {}

  onCgroupOffline(kmem: SlabSystem, cg: Cgroup): void {
    for (const cache of kmem.caches.values()) {
      const inst = cache.children.get(cg.id);
      if (inst === undefined) continue;
      inst.state = "dying";
      if (inst.activeObjects === 0) kmem.destroyCopy(inst);
    }
  }

  afterDyingFree(kmem: SlabSystem, inst: CacheCopy): void {
    if (inst.activeObjects === 0) kmem.destroyCopy(inst);
  }
}

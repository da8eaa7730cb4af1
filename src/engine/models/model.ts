import type { ChargeCtx, SlabHeader as SlabSystem } from "../kernel.js";
import type { Cgroup } from "../cgroup.js";
import type { CacheCopy, KmemCache } from "../slab/cache.js";

/** Which cache copy serves an allocation, and (model C) which objcg its bytes are charged to (0 = none). */
export interface Selection {
  inst: CacheCopy;
  objcg: number;
  /**
   * The same selection holds for every further allocation of this command with the same cache,
   * cgroup and gfp (nothing it depends on can change before the command ends): the allocator may
   * then skip asking again for the objects that need no charge event (SlabSystem.allocObjects).
   */
  stable: boolean;
}

/**
 * One kernel-memory accounting design (docs/DOMAIN.md §11). The engine asks the model every question
 * whose answer differs between eras; nothing else branches on the model's name
 * (docs/ARCHITECTURE.md §1).
 */
export interface AccountingModel {
  readonly name: string;
  /** 4.5+ charge path (docs/DOMAIN.md §4.1) rather than 3.x (§4.3). */
  readonly modern: boolean;
  /** Per-object byte charging through the obj stock (C) instead of per slab page. */
  readonly objectCharging: boolean;
  /** Memcg-aware shrinkers exist in this era (B: global shrinkers only). */
  readonly memcgAwareShrinking: boolean;
  /** Memcg reclaim counts slab pages freed by shrinkers as reclaimed (reclaim_state); 6.x: global only. */
  readonly creditsSlabPagesInMemcgReclaim: boolean;
  /** Charges on a cgroup's LRU move to the parent at rmdir (3.x v1 `mem_cgroup_reparent_charges`). */
  readonly reparentsLruChargesOnOffline: boolean;

  selectInstance(kmem: SlabSystem, cache: KmemCache, memcg: Cgroup, gfp: number): Selection;
  /** Charges a new slab's pages to its copy's cgroup (A/B/B′); false fails the allocation. */
  chargeSlab(kmem: SlabSystem, inst: CacheCopy, pages: number, ctx: ChargeCtx): boolean;
  unchargeSlab(kmem: SlabSystem, inst: CacheCopy, pages: number): void;
  /** Model C: charge / uncharge `bytes` to an objcg through the per-CPU obj stock. */
  chargeObject(kmem: SlabSystem, objcg: number, bytes: number, ctx: ChargeCtx): boolean;
  unchargeObject(kmem: SlabSystem, objcg: number, bytes: number, cpu: number): void;
  /** Model C: `n` frees of `bytes` each, exactly as `n` calls of `unchargeObject` (page uncharges summed). */
  unchargeObjects(kmem: SlabSystem, objcg: number, bytes: number, n: number, cpu: number): void;
  /**
   * Whole kernel pages (kernel-pages.ts: stacks, large kmalloc, `__GFP_ACCOUNT` pages) charged to
   * `memcg` as the era charges a page — the same counters as its slab pages, and the `kernel`
   * statistic; false fails them (a `charge_failed` event, as for slab).
   */
  chargeKernelPages(memcg: Cgroup, nrPages: number, ctx: ChargeCtx): boolean;
  /** Their uncharge on `cpu` (model C: `obj_cgroup_uncharge_pages`, which refills the page stock where the era does). */
  unchargeKernelPages(memcg: Cgroup, nrPages: number, cpu: number): void;
  /** Model C: how many charges of `bytes` to `objcg` the CPU's obj stock would serve as they are (0 otherwise). */
  stockedObjects(objcg: number, bytes: number, cpu: number): number;
  /** Model C: takes `bytes` from the CPU's stock, which `stockedObjects` said covers them. */
  consumeStock(objcg: number, bytes: number, cpu: number): void;
  /** Model C: slab_* statistics move by the object's charged bytes. */
  objectStat(kmem: SlabSystem, cache: KmemCache, cg: Cgroup, deltaBytes: number): void;

  onCgroupCreated(kmem: SlabSystem, cg: Cgroup): void;
  /**
   * What creating `cg` gives it of the accounted `cache`, as `onCgroupCreated` does for every
   * accounted cache (rfc-2012: its copy, from `mem_cgroup_create` → `memcg_create_kmem_caches`;
   * the later eras make copies on first use, so nothing). registerCacheAtBoot calls it for one
   * cache and each cgroup that exists.
   */
  onCgroupCreatedWithCache(kmem: SlabSystem, cache: KmemCache, cg: Cgroup): void;
  onCacheAccounted(kmem: SlabSystem, cache: KmemCache): void;
  /** rmdir: what happens to the cgroup's caches, lists and objcgs (docs/DOMAIN.md §6.4, §7.4, §10). */
  onCgroupOffline(kmem: SlabSystem, cg: Cgroup): void;
  /** A free landed in a dying copy: destroy it once the era says it is done. */
  afterDyingFree(kmem: SlabSystem, inst: CacheCopy): void;
  /** Simulated time moved: finish async cache creations that are due (B/B′). */
  onClock(kmem: SlabSystem): void;
}

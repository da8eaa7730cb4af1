import type { Cgroup } from "../cgroup.js";
import type { ChargeCtx, ReclaimStats } from "../kernel.js";
import type { Prng } from "../prng.js";
import { allocObjects, reserveForObjects } from "./alloc.js";
import { SlabArena } from "./arena.js";
import type { CacheCopy, KmemCache } from "./cache.js";
import { endFreeRun, freeInRun, shrinkInstance } from "./free.js";
import { cgroupReleased, spliceLists } from "./list-lru.js";
import { moveObjcgs, newObjcg, taskExited } from "./objctx.js";
import { completeRcuFrees } from "./rcu.js";
import { type DeferredPick, listsOfTask, ownedCount, selectSlots, selectSlotsOfTask } from "./select.js";
import { shrinkSlab } from "./shrinker.js";
import { createCache, destroyCopy, newCopy, removeCache } from "./slab-common.js";

export { SLOT_SPAN } from "./arena.js";
export { GLOBAL_LRU } from "./list-lru.js";
export { RCU_GRACE_PERIOD_MS } from "./rcu.js";

/**
 * The slab allocator of one simulation (docs/DOMAIN.md §5, §9.1): all slabs and objects in typed arrays
 * (`SlabArena`, arena.ts) and SLUB's paths as functions over them, one file per kernel seam:
 *
 * | file | what | kernel |
 * |---|---|---|
 * | arena.ts | typed arrays, slot/slab ids, one grow helper | — |
 * | objctx.ts | allocation contexts (objcg, pid) per object, objcgs | mm/memcontrol.c (obj_cgroup) |
 * | alloc.ts | allocation path | mm/slub.c slab_alloc_node, ___slab_alloc |
 * | pages.ts | a slab's pages to/from the page allocator | mm/slub.c allocate_slab, __free_slab |
 * | free.ts | free path, shrink | mm/slub.c __slab_free, __kmem_cache_shrink |
 * | node-partial.ts | node partial list, discard | mm/slub.c add_partial, remove_partial, discard_slab |
 * | cpu-partial.ts | per-CPU partial lists | mm/slub.c put_cpu_partial, unfreeze_partials, get_partial_node |
 * | rcu.ts | SLAB_TYPESAFE_BY_RCU slab frees | mm/slub.c free_slab → call_rcu, rcu_barrier |
 * | slab-common.ts | cache create/copy/destroy | mm/slab_common.c |
 * | list-lru.ts | list_lru and owner lists, reparenting | mm/list_lru.c |
 * | shrinker.ts | shrink_slab, do_shrink_slab | mm/shrinker.c |
 * | select.ts | free-by-selection (docs/API.md §5) | — (the callers' choice) |
 *
 * This class is their façade: the surface the rest of the engine uses, each method one call.
 * Which copy serves an allocation and what is charged is asked of the simulation's accounting
 * model; nothing here branches on the model's name.
 */
export class SlabSystem extends SlabArena {
  // ===== caches (slab-common.ts) ================================================================

  createCache(
    name: string,
    objectSizeBytes: number,
    geometry: KmemCache["geometry"],
    flags: KmemCache["flags"],
    shrinker: KmemCache["shrinker"],
  ): KmemCache {
    return createCache(this, name, objectSizeBytes, geometry, flags, shrinker);
  }

  newCopy(cache: KmemCache, memcg: Cgroup | null, displayName: string, state: CacheCopy["state"]): CacheCopy {
    return newCopy(this, cache, memcg, displayName, state);
  }

  /** Destroys a per-cgroup copy (it must be empty): its cgroup loses one pin. */
  destroyCopy(inst: CacheCopy): void {
    destroyCopy(this, inst);
  }

  /** `kmem_cache_destroy` of a root cache with no live objects. */
  removeCache(cache: KmemCache): void {
    removeCache(this, cache);
  }

  /** `kmem_cache_shrink` of one instance: frees every empty slab; returns how many. */
  shrinkInstance(inst: CacheCopy): number {
    return shrinkInstance(this, inst);
  }

  // ===== objcgs and allocation contexts (objctx.ts) =============================================

  newObjcg(memcg: Cgroup): number {
    return newObjcg(this, memcg);
  }

  /** Points the objcgs that charge `from` at `to` (reparenting, docs/DOMAIN.md §7.4). */
  moveObjcgs(from: Cgroup, to: Cgroup): void {
    moveObjcgs(this, from, to);
  }

  /** The task `pid` exited: its allocation contexts are recycled (now or with their last object). */
  taskExited(pid: number): void {
    taskExited(this, pid);
  }

  // ===== allocation and free (alloc.ts, free.ts, rcu.ts) ========================================

  /** Allocates up to `count` objects; returns how many (alloc.ts). */
  allocObjects(
    cache: KmemCache,
    memcg: Cgroup,
    pid: number,
    reclaimable: boolean,
    ctx: ChargeCtx,
    count: number,
    ids: number[] | null,
  ): number {
    return allocObjects(this, cache, memcg, pid, reclaimable, ctx, count, ids);
  }

  /** Room for `count` more objects of `cache` (capacity only; alloc.ts). */
  reserveForObjects(cache: KmemCache, count: number): void {
    reserveForObjects(this, cache, count);
  }

  /** Frees `slot` within a run of frees; call `endFreeRun` after the last. Returns slabs freed (0 or 1). */
  freeInRun(slot: number, cpu: number): number {
    return freeInRun(this, slot, cpu);
  }

  /** Applies the pending uncharges of the current run of frees. */
  endFreeRun(): void {
    endFreeRun(this);
  }

  /** RCU callbacks whose grace period ended by `nowMs`. */
  completeRcuFrees(nowMs: number): void {
    completeRcuFrees(this, nowMs);
  }

  // ===== lists, shrinkers (list-lru.ts, shrinker.ts) ============================================

  /** Moves a dying cgroup's lists of every cache to its parent. */
  spliceLists(child: Cgroup, parent: Cgroup, owner: boolean, lru: boolean): void {
    spliceLists(this, child, parent, owner, lru);
  }

  /** A removed cgroup was released: its objcgs and emptied lists go. */
  cgroupReleased(cg: Cgroup): void {
    cgroupReleased(this, cg);
  }

  /** `shrink_slab(memcg, priority)`; returns slab pages freed (reclaim.ts calls shrinker.ts directly). */
  shrinkSlab(memcg: Cgroup, priority: number, global: boolean, stats: ReclaimStats): number {
    return shrinkSlab(this, memcg, priority, global, stats);
  }

  // ===== free-by-selection (select.ts) ==========================================================

  ownedCount(cache: KmemCache, cg: Cgroup): number {
    return ownedCount(this, cache, cg);
  }

  selectSlotsOfTask(
    cache: KmemCache,
    pid: number,
    count: number,
    order: string,
    prng: Prng | null,
    defer?: { pick: DeferredPick | null },
  ): Int32Array {
    return selectSlotsOfTask(this, cache, pid, count, order, prng, defer);
  }

  listsOfTask(cache: KmemCache, pid: number): number[] {
    return listsOfTask(this, cache, pid);
  }

  selectSlots(
    lists: number[],
    pid: number,
    count: number,
    order: string,
    prng: Prng | null,
    scratch = false,
    defer?: { pick: DeferredPick | null },
  ): Int32Array {
    return selectSlots(this, lists, pid, count, order, prng, scratch, defer);
  }
}

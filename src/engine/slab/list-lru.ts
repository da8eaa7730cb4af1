import type { Cgroup } from "../cgroup.js";
import type { SlabArena } from "./arena.js";
import type { KmemCache } from "./cache.js";
import { moveObjcgs } from "./objctx.js";

// list_lru (mm/list_lru.c, docs/DOMAIN.md §9.1) and the owner lists beside it. A reclaimable object of a
// cache with a shrinker sits on one list_lru: per cgroup when the era and the shrinker are
// memcg-aware (`list_lru_memcg_aware`, `list_lru_from_memcg_idx`), else on the cache's global
// list. Every live object also sits on its owner list, per (cache, charged cgroup), in allocation
// order: the pool of free-by-selection (select.ts). Both are IntrusiveLists over the arena's slots.

/** List key of the global (not memcg-aware) list_lru of a cache. */
export const GLOBAL_LRU = 0;

/** The owner list of (cache, cg), made on first use. */
export function ownerList(k: SlabArena, cache: KmemCache, cg: Cgroup): number {
  let s = cache.ownerLists.get(cg.id);
  if (s === undefined) {
    s = k.newList(k.owned);
    cache.ownerLists.set(cg.id, s);
  }
  return s;
}

/** The list_lru an object charged to `cg` goes on: per cgroup when the era and the shrinker are memcg-aware. */
export function lruKey(k: SlabArena, cache: KmemCache, cg: Cgroup): number {
  return k.sim.model.memcgAwareShrinking && cache.shrinker!.memcgAware ? cg.id : GLOBAL_LRU;
}

/** The list_lru of (cache, cg), made on first use (`memcg_list_lru_alloc`). */
export function lruList(k: SlabArena, cache: KmemCache, cg: Cgroup): number {
  const key = lruKey(k, cache, cg);
  let s = cache.lruLists.get(key);
  if (s === undefined) {
    s = k.newList(k.lru);
    cache.lruLists.set(key, s);
  }
  return s;
}

/** The owner list a live slot is on: its objcg's cgroup now (model C reparenting splices the lists along). */
export function ownedListOf(k: SlabArena, cache: KmemCache, slot: number): number {
  const cg = k.objcgMemcg[k.ctxObjcg[k.objCtx[slot]]];
  // the cgroup's memo of its lists (valid while it is online) saves the Map lookup
  if (cg.listMemoCache === cache && cg.state === "online") return cg.listMemoOwned;
  return cache.ownerLists.get(cg.id)!;
}

/** The list_lru a live slot is on: its owner's key, followed through the splices of removed cgroups. */
export function lruListOf(k: SlabArena, cache: KmemCache, slot: number): number {
  const cg = k.objcgMemcg[k.ctxObjcg[k.objCtx[slot]]];
  if (cg.listMemoCache === cache && cg.listMemoLru >= 0 && cg.state === "online") return cg.listMemoLru;
  let key = lruKey(k, cache, cg);
  let s = cache.lruLists.get(key);
  while (s === undefined) {
    key = cache.lruFwd.get(key)!;
    s = cache.lruLists.get(key);
  }
  return s;
}

/**
 * Moves a dying cgroup's lists of every cache to its parent: the list_lru as
 * mm/list_lru.c:memcg_reparent_list_lrus does (with the shrinker's deferred count,
 * mm/shrinker.c:reparent_shrinker_deferred), the owner lists as objcg reparenting moves the
 * objects' charge (mm/memcontrol.c:memcg_reparent_objcgs).
 */
export function spliceLists(k: SlabArena, child: Cgroup, parent: Cgroup, owner: boolean, lru: boolean): void {
  for (const cache of k.caches.values()) {
    if (owner) {
      const src = cache.ownerLists.get(child.id);
      if (src !== undefined) {
        k.owned.splice(ownerList(k, cache, parent), src);
        cache.ownerLists.delete(child.id);
        k.releaseSlots(src, 1);
      }
    }
    if (lru && cache.shrinker !== null && lruKey(k, cache, child) !== GLOBAL_LRU) {
      const src = cache.lruLists.get(child.id);
      if (src !== undefined) {
        k.lru.splice(lruList(k, cache, parent), src);
        cache.lruLists.delete(child.id);
        k.releaseSlots(src, 1);
        cache.lruFwd.set(child.id, parent.id);
        const d = cache.nrDeferred.get(child.id) ?? 0;
        cache.nrDeferred.delete(child.id);
        if (d > 0) cache.nrDeferred.set(parent.id, (cache.nrDeferred.get(parent.id) ?? 0) + d);
      }
    }
  }
}

/**
 * A removed cgroup was released: nothing charges it any more (no live object, no copy). Its
 * objcgs (models A/B/B′ keep a cgroup's own objcg on it until now) point at the root, and its
 * emptied lists, list sentinels and per-cache entries go, so that a long churn of containers
 * keeps no memory per cgroup it ever created beyond two array entries of its objcg id.
 */
export function cgroupReleased(k: SlabArena, cg: Cgroup): void {
  moveObjcgs(k, cg, k.sim.root);
  for (const cache of k.caches.values()) {
    const o = cache.ownerLists.get(cg.id);
    if (o !== undefined && k.owned.length(o) === 0) {
      cache.ownerLists.delete(cg.id);
      k.releaseSlots(o, 1);
    }
    const l = cache.lruLists.get(cg.id);
    if (l !== undefined && k.lru.length(l) === 0) {
      cache.lruLists.delete(cg.id);
      k.releaseSlots(l, 1);
    }
    cache.lruFwd.delete(cg.id);
    cache.nrDeferred.delete(cg.id);
  }
}

import type { Cgroup } from "../cgroup.js";
import type { ReclaimStats } from "../kernel.js";
import type { SlabArena } from "./arena.js";
import type { KmemCache } from "./cache.js";
import { freeSlot } from "./free.js";
import { GLOBAL_LRU } from "./list-lru.js";

// Shrinkers (mm/shrinker.c, docs/DOMAIN.md §9.1): reclaim (reclaim.ts) calls `shrinkSlab` for each cgroup
// it scans; each cache with a shrinker frees objects from the list_lru of that cgroup (memcg-aware
// shrinkers) or from its global list (at the root), in the `do_shrink_slab` arithmetic.

/** `SHRINK_BATCH` (include/linux/shrinker.h): objects per `scan_objects` call. */
const SHRINK_BATCH = 128;

/**
 * `shrink_slab(memcg, priority)` (mm/shrinker.c): for a non-root cgroup only memcg-aware shrinkers
 * with objects on that cgroup's list_lru run (`shrink_slab_memcg`); at the root (global reclaim)
 * every shrinker runs, memcg-aware ones on the root's own list and the others on their global
 * list. Returns slab pages freed.
 */
export function shrinkSlab(
  k: SlabArena,
  memcg: Cgroup,
  priority: number,
  _global: boolean,
  stats: ReclaimStats,
): number {
  let freedPages = 0;
  for (const cache of k.caches.values()) {
    if (cache.shrinker === null) continue;
    const aware = k.sim.model.memcgAwareShrinking && cache.shrinker.memcgAware;
    if (!memcg.isRoot && !aware) continue;
    const key = aware ? memcg.id : GLOBAL_LRU;
    const list = cache.lruLists.get(key);
    if (list === undefined) continue;
    const freed = doShrinkSlab(k, cache, key, list, priority, stats);
    // a global list's pages count at the root (memcg is the root whenever a global list runs)
    for (let c: Cgroup | null = memcg; c !== null && freed > 0; c = c.parent)
      c.reclaimedSlabPagesTotal += freed;
    freedPages += freed;
  }
  return freedPages;
}

/** `do_shrink_slab` arithmetic (mm/shrinker.c), exactly as docs/DOMAIN.md §9.1 gives it (6.x form). */
function doShrinkSlab(
  k: SlabArena,
  cache: KmemCache,
  key: number,
  list: number,
  priority: number,
  stats: ReclaimStats,
): number {
  const freeable = k.lru.length(list);
  if (freeable === 0) return 0;
  const seeks = cache.shrinker!.seeks;
  const nr = cache.nrDeferred.get(key) ?? 0;
  cache.nrDeferred.set(key, 0);
  const delta =
    seeks > 0 ? Math.floor((Math.floor(freeable / 2 ** priority) * 4) / seeks) : Math.floor(freeable / 2);
  let total = Math.min(Math.floor(nr / 2 ** priority) + delta, 2 * freeable);
  let scanned = 0;
  let freedPages = 0;
  while (total >= SHRINK_BATCH || total >= freeable) {
    const n = Math.min(SHRINK_BATCH, total);
    freedPages += scanObjects(k, list, n, stats);
    total -= n;
    scanned += n;
    if (n === 0) break;
  }
  stats.scannedObjects += scanned;
  const next = Math.min(Math.max(nr + delta - scanned, 0), 2 * freeable);
  cache.nrDeferred.set(key, (cache.nrDeferred.get(key) ?? 0) + next);
  return freedPages;
}

/** `list_lru_walk` + free (a cache's `scan_objects`): the `n` oldest objects of the list are freed (they are gone for good). */
function scanObjects(k: SlabArena, list: number, n: number, stats: ReclaimStats): number {
  let freedPages = 0;
  for (let i = 0; i < n; i++) {
    const slot = k.lru.first(list);
    if (slot < 0) break;
    const pages = k.instances[k.slabInst[k.objNext[slot]]]!.root.geometry.pagesPerSlab;
    const freedSlabs = freeSlot(k, slot, 0);
    stats.freedObjects++;
    stats.freedSlabs += freedSlabs;
    freedPages += freedSlabs * pages;
  }
  stats.slabPages += freedPages;
  k.sim.reclaimedBytesTotal.slab += freedPages * 4096;
  return freedPages;
}

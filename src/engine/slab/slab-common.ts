import type { Cgroup } from "../cgroup.js";
import { assert } from "../errors.js";
import type { SlabArena } from "./arena.js";
import { CacheCopy, KmemCache } from "./cache.js";
import { shrinkInstance } from "./free.js";
import { cpuPartialLimit } from "./geometry.js";
import { rcuBarrier } from "./rcu.js";

// A cache's life (mm/slab_common.c): `kmem_cache_create`, the per-cgroup copies of the eras that
// have them (`memcg_create_kmem_cache` / the seed's `kmem_cache_dup`), and `kmem_cache_destroy`.

/** `kmem_cache_create`: a root cache and its base (root) instance. */
export function createCache(
  k: SlabArena,
  name: string,
  objectSizeBytes: number,
  geometry: KmemCache["geometry"],
  flags: KmemCache["flags"],
  shrinker: KmemCache["shrinker"],
): KmemCache {
  const cache = new KmemCache(k.nextCacheId++, name, objectSizeBytes, geometry, flags, shrinker);
  cache.base = newCopy(k, cache, null, name, "active");
  k.caches.set(name, cache);
  return cache;
}

/** A new instance of `cache`: its base (`memcg` null) or a copy for `memcg`, which it pins. */
export function newCopy(
  k: SlabArena,
  cache: KmemCache,
  memcg: Cgroup | null,
  displayName: string,
  state: CacheCopy["state"],
): CacheCopy {
  const inst = new CacheCopy(k.instances.length, cache, memcg, displayName, k.sim.config.cpuCount, state);
  const g = cache.geometry;
  inst.cpuPartialLimit = cpuPartialLimit(g.sizeBytes, g.objectsPerSlab, k.sim.era.cpuPartial);
  k.instances.push(inst);
  if (memcg !== null) {
    cache.children.set(memcg.id, inst);
    memcg.liveCacheCount++;
  }
  return inst;
}

/** Destroys a per-cgroup copy (it must be empty): its cgroup loses one pin. */
export function destroyCopy(k: SlabArena, inst: CacheCopy): void {
  assert(inst.activeObjects === 0, "destroying a cache copy with live objects");
  shrinkInstance(k, inst);
  rcuBarrier(k, inst);
  assert(inst.slabCount === 0, "destroyed copy still holds slabs");
  inst.state = "destroyed";
  k.instances[inst.id] = null;
  if (inst.memcg !== null) {
    inst.root.children.delete(inst.memcg.id);
    inst.memcg.liveCacheCount--;
    const sim = k.sim;
    sim.events.emit(sim.clockMs, "cache_destroyed", {
      cache: inst.root.name,
      cgroup: inst.memcg.path,
      displayName: inst.displayName,
    });
    sim.maybeRelease(inst.memcg);
  }
}

/** `kmem_cache_destroy` of a root cache with no live objects: its copies and empty slabs go (after `rcu_barrier`). */
export function removeCache(k: SlabArena, cache: KmemCache): void {
  for (const inst of [...cache.children.values()]) destroyCopy(k, inst);
  shrinkInstance(k, cache.base);
  rcuBarrier(k, cache.base);
  cache.state = "destroyed";
  k.instances[cache.base.id] = null;
  k.caches.delete(cache.name);
}

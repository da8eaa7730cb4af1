import type { SlabArena } from "./arena.js";
import { SLAB_PARTIAL } from "./arena.js";
import type { CacheCopy } from "./cache.js";
import { freeSlabPages } from "./pages.js";
import { callRcuFreeSlab } from "./rcu.js";

// The node partial list (`kmem_cache_node.partial`: add_partial, remove_partial) and
// `discard_slab` (mm/slub.c), shared by the free path (free.ts), the per-CPU partial lists
// (cpu-partial.ts) and the allocation path (alloc.ts).

/**
 * Whether the node holds enough partial slabs for an emptied one to be discarded rather than kept
 * (`__slab_free`, `unfreeze_partials`): `n->nr_partial > s->min_partial` before 3.17,
 * `>= s->min_partial` from it (Era.emptySlabDiscard).
 */
export function nodeHasEnoughPartials(k: SlabArena, inst: CacheCopy): boolean {
  return k.sim.era.emptySlabDiscard === "above"
    ? inst.nrPartial > inst.minPartial
    : inst.nrPartial >= inst.minPartial;
}

/** `add_partial` (at the tail). */
export function addPartial(k: SlabArena, inst: CacheCopy, s: number): void {
  k.slabState[s] = SLAB_PARTIAL;
  k.slabPrev[s] = inst.partialTail;
  k.slabNext[s] = -1;
  if (inst.partialTail >= 0) k.slabNext[inst.partialTail] = s;
  else inst.partialHead = s;
  inst.partialTail = s;
  inst.nrPartial++;
  inst.partialFreeObjects += inst.root.geometry.objectsPerSlab - k.slabInuse[s];
}

/** `remove_partial`. */
export function removePartial(k: SlabArena, inst: CacheCopy, s: number): void {
  const p = k.slabPrev[s];
  const n = k.slabNext[s];
  if (p >= 0) k.slabNext[p] = n;
  else inst.partialHead = n;
  if (n >= 0) k.slabPrev[n] = p;
  else inst.partialTail = p;
  k.slabPrev[s] = -1;
  k.slabNext[s] = -1;
  k.slabState[s] = 0;
  inst.nrPartial--;
  inst.partialFreeObjects -= inst.root.geometry.objectsPerSlab - k.slabInuse[s];
}

/** `discard_slab`: the slab leaves its cache; its pages go back (`free_slab`: after a grace period for SLAB_TYPESAFE_BY_RCU). */
export function discardSlab(k: SlabArena, inst: CacheCopy, s: number): void {
  const g = inst.root.geometry;
  k.slabState[s] = 0;
  k.releaseSlots(k.slabBase[s], g.objectsPerSlab);
  k.freeSlabIds.push(s);
  inst.slabCount--;
  if (inst.root.flags.typesafeByRcu) {
    // `free_slab` → `call_rcu(rcu_free_slab)`: the slab has left the cache (slabinfo counts it no
    // more), its pages, slab statistics and (A/B/B′) charge go after the grace period
    callRcuFreeSlab(k, inst, g.pagesPerSlab);
    return;
  }
  freeSlabPages(k, inst, g.pagesPerSlab);
}

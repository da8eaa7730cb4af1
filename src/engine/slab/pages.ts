import type { ChargeCtx } from "../kernel.js";
import type { SlabArena } from "./arena.js";
import type { CacheCopy } from "./cache.js";

// A slab's pages, to and from the page allocator (mm/slub.c: allocate_slab, __free_slab), with
// the slab statistics (NR_SLAB_RECLAIMABLE_B / NR_SLAB_UNRECLAIMABLE_B, meminfo SReclaimable /
// SUnreclaim) and, in models A/B/B′, the slab page charge asked of the accounting model.

/**
 * `allocate_slab`: pages from the page allocator, then (models A/B/B′) the page charge; a new
 * slab of `inst` with every slot on its freelist. Returns the slab id, or -1 on a failure.
 */
export function allocateSlab(k: SlabArena, inst: CacheCopy, ctx: ChargeCtx): number {
  const g = inst.root.geometry;
  const sim = k.sim;
  if (!sim.allocPhysPages(g.pagesPerSlab, ctx)) return -1;
  if (!sim.model.chargeSlab(sim.slab, inst, g.pagesPerSlab, ctx)) {
    // the seed: "a charge failure frees the fresh slab page and fails the allocation"
    sim.usedPages -= g.pagesPerSlab;
    return -1;
  }
  const id = k.takeSlabId();
  const n = g.objectsPerSlab;
  const base = k.takeSlots(n);
  // a free slot needs its freelist link and "not live"; the list links are written at allocation
  const next = k.objNext;
  const octx = k.objCtx;
  for (let i = 0; i < n; i++) {
    next[base + i] = base + i + 1;
    octx[base + i] = -1;
  }
  next[base + n - 1] = -1;
  k.slabInst[id] = inst.id;
  k.slabBase[id] = base;
  k.slabInuse[id] = 0;
  k.slabFree[id] = base;
  k.slabPrev[id] = -1;
  k.slabNext[id] = -1;
  inst.slabCount++;
  if (inst.root.flags.reclaimAccount) k.reclaimablePages += g.pagesPerSlab;
  else k.unreclaimablePages += g.pagesPerSlab;
  return id;
}

/** `__free_slab`: the pages go back to the page allocator, the slab statistics and (A/B/B′) charges with them. */
export function freeSlabPages(k: SlabArena, inst: CacheCopy, pages: number): void {
  if (inst.root.flags.reclaimAccount) k.reclaimablePages -= pages;
  else k.unreclaimablePages -= pages;
  const sim = k.sim;
  sim.usedPages -= pages;
  sim.model.unchargeSlab(sim.slab, inst, pages);
}

import type { SlabArena } from "./arena.js";
import { GEN_MASK, SLAB_CPU, SLAB_CPU_PARTIAL, SLAB_FULL, SLAB_PARTIAL } from "./arena.js";
import { type CacheCopy, CTX_COUNT, CTX_NEWEST, CTX_OLDEST, CTX_STRIDE } from "./cache.js";
import { putCpuPartial, unfreezePartials } from "./cpu-partial.js";
import { lruListOf, ownedListOf } from "./list-lru.js";
import { addPartial, discardSlab, nodeHasEnoughPartials, removePartial } from "./node-partial.js";
import { moveCtxEnds, recycleCtx } from "./objctx.js";

// SLUB's free path (mm/slub.c, docs/DOMAIN.md §5.3): `kmem_cache_free` → `__slab_free` (a full slab goes
// to the freeing CPU's per-CPU partial list, cpu-partial.ts; an emptied slab of the node partial
// list is discarded once the node keeps `min_partial` partial slabs), the node partial list,
// `discard_slab`, and `__kmem_cache_shrink`.

/**
 * `kmem_cache_free` of a live slot: uncharges per the model, returns the slot to its slab, parks a
 * slab that was full on the CPU's partial list (unfreezing a full list to the node) and frees a
 * node partial slab that empties when the node already keeps `min_partial` partial slabs.
 * Returns the number of slabs freed.
 */
export function freeSlot(k: SlabArena, slot: number, cpu: number): number {
  const freed = freeInRun(k, slot, cpu);
  endFreeRun(k);
  return freed;
}

/** Frees `slot` within a run of frees; call `endFreeRun` after the last. Returns slabs freed. */
export function freeInRun(k: SlabArena, slot: number, cpu: number): number {
  const s = k.objNext[slot];
  const inst = k.instances[k.slabInst[s]]!;
  const cache = inst.root;
  const ctxId = k.objCtx[slot];
  const objcg = k.ctxObjcg[ctxId];
  if (objcg > 0 && k.sim.model.objectCharging) {
    if (objcg !== k.runObjcg || cpu !== k.runCpu || cache !== k.runCache) {
      endFreeRun(k);
      k.runObjcg = objcg;
      k.runCpu = cpu;
      k.runCache = cache;
    }
    k.runCount++;
  }
  if (cache !== k.memoCache || ctxId !== k.memoCtx) {
    k.memoCache = cache;
    k.memoCtx = ctxId;
    k.memoOwned = ownedListOf(k, cache, slot);
    k.memoLru = -2;
  }
  // the per-context index (KmemCache.ctxIndex) as the slot leaves, before it is unlinked
  const ci = cache.ctxIndex;
  const cx = CTX_STRIDE * ctxId;
  if (--ci[cx + CTX_COUNT] === 0) {
    ci[cx + CTX_OLDEST] = -1;
    ci[cx + CTX_NEWEST] = -1;
  } else if (ci[cx + CTX_OLDEST] === slot || ci[cx + CTX_NEWEST] === slot)
    moveCtxEnds(k, ci, cx, ctxId, slot);
  k.owned.remove(slot, k.memoOwned);
  if (k.lru.next[slot] !== -1) {
    // every object of one (cache, context) is on the same list_lru (lists move only at offline)
    if (k.memoLru === -2) k.memoLru = lruListOf(k, cache, slot);
    k.lru.remove(slot, k.memoLru);
  }
  k.objCtx[slot] = -1;
  if (--k.ctxLive[ctxId] === 0 && k.exitedCtxs.size > 0 && k.exitedCtxs.has(ctxId)) {
    recycleCtx(k, ctxId);
    k.memoCtx = -1;
  }
  k.objGen[slot] = (k.objGen[slot] + 1) & GEN_MASK;
  k.liveObjects--;
  k.liveObjectBytes -= cache.geometry.sizeBytes;
  const wasFull = k.slabFree[s] < 0;
  k.objNext[slot] = k.slabFree[s];
  k.slabFree[s] = slot;
  k.slabInuse[s]--;
  inst.activeObjects--;
  if (k.slabState[s] === SLAB_PARTIAL) inst.partialFreeObjects++;
  let freed = 0;
  const state = k.slabState[s];
  if (state === SLAB_CPU_PARTIAL) {
    // frozen on a per-CPU partial list: no list work, even when it empties (it stays parked
    // until unfrozen: cpu-partial.ts)
  } else if (state !== SLAB_CPU) {
    if (wasFull && inst.cpuPartialLimit > 0) {
      // `__slab_free`: a full slab (`!prior`), not frozen, goes to the freeing CPU's partial
      // list — `new.frozen = 1` then put_cpu_partial(s, slab, 1) (≤ 6.7; 6.8+ without freezing)
      freed = putCpuPartial(k, inst, s, cpu, true);
    } else if (k.slabInuse[s] === 0 && nodeHasEnoughPartials(k, inst)) {
      if (state === SLAB_PARTIAL) removePartial(k, inst, s);
      discardSlab(k, inst, s);
      freed = 1;
    } else if (wasFull) addPartial(k, inst, s); // a deactivated copy (cpu_partial 0): straight to the node
  } else if (inst.minPartial === 0 && k.slabInuse[s] === 0 && inst.state !== "active") {
    // a deactivated copy keeps no empty CPU slab either (cpu_partial = 0, flushed)
    for (let c = 0; c < inst.cpuSlab.length; c++) if (inst.cpuSlab[c] === s) inst.cpuSlab[c] = -1;
    discardSlab(k, inst, s);
    freed = 1;
  }
  if (inst.memcg !== null && inst.state === "dying") {
    endFreeRun(k);
    k.sim.model.afterDyingFree(k.sim.slab, inst);
  }
  return freed;
}

/** Applies the pending uncharges of the current run of frees (and forgets memoised lists). */
export function endFreeRun(k: SlabArena): void {
  k.memoCache = null;
  k.memoCtx = -1;
  const n = k.runCount;
  if (n === 0) return;
  const cache = k.runCache!;
  const objcg = k.runObjcg;
  k.runCount = 0;
  k.runObjcg = 0;
  k.runCache = null;
  const fullSize = cache.geometry.sizeBytes + 8;
  const sim = k.sim;
  sim.model.objectStat(sim.slab, cache, k.objcgMemcg[objcg], -fullSize * n);
  sim.model.unchargeObjects(sim.slab, objcg, fullSize, n, k.runCpu);
}

/**
 * Frees every empty slab of `inst`, CPU slabs and per-CPU partial lists included
 * (`kmem_cache_shrink` → `__kmem_cache_shrink`: `flush_all` — each CPU's slab deactivated, then
 * its per-CPU partial list unfrozen to the node, `__flush_cpu_slab` — then discard empty
 * partial slabs whatever `min_partial` says). Returns the slabs freed.
 */
export function shrinkInstance(k: SlabArena, inst: CacheCopy): number {
  let freed = 0;
  for (let cpu = 0; cpu < inst.cpuSlab.length; cpu++) {
    const s = inst.cpuSlab[cpu];
    if (s >= 0) {
      inst.cpuSlab[cpu] = -1;
      if (k.slabInuse[s] === 0) {
        discardSlab(k, inst, s);
        freed++;
      } else if (k.slabInuse[s] < inst.root.geometry.objectsPerSlab) addPartial(k, inst, s);
      else k.slabState[s] = SLAB_FULL;
    }
    if (inst.cpuPartialHead[cpu] >= 0) freed += unfreezePartials(k, inst, cpu);
  }
  for (let s = inst.partialHead; s >= 0; ) {
    const next = k.slabNext[s];
    if (k.slabInuse[s] === 0) {
      removePartial(k, inst, s);
      discardSlab(k, inst, s);
      freed++;
    }
    s = next;
  }
  return freed;
}

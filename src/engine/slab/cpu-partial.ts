import { SLAB_CPU_PARTIAL, type SlabArena } from "./arena.js";
import type { CacheCopy } from "./cache.js";
import { addPartial, discardSlab, nodeHasEnoughPartials, removePartial } from "./node-partial.js";

// SLUB's per-CPU partial lists (CONFIG_SLUB_CPU_PARTIAL, 3.2+ 49e2258586b4 "slub: per cpu cache
// for partial pages"; docs/DOMAIN.md §5.3). A slab that a free turns from full to partial is parked
// on the freeing CPU's list (`__slab_free` → `put_cpu_partial`), not on the node partial list;
// `___slab_alloc` takes the head of that list before it looks at the node; a parked slab is
// frozen — a free into it, even its last object, touches no list — until the list is unfrozen
// (`unfreeze_partials`, 5.16+ `__unfreeze_partials`, 6.8+ `__put_partials`), where an empty slab
// is discarded if the node already keeps `min_partial` partial slabs and every other one goes to
// the node partial list's tail. Which bound applies is the era's (`Era.cpuPartial`, geometry.ts
// cpuPartialLimit): free objects ≤ 5.15 (`page->pobjects` against `s->cpu_partial`), slabs from
// 5.16 (`slab->slabs` against `s->cpu_partial_slabs`, b47291ef02b0).

/**
 * `put_cpu_partial(s, slab, drain)` on `cpu`. With `drain` (a free, `__slab_free`) a list already at
 * its bound is unfrozen to the node first — ≤ 5.15 when the head's `pobjects > s->cpu_partial`,
 * 5.16+ when its `slabs >= s->cpu_partial_slabs` — and the slab starts a new list; without (the
 * refill of get_partial_node) the list just grows. Returns the slabs the unfreezing discarded.
 */
export function putCpuPartial(k: SlabArena, inst: CacheCopy, s: number, cpu: number, drain: boolean): number {
  const bySlabs = k.sim.era.cpuPartial === "slabs";
  const limit = inst.cpuPartialLimit;
  let old = inst.cpuPartialHead[cpu];
  let acc = 0;
  let freed = 0;
  if (old >= 0) {
    const oldAcc = k.slabCpuPartialAcc[old];
    if (drain && (bySlabs ? oldAcc >= limit : oldAcc > limit)) {
      freed = unfreezePartials(k, inst, cpu);
      old = -1;
    } else acc = oldAcc;
  }
  acc += bySlabs ? 1 : inst.root.geometry.objectsPerSlab - k.slabInuse[s];
  k.slabState[s] = SLAB_CPU_PARTIAL;
  k.slabPrev[s] = -1;
  k.slabNext[s] = old;
  k.slabCpuPartialAcc[s] = acc;
  inst.cpuPartialHead[cpu] = s;
  inst.nrCpuPartial++;
  return freed;
}

/** Takes the head of `cpu`'s per-CPU partial list (`___slab_alloc`: `slub_percpu_partial(c)`), or -1. */
export function popCpuPartial(k: SlabArena, inst: CacheCopy, cpu: number): number {
  const s = inst.cpuPartialHead[cpu];
  if (s < 0) return -1;
  inst.cpuPartialHead[cpu] = k.slabNext[s];
  inst.nrCpuPartial--;
  k.slabNext[s] = -1;
  k.slabState[s] = 0;
  return s;
}

/**
 * `unfreeze_partials` of `cpu` (also what `flush_all` does after the CPU slab): every slab of the
 * list, newest first, leaves it; an empty one is discarded when `n->nr_partial >= s->min_partial`,
 * any other goes to the node partial list's tail (`add_partial(n, slab, DEACTIVATE_TO_TAIL)`).
 * Returns the slabs discarded.
 */
export function unfreezePartials(k: SlabArena, inst: CacheCopy, cpu: number): number {
  let s = inst.cpuPartialHead[cpu];
  inst.cpuPartialHead[cpu] = -1;
  let freed = 0;
  while (s >= 0) {
    const next = k.slabNext[s];
    inst.nrCpuPartial--;
    k.slabNext[s] = -1;
    k.slabState[s] = 0;
    if (k.slabInuse[s] === 0 && nodeHasEnoughPartials(k, inst)) {
      discardSlab(k, inst, s);
      freed++;
    } else addPartial(k, inst, s);
    s = next;
  }
  return freed;
}

/**
 * The rest of `get_partial_node` once its first slab became the CPU slab (`firstFree` free
 * objects): more node partial slabs move to the CPU's list (put_cpu_partial without drain) —
 * ≤ 5.15 until the objects taken exceed `s->cpu_partial / 2` ("We only fetch 50% to keep some
 * capacity around for frees"), 6.8+ until more than `cpu_partial_slabs / 2` slabs were put
 * (nothing with a bound of 0). None while the bound is 0 (a deactivated copy).
 */
export function refillCpuPartial(k: SlabArena, inst: CacheCopy, cpu: number, firstFree: number): void {
  const limit = inst.cpuPartialLimit;
  if (limit === 0) return;
  const half = Math.floor(limit / 2);
  const perSlab = inst.root.geometry.objectsPerSlab;
  if (k.sim.era.cpuPartial === "slabs") {
    let n = 0;
    while (inst.partialHead >= 0) {
      const t = inst.partialHead;
      removePartial(k, inst, t);
      putCpuPartial(k, inst, t, cpu, false);
      if (++n > half) break;
    }
    return;
  }
  let available = firstFree;
  while (available <= half && inst.partialHead >= 0) {
    const t = inst.partialHead;
    removePartial(k, inst, t);
    available += perSlab - k.slabInuse[t];
    putCpuPartial(k, inst, t, cpu, false);
  }
}

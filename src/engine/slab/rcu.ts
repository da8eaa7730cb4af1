import type { SlabArena } from "./arena.js";
import type { CacheCopy } from "./cache.js";
import { freeSlabPages } from "./pages.js";

// SLAB_TYPESAFE_BY_RCU slab frees (docs/DOMAIN.md §5.3): mm/slub.c:free_slab hands such a slab to
// `call_rcu(&slab->rcu_head, rcu_free_slab)`; its pages go back (`__free_slab`) after a grace
// period. The slab has left its cache at once (slabinfo no longer counts it); its pages, slab
// statistics and (A/B/B′) page charge wait here, in `SlabArena.rcuPending`.

/**
 * The RCU grace period after which a SLAB_TYPESAFE_BY_RCU slab's pages are freed (docs/DOMAIN.md §5.3).
 * A decision: grace periods take a few ms to tens of ms on real systems (HZ = 1000); 10 ms of
 * simulated time, which moves only with `advanceClock`.
 */
export const RCU_GRACE_PERIOD_MS = 10;

/** `call_rcu(rcu_free_slab)` for a discarded slab of `inst` holding `pages` pages. */
export function callRcuFreeSlab(k: SlabArena, inst: CacheCopy, pages: number): void {
  inst.rcuPages += pages;
  k.rcuPending.push({ dueMs: k.sim.clockMs + RCU_GRACE_PERIOD_MS, inst, pages });
}

/** RCU callbacks whose grace period ended by `nowMs` (the simulated clock moved), oldest first. */
export function completeRcuFrees(k: SlabArena, nowMs: number): void {
  let i = 0;
  const q = k.rcuPending;
  for (; i < q.length && q[i].dueMs <= nowMs; i++) {
    q[i].inst.rcuPages -= q[i].pages;
    freeSlabPages(k, q[i].inst, q[i].pages);
  }
  if (i > 0) q.splice(0, i);
}

/** `rcu_barrier()` before a cache (copy) is destroyed (`kmem_cache_destroy`): its pending slab frees complete now. */
export function rcuBarrier(k: SlabArena, inst: CacheCopy): void {
  if (inst.rcuPages === 0) return;
  const rest: typeof k.rcuPending = [];
  for (const f of k.rcuPending) {
    if (f.inst !== inst) rest.push(f);
    else {
      inst.rcuPages -= f.pages;
      freeSlabPages(k, inst, f.pages);
    }
  }
  k.rcuPending = rest;
}

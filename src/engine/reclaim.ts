import { type Cgroup, EV_LOW, modStat, raiseEvent, STAT_FILE_PAGES } from "./cgroup.js";
import type { Sim } from "./sim.js";
import type { AllocOutcome, ReclaimStats } from "./kernel.js";
import { shrinkSlab } from "./slab/shrinker.js";

export type { ReclaimStats } from "./kernel.js";

const DEF_PRIORITY = 12;
const SWAP_CLUSTER_MAX = 32;

export function newReclaimStats(): ReclaimStats {
  return { filePages: 0, slabPages: 0, scannedObjects: 0, freedObjects: 0, freedSlabs: 0, lowSkipped: false };
}

/** Pre-order walk of `root`'s subtree, online and dying cgroups alike (as `mem_cgroup_iter`). */
export function subtree(root: Cgroup): Cgroup[] {
  const out: Cgroup[] = [];
  const stack: Cgroup[] = [root];
  while (stack.length > 0) {
    const c = stack.pop()!;
    out.push(c);
    const kids = [...c.children.values(), ...c.dyingChildren];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  }
  return out;
}

/**
 * The kernel's `effective_protection` (docs/DOMAIN.md §2.2, `mm/memcontrol.c`): a child's protected usage
 * is min(usage, setting); when the siblings together claim more than the parent's effective
 * protection, each gets its proportional share of it. The reclaim root's own protection is
 * ignored and its direct children use their settings as they are.
 */
function effectiveProtection(
  usage: number,
  setting: number,
  parentEffective: number,
  siblingsProtected: number,
): number {
  const prot = Math.min(usage, setting);
  if (siblingsProtected > parentEffective) return Math.floor((prot * parentEffective) / siblingsProtected);
  return prot;
}

function calculateProtection(target: Cgroup, memcg: Cgroup, sums: Map<Cgroup, [number, number]>): void {
  if (memcg === target) return;
  const usage = memcg.memory.usage;
  if (usage === 0) return;
  const parent = memcg.parent!;
  if (parent === target) {
    memcg.emin = memcg.minPages;
    memcg.elow = memcg.lowPages;
    return;
  }
  let s = sums.get(parent);
  if (s === undefined) {
    s = [0, 0];
    for (const k of [...parent.children.values(), ...parent.dyingChildren]) {
      s[0] += Math.min(k.memory.usage, k.minPages);
      s[1] += Math.min(k.memory.usage, k.lowPages);
    }
    sums.set(parent, s);
  }
  memcg.emin = effectiveProtection(usage, memcg.minPages, parent.emin, s[0]);
  memcg.elow = effectiveProtection(usage, memcg.lowPages, parent.elow, s[1]);
}

/**
 * As `try_to_free_mem_cgroup_pages` / `do_try_to_free_pages` (docs/DOMAIN.md §9, §2.3): scans `target`'s
 * subtree from priority 12 down to 0, each cgroup's file LRU in proportion to its size minus its
 * effective protection (`get_scan_count`), plus its slab shrinkers; a cgroup under its effective
 * `min` is skipped, one under `low` too unless nothing else could be reclaimed, in which case a
 * second pass breaches `low` and raises the `low` event. Reclaiming at the root is global reclaim
 * (every shrinker, memcg-aware or not). Returns pages reclaimed and adds them to `out`.
 */
export function tryToFreeMemcgPages(
  sim: Sim,
  target: Cgroup,
  nrPages: number,
  out: AllocOutcome | null,
  stats: ReclaimStats = newReclaimStats(),
): number {
  const nrToReclaim = Math.max(nrPages, SWAP_CLUSTER_MAX);
  const global = target.isRoot;
  const memcgs = subtree(target);
  let lowReclaim = false;
  let reclaimed = 0;
  for (;;) {
    let lowSkipped = false;
    stats.lowSkipped = false;
    for (let prio = DEF_PRIORITY; prio >= 0; prio--) {
      const sums = new Map<Cgroup, [number, number]>();
      for (const memcg of memcgs) {
        calculateProtection(target, memcg, sums);
        if (memcg !== target) {
          if (memcg.emin >= memcg.memory.usage) continue; // mem_cgroup_below_min
          if (memcg.elow >= memcg.memory.usage) {
            if (!lowReclaim) {
              lowSkipped = true;
              continue;
            }
            raiseEvent(memcg, EV_LOW);
          }
        }
        reclaimed += shrinkLruvec(sim, target, memcg, prio, nrToReclaim, lowReclaim, stats);
        const freedPages = shrinkSlab(sim.slab, memcg, prio, global, stats);
        if (global || sim.model.creditsSlabPagesInMemcgReclaim) reclaimed += freedPages;
      }
      if (reclaimed >= nrToReclaim) break;
    }
    // do_try_to_free_pages: "Untapped cgroup reserves? Don't OOM, retry" — only when nothing was reclaimed
    if (reclaimed > 0 || !(lowSkipped || stats.lowSkipped) || lowReclaim) break;
    lowReclaim = true;
  }
  if (out !== null) out.reclaimedPages += reclaimed;
  if (reclaimed > 0)
    sim.events.emit(sim.clockMs, "reclaim", { cgroup: target.path, reclaimedBytes: reclaimed * 4096 });
  return reclaimed;
}

function shrinkLruvec(
  sim: Sim,
  target: Cgroup,
  memcg: Cgroup,
  prio: number,
  nrToReclaim: number,
  lowReclaim: boolean,
  stats: ReclaimStats,
): number {
  const size = memcg.statLocal[STAT_FILE_PAGES];
  if (size === 0) return 0;
  // get_scan_count: `mem_cgroup_protection` gives no protection to the reclaim target; without
  // memcg_low_reclaim the larger `low` scales the scan and marks the pass memcg_low_skipped.
  const min = memcg === target ? 0 : memcg.emin;
  const low = memcg === target ? 0 : memcg.elow;
  let scan = size;
  if (min > 0 || low > 0) {
    let protection = min;
    if (!lowReclaim && low > min) {
      protection = low;
      stats.lowSkipped = true;
    }
    // "Avoid TOCTOU with earlier protection check"
    const cgroupSize = Math.max(memcg.memory.usage, protection);
    scan = size - Math.floor((size * protection) / (cgroupSize + 1));
    scan = Math.max(scan, SWAP_CLUSTER_MAX);
  }
  scan = Math.floor(scan / 2 ** prio);
  if (scan === 0 && memcg.state !== "online") scan = Math.min(size, SWAP_CLUSTER_MAX);
  let done = 0;
  while (scan > 0) {
    const n = Math.min(scan, SWAP_CLUSTER_MAX);
    scan -= n;
    const take = Math.min(n, memcg.statLocal[STAT_FILE_PAGES]);
    if (take === 0) break;
    reclaimFilePages(sim, memcg, take);
    done += take;
    if (done >= nrToReclaim) break;
  }
  stats.filePages += done;
  return done;
}

/** Drops `n` page-cache pages from `memcg`'s LRU: uncharged, out of the stats, back to free memory. */
export function reclaimFilePages(sim: Sim, memcg: Cgroup, n: number): void {
  modStat(memcg, STAT_FILE_PAGES, -n);
  sim.usedPages -= n;
  sim.reclaimedBytesTotal.file += n * 4096;
  for (let c: Cgroup | null = memcg; c !== null; c = c.parent) c.reclaimedFilePagesTotal += n;
  sim.releaseUserPages(memcg, n);
}

/**
 * `memory.reclaim` (docs/DOMAIN.md §9.2): proactive reclaim of `nrPages` in batches of a quarter of what is
 * left (at least 32), 16 zero-progress attempts allowed; returns reclaimed pages and whether the
 * goal was short (EAGAIN).
 */
export function memoryReclaim(sim: Sim, memcg: Cgroup, nrPages: number, stats: ReclaimStats): { reclaimed: number; eagain: boolean } {
  let retries = 16;
  let done = 0;
  while (done < nrPages) {
    const batch = Math.floor((nrPages - done) / 4);
    const r = tryToFreeMemcgPages(sim, memcg, batch, null, stats);
    if (r === 0 && retries-- === 0) return { reclaimed: done, eagain: true };
    done += r;
  }
  return { reclaimed: done, eagain: false };
}

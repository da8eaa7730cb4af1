import { type Cgroup, type Simulation, STAT_KERNEL_PAGES } from "../engine/index.js";
import { PAGE_SIZE as PAGE } from "../engine/index.js";


/**
 * One model's end state, exactly the fields of docs/API.md §11 `compare --json`. Every byte count is
 * an integer number of bytes; counts are integers.
 */
export interface ModelRow {
  model: string;
  /**
   * All slab pages in the system at the end — every cache, root caches and per-cgroup copies, live
   * or dying, reclaimable or not (meminfo `Slab:`) — times 4096.
   */
  slabBytes: number;
  /** The same, in 4 KiB pages (a slab of order n counts 2^n pages). */
  slabPageCount: number;
  /**
   * Live object bytes / slabBytes: Σ over live objects of the cache's slot size (the object size
   * aligned, `s->size`), over all slab memory; 0 when there is no slab page. In [0, 1].
   */
  slabUtilization: number;
  /**
   * Kernel memory charged to non-root cgroups at the end: Σ over the root's children, online and
   * dying, of their hierarchical `kernel` statistic (pages charged through the kmem path: slab
   * pages in rfc-2012/v3.8/v4.5, object bytes rounded to pages through the obj stock in v5.9),
   * in bytes. Charges a v5.9 dying top-level cgroup handed to the root are no longer counted: the
   * root is never charged.
   */
  kmemChargedBytes: number;
  /**
   * Σ of the memory counter usage (user + kernel pages charged, as `memory.usage_in_bytes` /
   * `memory.current`) of every non-root cgroup, online or dying, at the top of a charge hierarchy:
   * the root's children, plus — only under v1 `use_hierarchy=0` — cgroups whose counter has no
   * parent. With hierarchy on (always on v2) that is the sum over top-level cgroups.
   */
  memoryChargedBytes: number;
  /** Removed cgroups not yet released (pinned by charges or cache copies) at the end. */
  dyingCgroupCount: number;
  /** Failed charges over the whole run: memory (user pages) plus kmem (slab pages or object bytes). */
  chargeFailureCount: number;
  /** Tasks killed by the OOM killer (memcg and global) over the whole run. */
  oomKillCount: number;
}

/** Every non-root cgroup at the top of a charge hierarchy (see `memoryChargedBytes`). */
function hierarchyTops(sim: Simulation): Cgroup[] {
  return sim.allCgroups().filter((c) => !c.isRoot && (c.parent === sim.root || c.memory.parent === null));
}

/** Top-level cgroups, online then dying: a path names both when a dying one was recreated. */
export function topLevelCgroups(sim: Simulation): Cgroup[] {
  return [...sim.root.children.values(), ...sim.root.dyingChildren];
}

export function slabPageCount(sim: Simulation): number {
  return sim.slab.reclaimablePages + sim.slab.unreclaimablePages;
}

export function slabUtilization(sim: Simulation): number {
  const pages = slabPageCount(sim);
  return pages === 0 ? 0 : sim.slab.liveObjectBytes / (pages * PAGE);
}

export function kmemChargedBytes(sim: Simulation): number {
  let pages = 0;
  for (const c of topLevelCgroups(sim)) pages += c.statHier[STAT_KERNEL_PAGES];
  return pages * PAGE;
}

/** Reads the end state of `sim` as one row of the comparison. */
export function measure(model: string, sim: Simulation): ModelRow {
  const pages = slabPageCount(sim);
  let memoryPages = 0;
  for (const c of hierarchyTops(sim)) memoryPages += c.memory.usage;
  return {
    model,
    slabBytes: pages * PAGE,
    slabPageCount: pages,
    slabUtilization: slabUtilization(sim),
    kmemChargedBytes: kmemChargedBytes(sim),
    memoryChargedBytes: memoryPages * PAGE,
    dyingCgroupCount: sim.dyingCount,
    chargeFailureCount: sim.chargeFailures.memory + sim.chargeFailures.kmem,
    oomKillCount: sim.oomKillCount,
  };
}

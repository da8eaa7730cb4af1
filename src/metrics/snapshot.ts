import {
  type Cgroup,
  type Simulation,
  STAT_ANON_PAGES,
  STAT_FILE_PAGES,
  STAT_KERNEL_PAGES,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
  subtree,
  usagePages,
} from "../engine/index.js";
import type { Registry } from "../registry.js";
import { PAGE_SIZE as PAGE } from "../engine/index.js";

/**
 * Monotonic per-cgroup counters, in the order of this vector (bytes for the charge counters,
 * counts for the rest). One vector per cgroup row; reset offsets are vectors of the same shape.
 */
export const C_CHARGED_MEMORY = 0;
export const C_CHARGED_KMEM = 1;
export const C_UNCHARGED_MEMORY = 2;
export const C_UNCHARGED_KMEM = 3;
export const C_FAIL_MEMORY = 4;
export const C_FAIL_KMEM = 5;
/** memory.events (hierarchical) in EVENT_KEYS order: low, high, max, oom, oom_kill, oom_group_kill. */
export const C_EVENTS = 6;
/** Bytes reclaimed from the cgroup's subtree: file LRU pages, slab pages freed by its shrinkers. */
export const C_RECLAIMED_FILE = 12;
export const C_RECLAIMED_SLAB = 13;
export const CGROUP_COUNTERS = 14;

/** Monotonic per-simulation counters (vector order). */
export const S_RECLAIMED_FILE = 0;
export const S_RECLAIMED_SLAB = 1;
export const S_ALLOC_FAIL_MEMORY = 2;
export const S_ALLOC_FAIL_KMEM = 3;
export const S_OOM_KILLS = 4;
export const SIM_COUNTERS = 5;

/** One cgroup as the metrics see it at one scrape. */
export interface CgroupRow {
  /** The `cgroup` / `id` label: the path, or `path#id` for a dying cgroup whose path an online one reuses. */
  readonly label: string;
  readonly cg: Cgroup;
  readonly usageBytes: number;
  /** null = unlimited (no series). */
  readonly maxBytes: number | null;
  readonly peakBytes: number;
  readonly failcnt: number;
  readonly kmemUsageBytes: number;
  readonly kmemMaxBytes: number | null;
  readonly kmemFailcnt: number;
  readonly anonBytes: number;
  readonly fileBytes: number;
  readonly kernelBytes: number;
  readonly slabReclaimableBytes: number;
  readonly slabUnreclaimableBytes: number;
  /** CGROUP_COUNTERS values, reset offsets included. */
  readonly counters: Float64Array;
}

/** One (cgroup, cache) pair: the cache copy whose slabs are charged to that cgroup (the base cache at "/"). */
export interface CacheRow {
  readonly cgroupLabel: string;
  readonly cache: string;
  readonly activeObjects: number;
  readonly totalObjects: number;
  readonly pages: number;
}

export interface SimulationRow {
  readonly name: string;
  readonly instance: Simulation;
  readonly cgroups: CgroupRow[];
  readonly caches: CacheRow[];
  /** Cgroups left out by the series cap. */
  readonly truncatedCgroups: number;
  readonly dyingCgroups: number;
  /** SIM_COUNTERS values, reset offsets included. */
  readonly counters: Float64Array;
  /** Applied commands per op, reset offsets included. */
  readonly opCounts: Map<string, number>;
}

export interface Snapshot {
  readonly simulations: SimulationRow[];
  /**
   * Series the scrape text of this snapshot left out at the series cap (`formatFamilies`' `maxSeries`),
   * set while it is formatted; 0 before.
   */
  droppedSeries: number;
}

/** Raw (offset-free) monotonic counters of one cgroup. */
export function cgroupCounters(cg: Cgroup): Float64Array {
  const v = new Float64Array(CGROUP_COUNTERS);
  v[C_CHARGED_MEMORY] = cg.memory.chargedTotal * PAGE;
  v[C_CHARGED_KMEM] = cg.kmem.chargedTotal * PAGE;
  v[C_UNCHARGED_MEMORY] = cg.memory.unchargedTotal * PAGE;
  v[C_UNCHARGED_KMEM] = cg.kmem.unchargedTotal * PAGE;
  v[C_FAIL_MEMORY] = cg.memory.failTotal;
  v[C_FAIL_KMEM] = cg.kmem.failTotal;
  for (let i = 0; i < 6; i++) v[C_EVENTS + i] = cg.events[i];
  v[C_RECLAIMED_FILE] = cg.reclaimedFilePagesTotal * PAGE;
  v[C_RECLAIMED_SLAB] = cg.reclaimedSlabPagesTotal * PAGE;
  return v;
}

/** Raw (offset-free) monotonic counters of one simulation. */
export function simulationCounters(sim: Simulation): Float64Array {
  const v = new Float64Array(SIM_COUNTERS);
  v[S_RECLAIMED_FILE] = sim.reclaimedBytesTotal.file;
  v[S_RECLAIMED_SLAB] = sim.reclaimedBytesTotal.slab;
  v[S_ALLOC_FAIL_MEMORY] = sim.chargeFailures.memory;
  v[S_ALLOC_FAIL_KMEM] = sim.chargeFailures.kmem;
  v[S_OOM_KILLS] = sim.oomKillCount;
  return v;
}

/**
 * The cgroups of `sim` in pre-order (online before dying siblings, as `mem_cgroup_iter`), each with
 * its label. A dying cgroup whose path is already taken (an online cgroup was created at the path
 * of a dying one, docs/API.md §4) is labelled `path#<css id>`: `#` cannot appear in a path segment, so
 * the label never collides with a real path and no two series share a label set.
 */
export function labelledCgroups(
  sim: Simulation,
  limit: number,
): { rows: { cg: Cgroup; label: string }[]; dropped: number } {
  const all = subtree(sim.root);
  const taken = new Set<string>();
  const rows: { cg: Cgroup; label: string }[] = [];
  const n = Math.min(all.length, Math.max(0, limit));
  for (let i = 0; i < n; i++) {
    const cg = all[i];
    let label = cg.path;
    if (taken.has(label)) label = `${label}#${cg.id}`;
    taken.add(label);
    rows.push({ cg, label });
  }
  return { rows, dropped: all.length - n };
}

export interface Offsets {
  cgroups: Map<string, Float64Array>;
  simulation: Float64Array;
  ops: Map<string, number>;
}

/**
 * Reads the state of every simulation of `registry` once. `cgroupBudget` is the per-scrape cap on
 * cgroups with per-cgroup series: simulations are visited in name order, each takes its cgroups in
 * pre-order from what is left of the budget, and the rest of its cgroups are counted as truncated.
 */
export function takeSnapshot(
  registry: Registry,
  cgroupBudget: number,
  offsetsOf: (name: string, sim: Simulation) => Offsets | undefined,
): Snapshot {
  const simulations: SimulationRow[] = [];
  let budget = cgroupBudget;
  for (const entry of registry.list()) {
    const sim = entry.instance;
    const off = offsetsOf(entry.name, sim);
    const { rows, dropped } = labelledCgroups(sim, budget);
    budget -= rows.length;
    const cgroups: CgroupRow[] = [];
    const labelOf = new Map<Cgroup, string>();
    for (const { cg, label } of rows) {
      labelOf.set(cg, label);
      const counters = cgroupCounters(cg);
      const o = off?.cgroups.get(label);
      if (o !== undefined) for (let i = 0; i < CGROUP_COUNTERS; i++) counters[i] += o[i];
      cgroups.push({
        label,
        cg,
        usageBytes: usagePages(cg) * PAGE,
        maxBytes: cg.memory.max === Number.POSITIVE_INFINITY ? null : cg.memory.max * PAGE,
        peakBytes: cg.memory.watermark * PAGE,
        failcnt: cg.memory.failcnt,
        kmemUsageBytes: (cg.isRoot ? cg.statHier[STAT_KERNEL_PAGES] : cg.kmem.usage) * PAGE,
        kmemMaxBytes: cg.kmem.max === Number.POSITIVE_INFINITY ? null : cg.kmem.max * PAGE,
        kmemFailcnt: cg.kmem.failcnt,
        anonBytes: cg.statHier[STAT_ANON_PAGES] * PAGE,
        fileBytes: cg.statHier[STAT_FILE_PAGES] * PAGE,
        kernelBytes: cg.statHier[STAT_KERNEL_PAGES] * PAGE,
        slabReclaimableBytes: cg.statHier[STAT_SLAB_RECLAIMABLE_BYTES],
        slabUnreclaimableBytes: cg.statHier[STAT_SLAB_UNRECLAIMABLE_BYTES],
        counters,
      });
    }
    const caches: CacheRow[] = [];
    for (const cache of sim.slab.caches.values()) {
      if (cache.state === "destroyed") continue;
      const perSlab = cache.geometry.objectsPerSlab;
      const pagesPerSlab = cache.geometry.pagesPerSlab;
      // one row per cgroup label: the base (root) cache counts at "/", each copy at its cgroup
      const byLabel = new Map<string, { active: number; slabs: number }>();
      const add = (label: string | undefined, active: number, slabs: number) => {
        if (label === undefined) return;
        const r = byLabel.get(label);
        if (r === undefined) byLabel.set(label, { active, slabs });
        else {
          r.active += active;
          r.slabs += slabs;
        }
      };
      add(labelOf.get(sim.root), cache.base.activeObjects, cache.base.slabCount);
      for (const inst of cache.children.values()) {
        if (inst.state === "destroyed" || inst.memcg === null) continue;
        add(labelOf.get(inst.memcg), inst.activeObjects, inst.slabCount);
      }
      for (const [label, r] of byLabel)
        caches.push({
          cgroupLabel: label,
          cache: cache.name,
          activeObjects: r.active,
          totalObjects: r.slabs * perSlab,
          pages: r.slabs * pagesPerSlab,
        });
    }
    const counters = simulationCounters(sim);
    if (off !== undefined) for (let i = 0; i < SIM_COUNTERS; i++) counters[i] += off.simulation[i];
    const opCounts = new Map<string, number>();
    if (off !== undefined) for (const [op, n] of off.ops) opCounts.set(op, n);
    for (const [op, n] of sim.opCounts) opCounts.set(op, (opCounts.get(op) ?? 0) + n);
    simulations.push({
      name: entry.name,
      instance: sim,
      cgroups,
      caches,
      truncatedCgroups: dropped,
      dyingCgroups: sim.dyingCount,
      counters,
      opCounts,
    });
  }
  return { simulations, droppedSeries: 0 };
}

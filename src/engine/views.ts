import {
  type Cgroup,
  EV_HIGH,
  EV_LOW,
  EV_MAX,
  EV_OOM,
  EV_OOM_GROUP_KILL,
  EV_OOM_KILL,
  STAT_ANON_PAGES,
  STAT_FILE_PAGES,
  STAT_KERNEL_PAGES,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
} from "./cgroup.js";
import type { Sim } from "./sim.js";
import { subtree } from "./reclaim.js";
import type { KmemCache } from "./slab/cache.js";
import type { Task } from "./tasks.js";
import { PAGE_SIZE as PAGE } from "./page.js";

const bytesOrNull = (pages: number) => (pages === Number.POSITIVE_INFINITY ? null : pages * PAGE);

function events(a: Float64Array) {
  return {
    low: a[EV_LOW],
    high: a[EV_HIGH],
    max: a[EV_MAX],
    oom: a[EV_OOM],
    oomKill: a[EV_OOM_KILL],
    oomGroupKill: a[EV_OOM_GROUP_KILL],
  };
}

/**
 * Memory usage of a cgroup in pages. The root is never charged: like v1 `mem_cgroup_usage` it
 * reports page cache + rss of the whole system (3.x: recursive CACHE + RSS stats; 6.x: global
 * NR_FILE_PAGES + NR_ANON_MAPPED) — kernel memory is not included (docs/DOMAIN.md §3.1).
 */
export function usagePages(cg: Cgroup): number {
  if (!cg.isRoot) return cg.memory.usage;
  return cg.statHier[STAT_ANON_PAGES] + cg.statHier[STAT_FILE_PAGES];
}

/** The Cgroup JSON of docs/API.md §4. */
export function cgroupView(sim: Sim, cg: Cgroup) {
  const caches: { name: string; displayName: string; activeObjectCount: number; objectCount: number; slabCount: number; state: string }[] = [];
  for (const cache of sim.slab.caches.values()) {
    const inst = cache.children.get(cg.id);
    if (inst !== undefined)
      caches.push({
        name: cache.name,
        displayName: inst.displayName,
        activeObjectCount: inst.activeObjects,
        objectCount: inst.objectCount,
        slabCount: inst.slabCount,
        state: inst.state,
      });
    else if (sim.model.objectCharging && !cg.isRoot) {
      const n = sim.slab.ownedCount(cache, cg);
      if (n > 0)
        caches.push({
          name: cache.name,
          displayName: cache.name,
          activeObjectCount: n,
          objectCount: n,
          slabCount: 0,
          state: "shared",
        });
    }
  }
  let descendants = 0;
  let dying = 0;
  for (const c of subtree(cg)) {
    if (c === cg) continue;
    if (c.state === "online") descendants++;
    else dying++;
  }
  const rec = cg.statHier[STAT_SLAB_RECLAIMABLE_BYTES];
  const unrec = cg.statHier[STAT_SLAB_UNRECLAIMABLE_BYTES];
  return {
    path: cg.path,
    state: cg.state,
    taskPids: [...cg.tasks].sort((a, b) => a - b),
    children: [...cg.children.values()].map((c) => c.path),
    memory: {
      usageBytes: usagePages(cg) * PAGE,
      maxBytes: bytesOrNull(cg.memory.max),
      highBytes: bytesOrNull(cg.highPages),
      lowBytes: cg.lowPages * PAGE,
      minBytes: cg.minPages * PAGE,
      peakBytes: cg.memory.watermark * PAGE,
      failCount: cg.memory.failcnt,
    },
    kmem: {
      usageBytes: (cg.isRoot ? cg.statHier[STAT_KERNEL_PAGES] : cg.kmem.usage) * PAGE,
      maxBytes: bytesOrNull(cg.kmem.max),
      peakBytes: cg.kmem.watermark * PAGE,
      failCount: cg.kmem.failcnt,
    },
    events: events(cg.events),
    eventsLocal: events(cg.eventsLocal),
    stat: {
      anonBytes: cg.statHier[STAT_ANON_PAGES] * PAGE,
      fileBytes: cg.statHier[STAT_FILE_PAGES] * PAGE,
      kernelBytes: cg.statHier[STAT_KERNEL_PAGES] * PAGE,
      slabReclaimableBytes: rec,
      slabUnreclaimableBytes: unrec,
      slabBytes: rec + unrec,
    },
    caches,
    descendantCount: descendants,
    dyingDescendantCount: dying,
  };
}

/** The Cache JSON of docs/API.md §4: its own counts include its per-cgroup copies, as /proc/slabinfo. */
export function cacheView(_sim: Sim, cache: KmemCache) {
  const g = cache.geometry;
  const t = cache.totals();
  return {
    name: cache.name,
    objectSizeBytes: cache.objectSizeBytes,
    sizeBytes: g.sizeBytes,
    alignBytes: g.alignBytes,
    order: g.order,
    objectsPerSlab: g.objectsPerSlab,
    pagesPerSlab: g.pagesPerSlab,
    minPartial: g.minPartial,
    flags: { ...cache.flags },
    shrinker: cache.shrinker === null ? null : { ...cache.shrinker },
    accounted: cache.accounted,
    activeObjectCount: t.activeObjects,
    objectCount: t.objects,
    slabCount: t.slabs,
    children: [...cache.children.values()].map((c) => ({
      cgroup: c.memcg!.path,
      displayName: c.displayName,
      state: c.state,
      activeObjectCount: c.activeObjects,
      objectCount: c.objectCount,
      slabCount: c.slabCount,
    })),
  };
}

export function taskView(t: Task) {
  return {
    pid: t.pid,
    cgroup: t.cgroup.path,
    cpu: t.cpu,
    oomScoreAdj: t.oomScoreAdj,
    anonBytes: t.anonPages * PAGE,
    state: "running" as const,
  };
}

/** Instance JSON of docs/API.md §3, without the name the registry adds. */
export function instanceView(sim: Sim) {
  return {
    config: { ...sim.config },
    clockMs: sim.clockMs,
    cgroupCount: sim.cgroupCount,
    taskCount: sim.tasks.size,
    cacheCount: sim.slab.caches.size,
    liveObjectCount: sim.slab.liveObjects,
    commandCount: sim.commandCount,
  };
}

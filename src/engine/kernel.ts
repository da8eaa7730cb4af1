import type { Cgroup } from "./cgroup.js";
import type { CacheCopy, KmemCache } from "./slab/cache.js";
import type { Task } from "./tasks.js";

// The engine's header (the role of include/linux/memcontrol.h, issue #14): value types that cross
// modules, declared where neither side's file has to import the other's. Data only: this file
// imports nothing but types of leaf files (cgroup.ts, tasks.ts, slab/cache.ts), so any engine file may import it
// without closing an import circle. charge.ts and reclaim.ts re-export their types from here.

/** What one command's allocations did, accumulated across every charge it made (docs/API.md §5). */
export interface AllocOutcome {
  reclaimedPages: number;
  oomKilledPids: number[];
  /** The allocating task was chosen by the OOM killer. */
  selfKilled: boolean;
  throttleMs: number;
  /** The cgroup whose limit failed the last failed charge. */
  failedAt: Cgroup | null;
}

/** The context of one charge: who allocates, on which CPU, with which gfp flags. */
export interface ChargeCtx {
  task: Task | null;
  cpu: number;
  gfp: number;
  out: AllocOutcome;
}

/** What a reclaim pass did (docs/API.md §5 reclaim result, in pages and objects). */
export interface ReclaimStats {
  filePages: number;
  /** Slab pages freed by shrinkers (credited to reclaim as `reclaim_state`). */
  slabPages: number;
  scannedObjects: number;
  freedObjects: number;
  freedSlabs: number;
  /** `sc->memcg_low_skipped`: some cgroup's `low` was respected in this pass. */
  lowSkipped: boolean;
}

/**
 * The slab allocator as the accounting models see it: the `kmem` their hooks are given
 * (models/model.ts). Declared here, not as the class slab/kmem.ts `SlabSystem` (which satisfies
 * it), so that the models' interface does not import the slab allocator that calls it: the slab
 * files then sit below the models and the simulation in the import graph, in no circle.
 */
export interface SlabHeader {
  readonly caches: Map<string, KmemCache>;
  /** objcg id → the cgroup it charges now. */
  readonly objcgMemcg: Cgroup[];
  /** Sub-page bytes parked on an objcg (`nr_charged_bytes`). */
  readonly objcgChargedBytes: number[];
  /** Allocations so far (model B's asynchronous copy creation waits for a later one). */
  readonly allocSerial: number;
  newCopy(cache: KmemCache, memcg: Cgroup | null, displayName: string, state: CacheCopy["state"]): CacheCopy;
  destroyCopy(inst: CacheCopy): void;
  shrinkInstance(inst: CacheCopy): number;
  moveObjcgs(from: Cgroup, to: Cgroup): void;
  spliceLists(child: Cgroup, parent: Cgroup, owner: boolean, lru: boolean): void;
}

/** Server-wide limits the registry passes in (docs/ARCHITECTURE.md habit 4); each hit is LIMIT_EXCEEDED. */
export interface EngineLimits {
  maxCgroups: number;
  maxDepth: number;
  maxCaches: number;
  maxTasks: number;
  maxLiveObjects: number;
  maxCountPerCommand: number;
}

/** An id allocator (`struct ida`, lib/idr.c): the ids in use and the lowest id that may be free. */
export interface Ida {
  readonly used: Set<number>;
  /** Every id below this one is taken (so the search starts there, not at 0). */
  low: number;
}

/**
 * The cgroup tree's bookkeeping (cgroup-tree.ts): the css ids (`cgroup_idr`), the memcg ids
 * (seed model memcg index, 3.8 kmemcg_id) and the cgroup whose offline is running.
 */
export interface CgroupIdr {
  /** Every cgroup not yet released (online and dying), by css id. */
  readonly byId: Map<number, Cgroup>;
  nextId: number;
  /** The seed model's memcg index, from 1. */
  readonly memcgIndex: Ida;
  /** 3.8 kmemcg_id: the ida `kmem_limited_groups` (mm/memcontrol.c, memcg_update_cache_sizes), from 0. */
  readonly kmemcgId: Ida;
  /** The cgroup whose rmdir is being processed (cgroup-tree.ts offlineCgroup). */
  offlining: Cgroup | null;
}

/** The task table's bookkeeping (task-lifecycle.ts): the next pid and the pid-indexed array. */
export interface PidTable {
  nextPid: number;
  /**
   * The live tasks by pid in an array (pids below PID_INDEX_LIMIT): one memory access per lookup
   * where the Map takes two (bucket and entry), which shows once tasks are many and cold in the CPU
   * caches (issue "Performance", scaling with cgroups). `Sim.tasks` stays the source of order.
   */
  readonly index: (Task | undefined)[];
}

/**
 * The up-calls a lower file makes into a verb file above it (the role of an ops table such as
 * `struct cgroup_subsys`'s callbacks): a dying cgroup's release, the page allocator, the uncharge
 * of user pages and the task kill. simulation.ts fills it with the verb files' functions; a caller
 * holds this table, not the simulation, so no import points up and no circle closes.
 */
export interface KernelOps {
  /** cgroup-tree.ts: a dying cgroup lost a pin; it is released when nothing pins it any more. */
  maybeRelease(cg: Cgroup): void;
  /** page-alloc.ts: uncharges `n` user (LRU) pages from `cg`, which may release it if dying. */
  releaseUserPages(cg: Cgroup, n: number): void;
  /** page-alloc.ts: `n` pages for `ctx`, reclaiming or OOM-killing as the kernel would; false = none. */
  allocPhysPages(n: number, ctx: ChargeCtx): boolean;
  /** task-lifecycle.ts: the task leaves; its anon pages are freed and uncharged. */
  killTask(t: Task): void;
}

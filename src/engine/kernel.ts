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
  newCopy(
    cache: KmemCache,
    memcg: Cgroup | null,
    displayName: string,
    state: CacheCopy["state"],
  ): CacheCopy;
  destroyCopy(inst: CacheCopy): void;
  shrinkInstance(inst: CacheCopy): number;
  moveObjcgs(from: Cgroup, to: Cgroup): void;
  spliceLists(child: Cgroup, parent: Cgroup, owner: boolean, lru: boolean): void;
}

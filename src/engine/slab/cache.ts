import type { Cgroup } from "../cgroup.js";
import type { Geometry } from "./geometry.js";

export interface CacheFlags {
  account: boolean;
  reclaimAccount: boolean;
  hwcacheAlign: boolean;
  /** SLAB_TYPESAFE_BY_RCU: the free pointer sits after the object; freed slab pages wait a grace period (docs/DOMAIN.md §5.1, §5.3). */
  typesafeByRcu: boolean;
}

export interface ShrinkerConfig {
  memcgAware: boolean;
  seeks: number;
}

export type InstanceState = "pending" | "active" | "dying" | "destroyed";

/**
 * One `struct kmem_cache`: a root (base) cache or a per-cgroup copy (models A/B/B′). Its slabs
 * live in the SlabPool's typed arrays; this object only holds list heads and counts.
 */
export class CacheCopy {
  /** Active slab per CPU (slab id or -1). */
  readonly cpuSlab: Int32Array;
  /**
   * Head of each CPU's per-CPU partial list (`c->partial`, slab id or -1): a singly linked list
   * through `slabNext`, newest first (mm/slub.c:put_cpu_partial pushes at the head,
   * ___slab_alloc takes the head). Slabs on it are in state SLAB_CPU_PARTIAL (docs/DOMAIN.md §5.3).
   */
  readonly cpuPartialHead: Int32Array;
  /** Slabs on all CPUs' per-CPU partial lists. */
  nrCpuPartial = 0;
  /**
   * The per-CPU partial bound in force (geometry.ts cpuPartialLimit: objects ≤ 5.15, slabs 5.16+);
   * 0 once the copy is deactivated (4.x–5.8: `s->cpu_partial = 0` in the deactivating shrink, then
   * nothing is parked any more).
   */
  cpuPartialLimit = 0;
  partialHead = -1;
  partialTail = -1;
  nrPartial = 0;
  /** Free objects on the node partial list (SLUB's `count_partial(n, count_free)`, for slabinfo). */
  partialFreeObjects = 0;
  slabCount = 0;
  /** SLAB_TYPESAFE_BY_RCU: pages of this copy's discarded slabs still waiting for their grace period. */
  rcuPages = 0;
  activeObjects = 0;
  state: InstanceState;
  /** `min_partial` now in force (0 once deactivated). */
  minPartial: number;
  readyAtMs = 0;
  /** Allocation serial at which this pending copy was requested (it serves later allocations only). */
  requestedAtSerial = 0;

  constructor(
    readonly id: number,
    readonly root: KmemCache,
    /** The cgroup this copy charges its slab pages to; null for the root cache. */
    readonly memcg: Cgroup | null,
    readonly displayName: string,
    cpuCount: number,
    state: InstanceState,
  ) {
    this.cpuSlab = new Int32Array(cpuCount).fill(-1);
    this.cpuPartialHead = new Int32Array(cpuCount).fill(-1);
    this.state = state;
    this.minPartial = root.geometry.minPartial;
  }

  get objectCount(): number {
    return this.slabCount * this.root.geometry.objectsPerSlab;
  }
}

export const CTX_STRIDE = 3;
export const CTX_COUNT = 0;
export const CTX_OLDEST = 1;
export const CTX_NEWEST = 2;

/** A slab cache as created by `kmem_cache_create`, with its per-cgroup copies. */
export class KmemCache {
  base!: CacheCopy;
  /** Per-cgroup copies by cgroup id, in creation order, including dying ones until destroyed. */
  readonly children = new Map<number, CacheCopy>();
  /** `register_memcg_cache` / SLAB_ACCOUNT. */
  accounted: boolean;
  /** Live objects per (cgroup charged) list: cgroup id → list sentinel (objects in allocation order). */
  readonly ownerLists = new Map<number, number>();
  /** list_lru per cgroup id (memcg-aware) or under key 0 (global list). */
  readonly lruLists = new Map<number, number>();
  /** A removed cgroup's list_lru key → the key its list was spliced into (to find an object's list). */
  readonly lruFwd = new Map<number, number>();
  /** Shrinker `nr_deferred` per list key. */
  readonly nrDeferred = new Map<number, number>();
  state: "active" | "destroyed" = "active";
  /**
   * Per allocation context (SlabSystem.objCtx), this cache's live objects of that context: how
   * many, and the oldest and newest of them (slots; -1 = none), at `CTX_STRIDE × ctx` + CTX_COUNT /
   * CTX_OLDEST / CTX_NEWEST. All of a context's objects of one cache sit on one owner list in
   * allocation order, so a free by pid starts at its own objects instead of walking past other
   * tasks' (issue "Performance": many tasks in one cgroup). Sized on demand (`SlabSystem.ctxIndexOf`).
   */
  ctxIndex = new Int32Array(0);

  constructor(
    readonly id: number,
    readonly name: string,
    readonly objectSizeBytes: number,
    readonly geometry: Geometry,
    readonly flags: CacheFlags,
    readonly shrinker: ShrinkerConfig | null,
  ) {
    this.accounted = flags.account;
  }

  /** Sum over the base and its copies (what /proc/slabinfo prints, docs/DOMAIN.md §6.3). */
  totals(): { activeObjects: number; objects: number; slabs: number } {
    let a = this.base.activeObjects;
    let s = this.base.slabCount;
    for (const c of this.children.values()) {
      a += c.activeObjects;
      s += c.slabCount;
    }
    return { activeObjects: a, objects: s * this.geometry.objectsPerSlab, slabs: s };
  }
}

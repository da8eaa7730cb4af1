import { type CounterNode, PageCounter, PC_FIELDS, UNLIMITED } from "./page-counter.js";

/** memory.events keys in the kernel's print order (docs/DOMAIN.md §3.2). */
export const EVENT_KEYS = ["low", "high", "max", "oom", "oom_kill", "oom_group_kill"] as const;
export type EventKey = (typeof EVENT_KEYS)[number];
export const EV_LOW = 0;
export const EV_HIGH = 1;
export const EV_MAX = 2;
export const EV_OOM = 3;
export const EV_OOM_KILL = 4;
export const EV_OOM_GROUP_KILL = 5;

/**
 * Per-cgroup statistics kept incrementally (docs/ARCHITECTURE.md §3: no scans on reads). Each has a
 * local value and a hierarchical value (local + every descendant, alive or dying), the way the
 * kernel's rstat keeps `memory.stat` (v2) and the `total_*` keys (v1).
 */
export const STAT_ANON_PAGES = 0;
export const STAT_FILE_PAGES = 1;
/** Pages charged through the kmem path (MEMCG_KMEM; v2 `kernel`). */
export const STAT_KERNEL_PAGES = 2;
export const STAT_SLAB_RECLAIMABLE_BYTES = 3;
export const STAT_SLAB_UNRECLAIMABLE_BYTES = 4;
/** Page charge/uncharge events (v1 `pgpgin`/`pgpgout`). */
export const STAT_PGPGIN = 5;
export const STAT_PGPGOUT = 6;
/**
 * Kernel stack pages charged to the cgroup (NR_KERNEL_STACK_KB; v2 `kernel_stack`, 4.6+: 12580e4b54ba
 * "mm: memcontrol: report kernel stack usage in cgroup2 memory.stat"). Part of `kernel`.
 */
export const STAT_KERNEL_STACK_PAGES = 7;
/**
 * User page-table pages charged to the cgroup (NR_PAGETABLE; v2 `pagetables`, printed from 5.11:
 * f0c0c115fb81 "mm: memcontrol: account pagetables per node"). Part of `kernel`.
 */
export const STAT_PAGETABLE_PAGES = 8;
export const STAT_COUNT = 9;

export type CgroupState = "online" | "dying" | "released";

/**
 * The hot numbers of cgroups live in shared chunks, one row of 40 doubles (320 bytes) per cgroup:
 * the local statistics (0–8), the hierarchical ones (9–17), memory.high (18), then the `memory`
 * and `kmem` page counters
 * (page-counter.ts, 8 doubles each). `statLocal`/`statHier` are views of the two statistic halves;
 * the hot paths index the chunk directly and walk the cgroups themselves, so a command that lands
 * on a cgroup cold in the CPU caches misses on its Cgroup object and one contiguous row, not also
 * on two counter objects and typed-array headers (issue "Performance", scaling with cgroups). A
 * chunk is freed by the garbage collector with its last cgroup; rows are never reused.
 */
const ROW_STRIDE = 40;
const ROW_CHUNK_CGROUPS = 64;
/** Offset of the hierarchical statistics in a row. */
export const ROW_STAT_HIER = STAT_COUNT;
/** Offsets of the `memory` and `kmem` counters in a row (the `at` of page-counter.ts's functions). */
export const ROW_MEMORY = 24;
/** memory.high in pages (UNLIMITED = max): read with `memory` usage on every charge (a double field would be a boxed number). */
export const ROW_HIGH = 18;
export const ROW_KMEM = 32;
if (2 * STAT_COUNT > ROW_HIGH || ROW_KMEM + PC_FIELDS > ROW_STRIDE)
  throw new Error("cgroup row layout overlaps");
/**
 * Hands out cgroup rows, 64 to a chunk. One per simulation (its root makes it, every descendant
 * shares its parent's): simulations running side by side share no state.
 */
export class RowAllocator {
  private chunk = new Float64Array(0);
  private used = ROW_CHUNK_CGROUPS;

  slot(): { chunk: Float64Array; off: number } {
    if (this.used === ROW_CHUNK_CGROUPS) {
      this.chunk = new Float64Array(ROW_STRIDE * ROW_CHUNK_CGROUPS);
      this.used = 0;
    }
    return { chunk: this.chunk, off: ROW_STRIDE * this.used++ };
  }
}

/** One memory cgroup. State only; the rules live in the modules that act on it. */
export class Cgroup implements CounterNode {
  /** The simulation's row allocator (the root's, shared by its descendants). */
  readonly rows: RowAllocator;
  /** This cgroup's row (statistics and page counters) and its offset in it. */
  readonly row: Float64Array;
  readonly rowOff: number;
  /** The level charged next by this cgroup's counters: the parent, or null (root; v1 `use_hierarchy=0` parent). */
  readonly counterParent: Cgroup | null;
  readonly children = new Map<string, Cgroup>();
  /** Removed children still pinned by charges (docs/DOMAIN.md §10), oldest first. */
  readonly dyingChildren: Cgroup[] = [];
  readonly tasks = new Set<number>();
  state: CgroupState = "online";

  readonly memory: PageCounter;
  readonly kmem: PageCounter;
  /** memory.min / memory.low / soft limit, in pages (UNLIMITED = max); memory.high is `highPages`. */
  minPages = 0;
  lowPages = 0;
  softLimitPages = UNLIMITED;
  /**
   * v1 `memory.memsw.*` (eras with swap accounting): no swap is simulated, so the memsw counter's
   * usage is the memory counter's; it keeps its own limit, failcnt and watermark (the memory
   * counter's `memswWatermark`).
   */
  memswMaxPages = UNLIMITED;
  memswFailcnt = 0;
  /**
   * v1 `memory.kmem.tcp.*`: the cgroup's tcp counter (3.x `tcp_memcontrol.tcp_memory_allocated`,
   * 4.5+ `memcg->tcpmem`), charged by socket memory (sock-mem.ts). 3.x: the root's usage is the
   * global `tcp_memory_allocated` (every socket's pages).
   */
  tcpMaxPages = UNLIMITED;
  tcpUsagePages = 0;
  tcpWatermarkPages = 0;
  tcpFailcnt = 0;
  /** 4.5+ `tcpmem_active`: a tcp limit write activated v1 socket accounting here (memcg_update_tcp_limit). */
  tcpActive = false;
  /** v2 `sock` (MEMCG_SOCK) in pages: local, and this cgroup's with its descendants'. */
  sockPagesLocal = 0;
  sockPagesHier = 0;
  /** Pages socket charges put on this cgroup's memory counter, ever (the invariants' "no charge after rmdir" leaves them out). */
  sockChargedPagesTotal = 0;
  /** v1 `memory.swappiness`, inherited from the parent at creation (mem_cgroup_css_alloc); the root's is vm_swappiness. */
  swappiness = 60;
  /** cgroup v1 core flags, inherited from the parent at creation (cgroup_create). */
  cloneChildren = false;
  notifyOnRelease = false;
  /** Effective protection computed during a reclaim walk (kernel `emin`/`elow`). */
  emin = 0;
  elow = 0;

  useHierarchy: boolean;
  oomGroup = false;
  oomKillDisable = false;
  moveChargeAtImmigrate = 0;
  /** v3.8: kmem accounting activated by a kmem.limit_in_bytes write (docs/DOMAIN.md §6.2). */
  kmemActive = false;
  /** v3.8 kmemcg_id (ida index) once kmem-active; -1 before. */
  kmemcgId = -1;
  /** The seed model's small-integer copy index (an ida, as the seed's TODO asks). */
  memcgIndex = 0;

  readonly events = new Float64Array(6);
  readonly eventsLocal = new Float64Array(6);
  readonly statLocal: Float64Array;
  readonly statHier: Float64Array;

  /**
   * Monotonic reclaim totals, hierarchical (this cgroup and its descendants, the root holding the
   * whole instance): file LRU pages reclaimed, and slab pages freed by shrinkers run for this
   * cgroup's lists (a global list counts at the root). For metrics; never reset.
   */
  reclaimedFilePagesTotal = 0;
  reclaimedSlabPagesTotal = 0;
  /** Pages charged over memory.high by remote charges since this cgroup's `high_work` last ran. */
  highWorkPages = 0;
  /** Page-charge stock slack held for this cgroup by CPUs (pages; chargeBatchPages > 1). */
  stockPages = 0;
  /** Per-memcg caches (models A/B/B′) not yet destroyed: each pins a dying cgroup. */
  liveCacheCount = 0;
  /** Model C: pages charged through this cgroup's own objcg (moved to the parent at offline). */
  objcgPages = 0;
  /** Model C: sub-page leftover bytes of this cgroup's objcg (`objcg->nr_charged_bytes`). */
  objcgChargedBytes = 0;
  /** Model C: index of this cgroup's objcg, or -1. */
  objcgId = -1;
  /**
   * The objcg this cgroup's creation charged its statistics structures to (memcg-alloc.ts,
   * `Era.memcgAlloc`): the parent's at mkdir, reparented with it; uncharged when this cgroup is
   * freed. -1: none.
   */
  memcgAllocObjcg = -1;
  /**
   * v2 `percpu` (MEMCG_PERCPU_B, 5.9+): per-CPU bytes charged to this cgroup, local and
   * hierarchical (modPercpu). Kept outside the statistics rows: it changes only at mkdir and at a
   * child's release.
   */
  percpuBytes = 0;
  percpuBytesHier = 0;
  /** The objcgs that charge this cgroup now: its own and (model C) those reparented to it. Not kept for the root. */
  readonly objcgsHere: number[] = [];
  /**
   * The slab allocator's memo of this cgroup's last-used object lists: the cache and its owner list
   * and list_lru sentinels (-1 = none yet) — saves the per-cache Map lookups on a command's first
   * object (a cgroup's lists never change while it is online; the memo is only read for online ones).
   */
  listMemoCache: unknown = null;
  listMemoOwned = -1;
  listMemoLru = -1;

  constructor(
    /** Unique, increasing id (css serial_nr); the root is 1. */
    readonly id: number,
    readonly name: string,
    readonly parent: Cgroup | null,
    useHierarchy: boolean,
  ) {
    this.useHierarchy = useHierarchy;
    if (parent !== null) {
      this.swappiness = parent.swappiness;
      this.cloneChildren = parent.cloneChildren;
      this.notifyOnRelease = parent.notifyOnRelease;
    }
    this.rows = parent?.rows ?? new RowAllocator();
    const { chunk, off } = this.rows.slot();
    this.row = chunk;
    this.rowOff = off;
    this.statLocal = chunk.subarray(off, off + STAT_COUNT);
    this.statHier = chunk.subarray(off + ROW_STAT_HIER, off + ROW_STAT_HIER + STAT_COUNT);
    const hier = parent !== null && parent.useHierarchy;
    this.counterParent = hier ? parent : null;
    this.memory = new PageCounter(hier ? parent.memory : null, chunk, off + ROW_MEMORY);
    this.kmem = new PageCounter(hier ? parent.kmem : null, chunk, off + ROW_KMEM);
    chunk[off + ROW_HIGH] = UNLIMITED;
  }

  /** memory.high in pages (UNLIMITED = max). */
  get highPages(): number {
    return this.row[this.rowOff + ROW_HIGH];
  }
  set highPages(pages: number) {
    this.row[this.rowOff + ROW_HIGH] = pages;
  }

  get isRoot(): boolean {
    return this.parent === null;
  }

  get path(): string {
    if (this.parent === null) return "/";
    const pp = this.parent.path;
    return pp === "/" ? `/${this.name}` : `${pp}/${this.name}`;
  }

  /** Memory charged to this cgroup's LRU (anon + file pages charged here); pins it when dying. */
  get lruPages(): number {
    return this.statLocal[STAT_ANON_PAGES] + this.statLocal[STAT_FILE_PAGES];
  }
}

/** Adds `delta` to a statistic locally and to the hierarchical value of this cgroup and every ancestor. */
export function modStat(cg: Cgroup, stat: number, delta: number): void {
  cg.row[cg.rowOff + stat] += delta;
  for (let c: Cgroup | null = cg; c !== null; c = c.parent) c.row[c.rowOff + ROW_STAT_HIER + stat] += delta;
}

/** Adds `delta` bytes to `percpu` locally and to the hierarchical value of this cgroup and every ancestor. */
export function modPercpu(cg: Cgroup, delta: number): void {
  cg.percpuBytes += delta;
  for (let c: Cgroup | null = cg; c !== null; c = c.parent) c.percpuBytesHier += delta;
}

/** Moves a dying cgroup's local `percpu` into its parent (objcg reparenting), as moveLocalStat does a statistic. */
export function moveLocalPercpu(cg: Cgroup, parent: Cgroup): void {
  const v = cg.percpuBytes;
  cg.percpuBytes = 0;
  cg.percpuBytesHier -= v;
  parent.percpuBytes += v;
}

/**
 * As `memcg_memory_event`: the local count on `cg`, the hierarchical count on `cg` and each
 * ancestor below the root (the root has no memory.events file).
 */
export function raiseEvent(cg: Cgroup, ev: number, n = 1): void {
  if (cg.isRoot) return;
  cg.eventsLocal[ev] += n;
  for (let c: Cgroup | null = cg; c !== null && !c.isRoot; c = c.parent) c.events[ev] += n;
}

/** MEMCG_SOCK moves by `delta` pages (mod_memcg_state), locally and in the hierarchical sums. */
export function modSockStat(cg: Cgroup, delta: number): void {
  cg.sockPagesLocal += delta;
  for (let c: Cgroup | null = cg; c !== null; c = c.parent) c.sockPagesHier += delta;
}

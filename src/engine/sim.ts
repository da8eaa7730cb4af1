import type { Cgroup } from "./cgroup.js";
import type { InstanceConfig } from "./config.js";
import type { EventLog } from "./events.js";
import type { CgroupIdr, EngineLimits, KernelOps, PidTable } from "./kernel.js";
import type { Era } from "./models/era.js";
import type { AccountingModel } from "./models/model.js";
import type { Prng } from "./prng.js";
import type { SlabSystem } from "./slab/kmem.js";
import type { Task } from "./tasks.js";

// The simulation as the engine's verb files see it (charge, reclaim, oom, views, dump, invariants,
// cgroupfs, the models): the state they read and the up-calls they make. Simulation (simulation.ts)
// satisfies it and hands itself to them; they import this type, not the class, so that no file
// that simulation.ts imports imports simulation.ts back (no import circle in src/engine, checked by
// `npm run lint`). A member a verb file needs is added here, typed, once.

/** The page stock of one CPU (`memcg_stock`, mm/memcontrol.c: consume_stock / refill_stock). */
export interface PageStock {
  memcg: Cgroup | null;
  pages: number;
}

/** What the checks see of the whole-page kernel allocations (kernel-pages.ts: KernelPages). */
export interface KernelPagesView {
  /** Pages of whole-page kernel allocations alive now. */
  readonly totalPages: number;
  /** Pages held charged to `cg` by page-charged eras (a dying cgroup stays pinned while > 0). */
  pinnedPages(cg: Cgroup): number;
  /** Charged pages per cgroup now charged for them. */
  chargedPagesByCgroup(): Map<Cgroup, number>;
  /** The kernel stack of a task forked in `memcg` (pageId null: the charge failed). */
  forkStack(
    memcg: Cgroup,
    cpu: number,
  ): { pageId: number | null; failedAt: string | null; oomKilledPids: number[] };
  /**
   * One page-table page of a task's mm (order 0, or the pgd's `Era.pgdOrder`) in `memcg`, charged
   * where the era charges page tables (pageId null: the allocation or its charge failed).
   */
  pageTable(
    memcg: Cgroup,
    t: Task | null,
    cpu: number,
    order: number,
  ): {
    pageId: number | null;
    error: string | null;
    failedAt: string | null;
    oomKilledPids: number[];
    reclaimedBytes: number;
    throttleMs: number;
    /** Bytes the era charged for it (0: allocated, not accounted). */
    chargedBytes: number;
  };
  /** Frees (and uncharges) one allocation by id, the frees running on `cpu`. */
  freePages(id: number, cpu: number): void;
}

export interface Sim extends KernelOps {
  readonly config: InstanceConfig;
  readonly limits: EngineLimits;
  /** The up-calls as a table (kernel.ts KernelOps), for a file that needs one of them and no more. */
  readonly ops: KernelOps;
  /** The cgroup tree's ids and offline state (cgroup-tree.ts). */
  readonly idr: CgroupIdr;
  /** The task table's next pid and pid index (task-lifecycle.ts). */
  readonly pids: PidTable;
  readonly model: AccountingModel;
  /** What the model's kernel era shows and decides (models/era.ts). */
  readonly era: Era;
  readonly events: EventLog;
  readonly prng: Prng;
  readonly slab: SlabSystem;
  readonly root: Cgroup;
  readonly tasks: Map<number, Task>;
  /** The per-CPU page stocks, `nrMemcgStock` slots per CPU, CPU-major (charge.ts). */
  readonly pageStocks: PageStock[];
  readonly nrMemcgStock: number;
  /** Whole-page kernel allocations (kernel stacks, large kmalloc, __GFP_ACCOUNT pages). */
  readonly kernelPages: KernelPagesView;
  /** Some cgroup's v1 memsw limit was set below max (the charge path's memsw check). */
  memswLimitSet: boolean;
  /** Cgroups whose `high_work` was queued by remote charges of the current command. */
  readonly pendingHighWork: Set<Cgroup>;
  /** Some cgroup's memory.high was set below max at some point (the charge path's over-high walk). */
  highLimitSet: boolean;
  readonly totalPages: number;
  clockMs: number;
  readonly commandCount: number;
  usedPages: number;
  oomKillCount: number;
  /** Monotonic failure counts by reason (metrics). */
  readonly chargeFailures: { memory: number; kmem: number };
  /** Monotonic reclaim totals by source, bytes (metrics). */
  readonly reclaimedBytesTotal: { file: number; slab: number };
  dyingCount: number;
  /** Released cgroups whose memory is freed after an RCU grace period (memcg-alloc.ts), oldest first. */
  readonly memcgFreePending: { dueMs: number; cg: Cgroup }[];
  /** The model's era has the modern (5.x+) semantics. */
  readonly modern: boolean;
  readonly cgroupCount: number;

  /** Every online cgroup in pre-order, root first. */
  onlineCgroups(): Cgroup[];
  /** Every cgroup not yet released (online and dying) in pre-order. */
  allCgroups(): Cgroup[];
  isDescendant(c: Cgroup, root: Cgroup): boolean;
  /** 3.8 `memcg_activate_kmem`. */
  activateKmem(cg: Cgroup): void;
  /** Moves a local statistic of a dying cgroup into its parent (objcg reparenting). */
  moveLocalStat(cg: Cgroup, parent: Cgroup, stat: number): void;
  /** The live task `pid`, TASK_NOT_FOUND otherwise. */
  task(pid: number): Task;
  /** Moves task `pid` to the cgroup at `path`. */
  moveTask(pid: number, path: string): Task;
}

import type { Cgroup } from "./cgroup.js";

/**
 * Pids below this are indexed by arrays (tasks, allocation contexts): the API's largest pid is
 * 4,194,304 (`pid_max`); larger ones, not reachable through the API, fall back to Maps.
 */
export const PID_INDEX_LIMIT = 4_194_305;

/** A simulated task (thread-group leader). */
export class Task {
  /** Anon pages this task owns, by the cgroup they are charged to (charges stay on a move, docs/DOMAIN.md §8). */
  readonly anon = new Map<Cgroup, number>();
  /** File pages this task brought in, by charged cgroup (v1 move_charge bit 1 moves these). */
  readonly fileMapped = new Map<Cgroup, number>();
  anonPages = 0;
  /** Pages charged above memory.high during the current command (`memcg_nr_pages_over_high`). */
  pagesOverHigh = 0;
  /** The slab allocator's last allocation context of this task: its objcg and id (a memo, see SlabSystem.allocCtx). */
  allocCtxObjcg = -1;
  allocCtxId = -1;
  /** The kernel-page id of the stack allocated when the task was forked inside the simulation (spawnTask `fork`); 0: none. */
  stackPageId = 0;
  /**
   * The kernel-page id of the pgd of the mm made for this task when it was forked inside the
   * simulation (kernel/fork.c:dup_mm → mm_alloc_pgd); 0: a placed task, whose mm exists outside
   * the simulation and whose page tables are not simulated.
   */
  pgdPageId = 0;
  /** Kernel-page ids of the page-table pages of its anon memory, by level, oldest first (tasks with `pgdPageId`). */
  readonly pudPageIds: number[] = [];
  readonly pmdPageIds: number[] = [];
  readonly ptePageIds: number[] = [];
  /** The task's socket (sock-mem.ts): pages of socket memory it holds, and the memcg they are charged to (null: unaccounted). */
  sockPages = 0;
  sockMemcg: Cgroup | null = null;

  constructor(
    readonly pid: number,
    public cgroup: Cgroup,
    readonly cpu: number,
    readonly oomScoreAdj: number,
  ) {}

  addAnon(cg: Cgroup, pages: number): void {
    this.anon.set(cg, (this.anon.get(cg) ?? 0) + pages);
    this.anonPages += pages;
  }
}

import { CHARGE_OK, newOutcome, tryChargeMemcg, uncharge } from "./charge.js";
import { modStat, STAT_ANON_PAGES, STAT_FILE_PAGES } from "./cgroup.js";
import { lookupCgroup, maybeRelease } from "./cgroup-tree.js";
import type * as C from "./commands.js";
import { assert, fail } from "./errors.js";
import { GFP_DIRECT_RECLAIM } from "./gfp.js";
import type { ChargeCtx } from "./kernel.js";
import { PAGE_SIZE as PAGE } from "./page.js";
import type { Sim } from "./sim.js";
import { releaseSocketPages } from "./sock-mem.js";
import { PID_INDEX_LIMIT, Task } from "./tasks.js";

// The task verbs: fork into a cgroup (`copy_process` → `cgroup_post_fork`), attach to another
// (`cgroup_migrate` with memcg's `mem_cgroup_can_attach` / `mem_cgroup_move_charge`), exit and
// the OOM kill (`do_exit` → the task's anon pages freed). The pid table is `sim.pids`
// (kernel.ts PidTable). Freeing pages is an up-call (`sim.ops.releaseUserPages`, page-alloc.ts),
// since the page allocator's verbs look tasks up here.

/**
 * A new task in the cgroup at `cmd.cgroup`. With `cmd.fork` it is forked there (copy_process): its
 * kernel stack is allocated and charged first (KernelPages.forkStack), then the pgd of its new mm
 * (copy_mm → dup_mm → mm_init → mm_alloc_pgd → pgd_alloc: `4096 << Era.pgdOrder` bytes, charged
 * where the era charges page tables); a failed charge fails the fork with ENOMEM and no task
 * (copy_process unwinds: the stack is freed). The child's mm maps nothing yet: its pud, pmd and
 * pte pages come with its anon pages (page-alloc.ts). Without `fork` the task is placed there,
 * charging nothing; its mm and page tables exist outside the simulation.
 */
export function spawnTask(sim: Sim, cmd: C.SpawnTaskCmd): Task {
  const cg = lookupCgroup(sim, cmd.cgroup);
  if (cmd.pid !== undefined && sim.tasks.has(cmd.pid))
    fail("TASK_EXISTS", `task ${cmd.pid} already exists`, { pid: cmd.pid });
  if (cmd.cpu !== undefined && (cmd.cpu < 0 || cmd.cpu >= sim.config.cpuCount))
    fail("INVALID_ARGUMENT", `cpu ${cmd.cpu} out of range [0, ${sim.config.cpuCount - 1}]`, {
      issues: [{ path: "cpu", message: "out of range" }],
    });
  const limits = sim.limits;
  if (sim.tasks.size >= limits.maxTasks)
    fail("LIMIT_EXCEEDED", `task limit ${limits.maxTasks} reached`, {
      limit: "maxTasks",
      value: limits.maxTasks,
    });
  const pids = sim.pids;
  let pid = cmd.pid;
  if (pid === undefined) {
    while (sim.tasks.has(pids.nextPid)) pids.nextPid++;
    pid = pids.nextPid++;
  }
  const cpu = cmd.cpu ?? pid % sim.config.cpuCount;
  let stackPageId = 0;
  if (cmd.fork === true) {
    const r = sim.kernelPages.forkStack(cg, cpu);
    if (r.pageId === null)
      fail("ENOMEM", `cannot charge the kernel stack of a task forked in ${cg.path}`, {
        cgroup: cg.path,
        failedAt: r.failedAt,
        oomKilledPids: r.oomKilledPids,
      });
    stackPageId = r.pageId;
  }
  let pgdPageId = 0;
  if (cmd.fork === true) {
    const r = sim.kernelPages.pageTable(cg, null, cpu, sim.era.pgdOrder);
    if (r.pageId === null) {
      sim.kernelPages.freePages(stackPageId, cpu);
      fail("ENOMEM", `cannot charge the page tables of a task forked in ${cg.path}`, {
        cgroup: cg.path,
        failedAt: r.failedAt,
        oomKilledPids: r.oomKilledPids,
      });
    }
    pgdPageId = r.pageId;
  }
  const t = new Task(pid, cg, cpu, cmd.oomScoreAdj ?? 0);
  t.stackPageId = stackPageId;
  t.pgdPageId = pgdPageId;
  sim.tasks.set(pid, t);
  if (pid < PID_INDEX_LIMIT) pids.index[pid] = t;
  cg.tasks.add(pid);
  return t;
}

/** The live task `pid`, or undefined. */
export function taskAt(sim: Sim, pid: number): Task | undefined {
  return pid >= 0 && pid < PID_INDEX_LIMIT ? sim.pids.index[pid] : sim.tasks.get(pid);
}

/** The live task `pid`, TASK_NOT_FOUND otherwise. */
export function liveTask(sim: Sim, pid: number): Task {
  const t = taskAt(sim, pid);
  if (t === undefined) fail("TASK_NOT_FOUND", `task ${pid} not found`, { pid });
  return t;
}

/**
 * Attaches a task to another cgroup. Charges stay where they are (docs/DOMAIN.md §8) except in v1 with
 * the destination's `move_charge_at_immigrate`: bit 0 moves the task's anon pages charged to the
 * source, bit 1 its file pages; the destination is precharged (with reclaim) and a failed
 * precharge fails the move with ENOMEM, as `mem_cgroup_can_attach`.
 */
export function moveTask(sim: Sim, pid: number, path: string): Task {
  const t = liveTask(sim, pid);
  const dst = lookupCgroup(sim, path);
  const src = t.cgroup;
  if (dst === src) return t;
  const bits = sim.config.cgroupVersion === 1 ? dst.moveChargeAtImmigrate : 0;
  const anon = bits & 1 ? (t.anon.get(src) ?? 0) : 0;
  const file = bits & 2 ? Math.min(t.fileMapped.get(src) ?? 0, src.statLocal[STAT_FILE_PAGES]) : 0;
  const n = anon + file;
  if (n > 0 && !dst.isRoot) {
    const ctx: ChargeCtx = {
      task: null,
      cpu: t.cpu,
      gfp: GFP_DIRECT_RECLAIM | (1 << 3) /* NORETRY: precharge does not OOM */,
      out: newOutcome(),
    };
    if (tryChargeMemcg(sim, dst, n, ctx) !== CHARGE_OK)
      fail("ENOMEM", `cannot precharge ${n * PAGE} bytes to ${dst.path} to move task ${pid}`, {
        pid,
        cgroup: dst.path,
      });
  }
  if (n > 0) {
    uncharge(src, n);
    if (anon > 0) {
      t.anon.delete(src);
      t.anon.set(dst, (t.anon.get(dst) ?? 0) + anon);
      modStat(src, STAT_ANON_PAGES, -anon);
      modStat(dst, STAT_ANON_PAGES, anon);
    }
    if (file > 0) {
      t.fileMapped.set(src, (t.fileMapped.get(src) ?? 0) - file);
      t.fileMapped.set(dst, (t.fileMapped.get(dst) ?? 0) + file);
      modStat(src, STAT_FILE_PAGES, -file);
      modStat(dst, STAT_FILE_PAGES, file);
    }
  }
  src.tasks.delete(pid);
  dst.tasks.add(pid);
  t.cgroup = dst;
  maybeRelease(sim, src);
  return t;
}

/** exit(2) of task `pid`. */
export function exitTask(sim: Sim, pid: number): void {
  killTask(sim, liveTask(sim, pid));
}

/** The task leaves (`do_exit`, or the OOM killer's victim): its anon pages are freed and uncharged wherever they were charged. */
export function killTask(sim: Sim, t: Task): void {
  assert(sim.tasks.get(t.pid) === t, "killing a task that is not live");
  for (const [cg, n] of t.anon) {
    modStat(cg, STAT_ANON_PAGES, -n);
    sim.usedPages -= n;
    assert(sim.usedPages >= 0, "page allocator: more pages freed than allocated");
    sim.ops.releaseUserPages(cg, n);
  }
  t.anon.clear();
  t.anonPages = 0;
  // the stack of a task forked here goes back when the task is reaped (kernel/fork.c:free_task →
  // release_task_stack → account_kernel_stack(tsk, -1); 5.18+ do_exit → exit_task_stack_account):
  // the simulator has no zombies, so exit and reap are one step. The pages uncharge where they are
  // charged now (a dying cgroup, or the parent its objcg moved to).
  if (t.stackPageId > 0) {
    sim.kernelPages.freePages(t.stackPageId, t.cpu);
    t.stackPageId = 0;
  }
  // its mm goes with it (exit_mmap → free_pgtables, then mmdrop → pgd_free): every page-table
  // page uncharges where it was charged
  if (t.pgdPageId > 0) {
    for (const ids of [t.ptePageIds, t.pmdPageIds, t.pudPageIds])
      while (ids.length > 0) sim.kernelPages.freePages(ids.pop()!, t.cpu);
    sim.kernelPages.freePages(t.pgdPageId, t.cpu);
    t.pgdPageId = 0;
  }
  // its sockets close: their memory is given back (sk_mem_reclaim → the era's uncharge)
  if (t.sockPages > 0) releaseSocketPages(sim, t, t.sockPages, t.cpu);
  t.cgroup.tasks.delete(t.pid);
  sim.tasks.delete(t.pid);
  if (t.pid < PID_INDEX_LIMIT) sim.pids.index[t.pid] = undefined;
  sim.slab.taskExited(t.pid);
}

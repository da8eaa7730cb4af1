import {
  CHARGE_BYPASS,
  CHARGE_OK,
  handleOverHigh,
  newOutcome,
  runPendingHighWork,
  tryChargeMemcg,
  uncharge,
} from "./charge.js";
import {
  type Cgroup,
  modStat,
  STAT_ANON_PAGES,
  STAT_FILE_PAGES,
  STAT_PGPGIN,
  STAT_PGPGOUT,
} from "./cgroup.js";
import { lookupCgroup, maybeRelease } from "./cgroup-tree.js";
import type * as C from "./commands.js";
import { assert, fail } from "./errors.js";
import { GFP_DIRECT_RECLAIM, parseGfp } from "./gfp.js";
import type { ChargeCtx } from "./kernel.js";
import { outOfMemory } from "./oom.js";
import { PAGE_SIZE as PAGE } from "./page.js";
import { tryToFreeMemcgPages } from "./reclaim.js";
import type { Sim } from "./sim.js";
import { liveTask, taskAt } from "./task-lifecycle.js";
import type { Task } from "./tasks.js";

// The page allocator and user (LRU) pages: `__alloc_pages` against `memoryBytes` (mm/page_alloc.c:
// the slow path's direct reclaim, then `out_of_memory`), user page faults charged to the task's
// cgroup (`mem_cgroup_charge`, mm/memcontrol.c) and their frees (`mem_cgroup_uncharge`).

/** Entries of one x86_64 page-table page (PTRS_PER_PTE = PTRS_PER_PMD = PTRS_PER_PUD = 512). */
export const PTRS_PER_TABLE = 512;

/**
 * The page-table pages that map `n` anon pages of one contiguous anonymous region (the heap the
 * simulated task grows; 4-level paging, no THP): ⌈n / 512⌉ pte pages, ⌈pte / 512⌉ pmd pages,
 * ⌈pmd / 512⌉ pud pages. The pgd is the mm's own (allocated at fork).
 */
export function pageTablesFor(n: number): { pud: number; pmd: number; pte: number } {
  const pte = Math.ceil(n / PTRS_PER_TABLE);
  const pmd = Math.ceil(pte / PTRS_PER_TABLE);
  return { pud: Math.ceil(pmd / PTRS_PER_TABLE), pmd, pte };
}

/**
 * Before task `t` faults in its anon page number `n`: the pud, pmd and pte pages that map it
 * (mm/memory.c:__handle_mm_fault → __pud_alloc, __pmd_alloc; do_anonymous_page → pte_alloc →
 * __pte_alloc → pte_alloc_one), in the task's cgroup, charged where the era charges page tables.
 * Only for a task whose mm the simulation made (forked: `pgdPageId`). A failure fails the fault:
 * its error, with the OOM kills and reclaim folded into `ctx.out`.
 */
function growPageTables(
  sim: Sim,
  t: Task,
  n: number,
  ctx: ChargeCtx,
  charged: { pages: number },
): C.AllocResult["error"] {
  const need = pageTablesFor(n);
  const levels: [number[], number][] = [
    [t.pudPageIds, need.pud],
    [t.pmdPageIds, need.pmd],
    [t.ptePageIds, need.pte],
  ];
  for (const [ids, want] of levels)
    while (ids.length < want) {
      const r = sim.kernelPages.pageTable(t.cgroup, t, t.cpu, 0);
      ctx.out.oomKilledPids.push(...r.oomKilledPids);
      ctx.out.reclaimedPages += r.reclaimedBytes / PAGE;
      ctx.out.throttleMs += r.throttleMs;
      if (r.pageId === null) {
        if (r.error === "OOM_KILLED") ctx.out.selfKilled = true;
        if (r.failedAt !== null) ctx.out.failedAt = lookupCgroup(sim, r.failedAt, true);
        return r.error === "OOM_KILLED" ? "OOM_KILLED" : "ENOMEM";
      }
      if (sim.tasks.get(t.pid) !== t) {
        // the OOM killer took the faulting task during this page's (forced) charge: its mm is
        // gone (exit_mmap), so the page goes with it and the fault fails
        ctx.out.selfKilled = true;
        sim.kernelPages.freePages(r.pageId, t.cpu);
        return "OOM_KILLED";
      }
      ids.push(r.pageId);
      charged.pages += r.chargedBytes / PAGE;
    }
  return null;
}

/**
 * After task `t`'s anon pages went down: the page-table pages that map nothing any more are freed
 * (an munmap of the region's top: mm/mmap.c unmap_region → free_pgtables), newest first.
 */
function shrinkPageTables(sim: Sim, t: Task): void {
  if (t.pgdPageId === 0) return;
  const need = pageTablesFor(t.anonPages);
  const levels: [number[], number][] = [
    [t.ptePageIds, need.pte],
    [t.pmdPageIds, need.pmd],
    [t.pudPageIds, need.pud],
  ];
  for (const [ids, want] of levels) while (ids.length > want) sim.kernelPages.freePages(ids.pop()!, t.cpu);
}

/** Pages spanning `bytes`. */
export function pages(bytes: number): number {
  return Math.ceil(bytes / PAGE);
}

/** Uncharges `n` user (LRU) pages from `cg`, which may release it if dying. */
export function releaseUserPages(sim: Sim, cg: Cgroup, n: number): void {
  assert(n >= 0, "uncharging a negative number of user pages");
  uncharge(cg, n);
  modStat(cg, STAT_PGPGOUT, n);
  maybeRelease(sim, cg);
}

/**
 * The page allocator against `memoryBytes` (global pressure): when free memory is short, global
 * reclaim (every shrinker), then the global OOM killer. Returns false when nothing helps.
 */
export function allocPhysPages(sim: Sim, n: number, ctx: ChargeCtx): boolean {
  for (let attempt = 0; attempt < 16; attempt++) {
    if (sim.totalPages - sim.usedPages >= n) {
      sim.usedPages += n;
      return true;
    }
    if (!(ctx.gfp & GFP_DIRECT_RECLAIM)) return false;
    if (tryToFreeMemcgPages(sim, sim.root, n - (sim.totalPages - sim.usedPages), ctx.out) > 0) continue;
    if (sim.totalPages - sim.usedPages >= n) continue;
    if (ctx.out.selfKilled || !outOfMemory(sim, sim.root, ctx) || ctx.out.selfKilled) return false;
  }
  return false;
}

export function allocPages(sim: Sim, cmd: C.AllocPagesCmd): C.AllocResult {
  const t = liveTask(sim, cmd.pid);
  const gfp = parseGfp(cmd.gfp);
  checkBytes(sim, cmd.bytes);
  const n = pages(cmd.bytes);
  const out = newOutcome();
  const ctx: ChargeCtx = { task: t, cpu: t.cpu, gfp, out };
  let done = 0;
  let error: C.AllocResult["error"] = null;
  let charged = 0;
  // the page-table pages the faults charged (the era's pageTablesAccounted), part of chargedBytes
  const tables = { pages: 0 };
  for (; done < n; done++) {
    if (cmd.kind === "anon" && t.pgdPageId > 0) {
      const e = growPageTables(sim, t, t.anonPages + 1, ctx, tables);
      if (e !== null) {
        error = e;
        break;
      }
    }
    const cg = t.cgroup;
    if (!allocPhysPages(sim, 1, ctx)) {
      error = out.selfKilled ? "OOM_KILLED" : "ENOMEM";
      break;
    }
    const r = tryChargeMemcg(sim, cg, 1, ctx);
    if (r === CHARGE_OK && (out.selfKilled || sim.tasks.get(t.pid) !== t)) {
      // the task was OOM-killed during this page's charge, which 4.x–5.15 force through: it exits
      // (its pages freed, uncharged) and faults nothing more — this page goes back as well
      sim.usedPages--;
      uncharge(cg, 1);
      error = "OOM_KILLED";
      break;
    }
    if (r === CHARGE_OK && !cg.isRoot) charged++;
    if (r !== CHARGE_OK && r !== CHARGE_BYPASS) {
      sim.usedPages--;
      assert(sim.usedPages >= 0, "page allocator: more pages freed than allocated");
      error = out.selfKilled ? "OOM_KILLED" : "ENOMEM";
      sim.chargeFailures.memory++;
      sim.events.emit(sim.clockMs, "charge_failed", {
        cgroup: cg.path,
        pid: t.pid,
        failedAt: out.failedAt?.path ?? cg.path,
        reason: "memory",
      });
      break;
    }
    // a bypassed charge (3.x NOFAIL) lands on the root, uncharged
    const owner = r === CHARGE_BYPASS ? sim.root : cg;
    if (r === CHARGE_BYPASS) charged += 0;
    else if (!cg.isRoot) modStat(owner, STAT_PGPGIN, 1);
    if (cmd.kind === "anon") {
      t.addAnon(owner, 1);
      modStat(owner, STAT_ANON_PAGES, 1);
    } else {
      t.fileMapped.set(owner, (t.fileMapped.get(owner) ?? 0) + 1);
      modStat(owner, STAT_FILE_PAGES, 1);
    }
  }
  if (taskAt(sim, t.pid) === t) handleOverHigh(sim, t, out);
  runPendingHighWork(sim, out);
  return {
    allocatedBytes: done * PAGE,
    failedBytes: (n - done) * PAGE,
    error,
    failedAt: error === "ENOMEM" && out.failedAt !== null ? out.failedAt.path : null,
    chargedBytes: (charged + tables.pages) * PAGE,
    reclaimedBytes: out.reclaimedPages * PAGE,
    oomKilledPids: out.oomKilledPids,
    throttleMs: out.throttleMs,
  };
}

export function checkBytes(sim: Sim, bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > sim.config.memoryBytes)
    fail("INVALID_ARGUMENT", `bytes must be an integer in [1, ${sim.config.memoryBytes}]`, {
      issues: [{ path: "bytes", message: "out of range" }],
    });
}

export function freePages(sim: Sim, cmd: C.FreePagesCmd): C.FreeResult {
  checkBytes(sim, cmd.bytes);
  const n = pages(cmd.bytes);
  let freed = 0;
  let unchargedPages = 0;
  if (cmd.kind === "anon") {
    if (cmd.pid === undefined) fail("INVALID_ARGUMENT", "freeing anon pages needs a pid");
    const t = liveTask(sim, cmd.pid);
    // the task's pages in its current cgroup first, then the others in the order they were charged
    const order = [...t.anon.keys()].sort((a, b) => (a === t.cgroup ? -1 : b === t.cgroup ? 1 : 0));
    for (const cg of order) {
      if (freed === n) break;
      const have = t.anon.get(cg)!;
      const k = Math.min(have, n - freed);
      if (k === have) t.anon.delete(cg);
      else t.anon.set(cg, have - k);
      t.anonPages -= k;
      modStat(cg, STAT_ANON_PAGES, -k);
      sim.usedPages -= k;
      if (!cg.isRoot) unchargedPages += k;
      releaseUserPages(sim, cg, k);
      freed += k;
    }
    shrinkPageTables(sim, t);
  } else {
    if (cmd.cgroup === undefined) fail("INVALID_ARGUMENT", "freeing file pages needs a cgroup");
    const cg = lookupCgroup(sim, cmd.cgroup, true);
    const k = Math.min(cg.statLocal[STAT_FILE_PAGES], n);
    modStat(cg, STAT_FILE_PAGES, -k);
    sim.usedPages -= k;
    if (!cg.isRoot) unchargedPages += k;
    releaseUserPages(sim, cg, k);
    freed = k;
  }
  assert(sim.usedPages >= 0, "page allocator: more pages freed than allocated");
  return {
    freedBytes: freed * PAGE,
    missingCount: n - freed,
    unchargedBytes: unchargedPages * PAGE,
    freedSlabCount: 0,
  };
}

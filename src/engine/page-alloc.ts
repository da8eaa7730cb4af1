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

// The page allocator and user (LRU) pages: `__alloc_pages` against `memoryBytes` (mm/page_alloc.c:
// the slow path's direct reclaim, then `out_of_memory`), user page faults charged to the task's
// cgroup (`mem_cgroup_charge`, mm/memcontrol.c) and their frees (`mem_cgroup_uncharge`).

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
  for (; done < n; done++) {
    const cg = t.cgroup;
    if (!allocPhysPages(sim, 1, ctx)) {
      error = out.selfKilled ? "OOM_KILLED" : "ENOMEM";
      break;
    }
    const r = tryChargeMemcg(sim, cg, 1, ctx);
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
    chargedBytes: charged * PAGE,
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

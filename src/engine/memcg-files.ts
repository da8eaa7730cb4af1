import { lookupCgroup } from "./cgroup-tree.js";
import { readCgroupFile, writeCgroupFile } from "./cgroupfs/files.js";
import type * as C from "./commands.js";
import { fail } from "./errors.js";
import { parseGfp } from "./gfp.js";
import { completeMemcgFrees } from "./memcg-alloc.js";
import { PAGE_SIZE as PAGE } from "./page.js";
import { checkBytes, pages } from "./page-alloc.js";
import { memoryReclaim, newReclaimStats } from "./reclaim.js";
import type { Sim } from "./sim.js";

// The cgroup interface files as commands: `memory.reclaim` (mm/memcontrol.c memory_reclaim),
// a write or read of any other file (cgroupfs/files.ts: the era's file tables), and the clock
// (jiffies: RCU grace periods end, the model's delayed work runs).

export function reclaim(sim: Sim, cmd: C.ReclaimCmd): C.ReclaimResult {
  const cg = lookupCgroup(sim, cmd.cgroup, true);
  checkBytes(sim, cmd.bytes);
  if (cmd.gfp !== undefined) parseGfp(cmd.gfp);
  const stats = newReclaimStats();
  const r = memoryReclaim(sim, cg, pages(cmd.bytes), stats);
  return reclaimResult(r.reclaimed, r.eagain, stats);
}

export function reclaimResult(
  reclaimed: number,
  eagain: boolean,
  stats: ReturnType<typeof newReclaimStats>,
): C.ReclaimResult {
  return {
    reclaimedBytes: reclaimed * PAGE,
    fileReclaimedBytes: stats.filePages * PAGE,
    slabReclaimedBytes: stats.slabPages * PAGE,
    scannedObjectCount: stats.scannedObjects,
    freedObjectCount: stats.freedObjects,
    freedSlabCount: stats.freedSlabs,
    error: eagain ? "EAGAIN" : null,
  };
}

export function writeFile(sim: Sim, path: string, file: string, value: string): void {
  const cg = lookupCgroup(sim, path);
  writeCgroupFile(sim, cg, file, value, true);
  writeCgroupFile(sim, cg, file, value, false);
}

export function readFile(sim: Sim, path: string, file: string): string {
  return readCgroupFile(sim, lookupCgroup(sim, path, true), file);
}

export function advanceClock(sim: Sim, ms: number): { clockMs: number } {
  if (!Number.isSafeInteger(ms) || ms < 0)
    fail("INVALID_ARGUMENT", "ms must be an integer ≥ 0", {
      issues: [{ path: "ms", message: "must be ≥ 0" }],
    });
  sim.clockMs += ms;
  sim.slab.completeRcuFrees(sim.clockMs);
  completeMemcgFrees(sim);
  sim.model.onClock(sim.slab);
  return { clockMs: sim.clockMs };
}

import type { ChargeCtx } from "./kernel.js";
import { type Cgroup, EV_OOM, EV_OOM_GROUP_KILL, EV_OOM_KILL, raiseEvent } from "./cgroup.js";
import type { Sim } from "./sim.js";
import { subtree } from "./reclaim.js";
import type { Task } from "./tasks.js";

/**
 * Victim choice of `oom_badness`/`select_bad_process` over the tasks of `domain`'s subtree: points
 * = anon pages + the page-table pages the era counts (`Era.oomBadnessTableLevels`: pte, pmd, pud
 * pages of a task forked in the simulation; a placed task has none simulated) + oomScoreAdj ×
 * (totalPages / 1000); oomScoreAdj −1000 is never chosen; ties go to the highest pid. Returns null
 * when no task can be killed.
 */
export function selectVictim(sim: Sim, domain: Cgroup): Task | null {
  const totalPages =
    domain.isRoot || domain.memory.max === Number.POSITIVE_INFINITY
      ? sim.totalPages
      : Math.max(domain.memory.max, 1);
  const unit = Math.floor(totalPages / 1000);
  const levels = sim.era.oomBadnessTableLevels;
  let best: Task | null = null;
  let bestPoints = Number.NEGATIVE_INFINITY;
  for (const cg of subtree(domain)) {
    for (const pid of cg.tasks) {
      const t = sim.tasks.get(pid)!;
      if (t.oomScoreAdj === -1000) continue;
      let points = t.anonPages + t.oomScoreAdj * unit;
      if (t.pgdPageId !== 0) {
        points += t.ptePageIds.length;
        if (levels >= 2) points += t.pmdPageIds.length;
        if (levels >= 3) points += t.pudPageIds.length;
      }
      if (points > bestPoints || (points === bestPoints && best !== null && t.pid > best.pid)) {
        best = t;
        bestPoints = points;
      }
    }
  }
  return best;
}

/**
 * `mem_cgroup_out_of_memory` (domain = the cgroup over its limit) or the global OOM killer
 * (domain = root). Raises `oom` on a memcg domain, picks a victim, kills it — or, with
 * `memory.oom.group` set on an ancestor of the victim within the domain, the whole group — and
 * raises `oom_kill` on each victim's cgroup and `oom_group_kill` on the group. v1
 * `oom_kill_disable` on the domain suppresses the kill. Returns true if anything was killed.
 */
export function outOfMemory(sim: Sim, domain: Cgroup, ctx: ChargeCtx | null): boolean {
  if (!domain.isRoot) {
    if (sim.modern) raiseEvent(domain, EV_OOM);
    sim.events.emit(sim.clockMs, "oom", { cgroup: domain.path });
    if (domain.oomKillDisable) return false;
  }
  const victim = selectVictim(sim, domain);
  if (victim === null) return false;
  // mem_cgroup_get_oom_group: the highest ancestor of the victim, up to the domain, with oom.group
  let group: Cgroup | null = null;
  for (let c: Cgroup | null = victim.cgroup; c !== null; c = c.parent) {
    if (c.oomGroup && !c.isRoot) group = c;
    if (c === domain) break;
  }
  const victims: Task[] = [victim];
  if (group !== null) {
    for (const cg of subtree(group))
      for (const pid of cg.tasks) {
        const t = sim.tasks.get(pid)!;
        if (t !== victim && t.oomScoreAdj !== -1000) victims.push(t);
      }
    if (sim.modern) raiseEvent(group, EV_OOM_GROUP_KILL);
  }
  for (const t of victims) {
    if (sim.modern) raiseEvent(t.cgroup, EV_OOM_KILL);
    sim.oomKillCount++;
    sim.events.emit(sim.clockMs, "oom_kill", { cgroup: t.cgroup.path, pid: t.pid, domain: domain.path });
    if (ctx !== null) {
      ctx.out.oomKilledPids.push(t.pid);
      if (t === ctx.task) ctx.out.selfKilled = true;
    }
    sim.killTask(t);
  }
  return true;
}

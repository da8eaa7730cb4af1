import { type Cgroup, EV_HIGH, EV_MAX, EV_OOM, ROW_HIGH, ROW_MEMORY, raiseEvent } from "./cgroup.js";
import {
  GFP_ATOMIC_CONTEXT,
  GFP_DIRECT_RECLAIM,
  GFP_HIGH,
  GFP_NOFAIL,
  GFP_NORETRY,
  GFP_RETRY_MAYFAIL,
} from "./gfp.js";
import type { Sim } from "./sim.js";
import type { AllocOutcome, ChargeCtx } from "./kernel.js";
import { outOfMemory } from "./oom.js";
import { chargeAt, marginAt, tryChargeAt, unchargeAt } from "./page-counter.js";
import { tryToFreeMemcgPages } from "./reclaim.js";
import type { Task } from "./tasks.js";

export type { AllocOutcome, ChargeCtx } from "./kernel.js";

export function newOutcome(): AllocOutcome {
  return { reclaimedPages: 0, oomKilledPids: [], selfKilled: false, throttleMs: 0, failedAt: null };
}

export const CHARGE_OK = 0;
export const CHARGE_ENOMEM = 1;
/** Old eras (docs/DOMAIN.md §4.3): a NOFAIL charge that failed is bypassed to the root, i.e. not charged. */
export const CHARGE_BYPASS = 2;

/** `1 << PAGE_ALLOC_COSTLY_ORDER`: small charges keep retrying while reclaim makes progress. */
const COSTLY_PAGES = 8;

/**
 * Charges `nrPages` to `memcg.memory` the way the kernel's try-charge path does for the
 * instance's era: modern `try_charge` / `try_charge_memcg` (docs/DOMAIN.md §4.1) for v4.5 and
 * later, 3.x `mem_cgroup_do_charge` (§4.3) for rfc-2012/v3.8. Reclaims the failing level's
 * subtree, raises `max`/`oom` events where the kernel does (modern eras only), invokes the memcg
 * OOM killer, and forces the charge for `__GFP_NOFAIL` (and GFP_ATOMIC where the era does). The
 * era's rules (models/era.ts) decide where the OOM runs, what a dying charger gets, and how atomic
 * charges and memory.high are handled. `kmem`: the charge is a kernel-memory charge from a
 * syscall (the models' page charges), not a user page from a fault. The root is never charged.
 * Returns CHARGE_OK, CHARGE_ENOMEM (ctx.out.failedAt says where) or CHARGE_BYPASS.
 */
export function tryChargeMemcg(
  sim: Sim,
  memcg: Cgroup,
  nrPages: number,
  ctx: ChargeCtx,
  kmem = false,
): number {
  if (memcg.isRoot) return CHARGE_OK;
  const era = sim.era;
  const modern = sim.modern;
  const gfp = ctx.gfp;
  const stockBatch = sim.config.chargeBatchPages;
  // 4.x–5.15 force (and 3.x bypass) the charge of a task the OOM killer chose during it; the
  // simulator lets that one charge through and stops the task's command at its next charge (the
  // task is gone: its later allocations are not made)
  if (kmem && ctx.out.selfKilled && era.oomVictimCharge !== "fail") return CHARGE_ENOMEM;
  let batch = stockBatch > 1 ? Math.max(stockBatch, nrPages) : nrPages;
  let retries = sim.config.maxReclaimRetries;
  let drained = false;
  let passedOom = false;
  let raisedMax = false;
  let memOverLimit: Cgroup | null = null;
  let force = false;

  for (let guard = 0; guard < 100_000; guard++) {
    // The task the OOM killer chose, retrying (passed_oom): where the kernel's retry succeeds
    // (the victim's memory came back), the page is charged to a dying task and uncharged again
    // when it exits. The simulator has already let the task go, so it skips that round trip —
    // same counters afterwards — and fails the charge, as the kernel's next charge from it would.
    if (
      passedOom &&
      ctx.out.selfKilled &&
      (marginAt(memcg, ROW_MEMORY) >= batch || (stockBatch > 1 && stockHolds(sim, memcg, nrPages, ctx.cpu)))
    )
      return CHARGE_ENOMEM;
    if (stockBatch > 1 && consumeStock(sim, memcg, nrPages, ctx.cpu)) return CHARGE_OK;
    // with a v1 memsw limit set, try_charge_memcg charges memsw first: a level over its memsw
    // limit fails the charge there (memsw failcnt) before the memory counter is tried
    const failed =
      (sim.memswLimitSet ? memswOverLimit(memcg, batch) : null) ?? tryChargeAt(memcg, ROW_MEMORY, batch);
    if (failed === null) {
      if (batch > nrPages) refillStock(sim, memcg, batch - nrPages, ctx.cpu);
      if (modern && sim.highLimitSet && sim.config.cgroupVersion === 2) noteOverHigh(sim, memcg, batch, ctx);
      return CHARGE_OK;
    }
    if (batch > nrPages) {
      // a failed batch retried at its real size: this alone can bump failcnt (docs/DOMAIN.md §4.1 step 2)
      batch = nrPages;
      continue;
    }
    memOverLimit = failed;
    ctx.out.failedAt = memOverLimit;
    // 5.x up to 5.17 try_charge: "Memcg doesn't have a dedicated reserve for atomic allocations
    // [...] let these go through as privileged allocations": `if (gfp_mask & __GFP_ATOMIC) goto
    // force`, before any reclaim and without a MEMCG_MAX event (mm/memcontrol.c, 5.9/5.10)
    if (era.atomicCharge === "force-silent" && gfp & GFP_ATOMIC_CONTEXT) {
      force = true;
      break;
    }
    // the kmem charge of a task the OOM killer chose on an earlier pass of this charge: 4.x–5.15
    // `should_force_charge()` (tsk_is_oom_victim) → force; 3.x CHARGE_OOM_DIE → bypass (-EINTR)
    if (kmem && ctx.out.selfKilled && era.oomVictimCharge !== "fail") {
      if (era.oomVictimCharge === "bypass") return CHARGE_BYPASS;
      force = true;
      break;
    }
    if (!(gfp & GFP_DIRECT_RECLAIM)) break;
    if (!modern && gfp & GFP_NORETRY) break;
    if (modern) {
      raiseEvent(memOverLimit, EV_MAX);
      raisedMax = true;
    }
    const reclaimed = tryToFreeMemcgPages(sim, memOverLimit, nrPages, ctx.out);
    // 3.x mem_cgroup_reclaim: a pass that left no margin reclaims once more after
    // drain_all_stock_async(memcg) (`if (loop) drain_all_stock_async(memcg)`), in every call
    if (!modern && marginAt(memOverLimit, ROW_MEMORY) < nrPages) drainAllStock(sim, memOverLimit);
    if (marginAt(memOverLimit, ROW_MEMORY) >= nrPages) continue;
    if (modern && !drained) {
      drainAllStock(sim, memOverLimit);
      drained = true;
      continue;
    }
    if (modern && gfp & GFP_NORETRY) break;
    if (reclaimed > 0 && nrPages <= COSTLY_PAGES) continue;
    // 3.x (`mem_cgroup_try_charge`, 3.16): __GFP_NOFAIL sets oom = false, so the first CHARGE_NOMEM
    // goes to nomem and bypasses — one reclaim pass, one failcnt.
    if (!modern && gfp & GFP_NOFAIL) break;
    // Both eras burn one retry per fruitless pass and invoke the OOM killer on the pass after the
    // last one: 6.x `if (nr_retries--) goto retry` (16 → 17 passes), 3.x `invoke_oom = oom &&
    // !nr_oom_retries` (5 → the OOM runs on the 6th res_counter failure).
    if (retries-- > 0) continue;
    if (gfp & GFP_RETRY_MAYFAIL) break;
    // 4.x–5.17: `if (gfp_mask & __GFP_NOFAIL) goto force;` before the OOM killer
    if (era.nofailForcesBeforeOom && gfp & GFP_NOFAIL) break;
    if (kmem && era.memcgOom === "deferred") {
      // 3.12–4.18 try_charge: mem_cgroup_events(MEMCG_OOM), then mem_cgroup_oom() returns at once
      // (`if (!current->memcg_may_oom) return;`: not a page fault) and the charge fails with ENOMEM
      raiseEvent(memOverLimit, EV_OOM);
      sim.events.emit(sim.clockMs, "oom", { cgroup: memOverLimit.path });
      break;
    }
    if (sim.era.oomPassedRetry) {
      // 5.16+ try_charge_memcg: after the OOM killer made progress the charge is retried with
      // MAX_RECLAIM_RETRIES fresh retries; a task the killer chose (or one already dying: the
      // killer returns at once for it, task_will_free_mem) then fails it: `if (passed_oom &&
      // task_is_dying()) goto nomem` (commit a4ebf1b6ca1e, 5.16). Every retry is one more failed
      // page_counter_try_charge: the recorded oom-2m kill's failcnt 36 is 1 + 1 + 1 + 16 + 1 + 16.
      if (passedOom && ctx.out.selfKilled) return CHARGE_ENOMEM;
      const progress = ctx.out.selfKilled || outOfMemory(sim, memOverLimit, ctx);
      if (progress) {
        passedOom = true;
        retries = sim.config.maxReclaimRetries;
        continue;
      }
      break;
    }
    if (ctx.out.selfKilled) return CHARGE_ENOMEM;
    const progress = outOfMemory(sim, memOverLimit, ctx);
    if (ctx.out.selfKilled) {
      // a user page: the kernel charges it to the dying task (4.x–5.15 force, 3.x bypass to the
      // root) and it goes when the task exits; the simulator has let the task go already, so it
      // fails the page instead (same counters afterwards). A kmem charge goes through (above).
      if (!kmem || era.oomVictimCharge === "fail") return CHARGE_ENOMEM;
      // 3.x mem_cgroup_handle_oom returns false for the killed task: CHARGE_OOM_DIE → bypass
      if (era.oomVictimCharge === "bypass") return CHARGE_BYPASS;
      continue;
    }
    if (progress) {
      retries = sim.config.maxReclaimRetries;
      continue;
    }
    // OOM_FAILED (no victim): 4.19–5.15 `case OOM_FAILED: goto force` (removed by a4ebf1b6ca1e, 5.16)
    if (era.oomFailedForces) force = true;
    break;
  }
  if (raisedMax && memOverLimit !== null) sim.events.emit(sim.clockMs, "max", { cgroup: memOverLimit.path });
  // nomem
  if (force || gfp & GFP_NOFAIL || (era.atomicCharge === "force" && gfp & GFP_HIGH)) {
    if (!modern) return CHARGE_BYPASS;
    // 6.x `force:` raises MEMCG_MAX if this charge has not (K6 try_charge_memcg); 4.x/5.x do not
    if (era.atomicCharge === "force" && !raisedMax && memOverLimit !== null) {
      raiseEvent(memOverLimit, EV_MAX);
      sim.events.emit(sim.clockMs, "max", { cgroup: memOverLimit.path });
    }
    chargeAt(memcg, ROW_MEMORY, nrPages);
    if (sim.highLimitSet && sim.config.cgroupVersion === 2) noteOverHigh(sim, memcg, nrPages, ctx);
    ctx.out.failedAt = null;
    return CHARGE_OK;
  }
  return CHARGE_ENOMEM;
}

/**
 * The memsw half of `page_counter_try_charge(&memcg->memsw, …)`: memsw usage is memory usage (no
 * swap is simulated), so the first level whose memsw limit `n` more pages would pass fails.
 */
function memswOverLimit(memcg: Cgroup, n: number): Cgroup | null {
  for (let c: Cgroup | null = memcg; c !== null; c = c.counterParent) {
    if (c.memory.usage + n > c.memswMaxPages) {
      c.memswFailcnt++;
      return c;
    }
  }
  return null;
}

/** Uncharges `nrPages` from `memcg.memory` at every level (pages leave the cgroup). */
export function uncharge(memcg: Cgroup, nrPages: number): void {
  if (memcg.isRoot || nrPages === 0) return;
  unchargeAt(memcg, ROW_MEMORY, nrPages);
}

// --- per-CPU charge stock (`memcg_stock`) ------------------------------------------------------
// `sim.pageStocks` holds `Era.nrMemcgStock` slots per CPU, CPU-major: one cached memcg per CPU up
// to 6.15, NR_MEMCG_STOCK = 7 from 6.16 (mm/memcontrol.c "memcg: multi-memcg percpu charge cache").

/** consume_stock's test without the taking: this CPU's stock holds `nrPages` for memcg. */
function stockHolds(sim: Sim, memcg: Cgroup, nrPages: number, cpu: number): boolean {
  const n = sim.nrMemcgStock;
  for (let i = cpu * n, end = i + n; i < end; i++) {
    const s = sim.pageStocks[i];
    if (s.memcg === memcg) return s.pages >= nrPages;
  }
  return false;
}

function consumeStock(sim: Sim, memcg: Cgroup, nrPages: number, cpu: number): boolean {
  const n = sim.nrMemcgStock;
  if (n === 1) {
    // 3.x: `if (nr_pages == 1 && consume_stock(memcg))`; 4.x+ consume_stock(memcg, nr_pages):
    // `if (nr_pages > MEMCG_CHARGE_BATCH) return ret;`
    if (nrPages > (sim.era.pageStockRule === "single-page" ? 1 : sim.config.chargeBatchPages)) return false;
    const s = sim.pageStocks[cpu];
    if (s.memcg === memcg && s.pages >= nrPages) {
      s.pages -= nrPages;
      memcg.stockPages -= nrPages;
      return true;
    }
    return false;
  }
  // 6.16+ consume_stock: the slot caching memcg, if it holds enough
  if (nrPages > sim.config.chargeBatchPages) return false;
  for (let i = cpu * n, end = i + n; i < end; i++) {
    const s = sim.pageStocks[i];
    if (s.memcg !== memcg) continue;
    if (s.pages < nrPages) return false;
    s.pages -= nrPages;
    memcg.stockPages -= nrPages;
    return true;
  }
  return false;
}

/**
 * `refill_stock`: pre-charged pages go to this CPU's stock. Up to 6.15 one memcg per CPU (a
 * different one drains it first; 4.x+ drain it above MEMCG_CHARGE_BATCH). 6.16+: the slot caching memcg takes them (drained once it holds
 * more than MEMCG_CHARGE_BATCH), else the first empty slot, else a random slot is drained and
 * reused (`get_random_u32_below(NR_MEMCG_STOCK)`: the simulation's seeded PRNG); more than a batch
 * at once is uncharged instead.
 */
export function refillStock(sim: Sim, memcg: Cgroup, nrPages: number, cpu: number): void {
  const n = sim.nrMemcgStock;
  if (n === 1) {
    const s = sim.pageStocks[cpu];
    if (s.memcg !== memcg) {
      drainStock(sim, cpu);
      s.memcg = memcg;
    }
    s.pages += nrPages;
    memcg.stockPages += nrPages;
    // 4.x+ refill_stock: `if (stock->nr_pages > MEMCG_CHARGE_BATCH) drain_stock(stock);` — reached
    // once uncharges refill the stock (5.9 __memcg_kmem_uncharge); 3.x refill_stock only adds
    if (sim.era.pageStockRule === "batch" && s.pages > sim.config.chargeBatchPages) drainSlot(sim, cpu);
    return;
  }
  const batch = sim.config.chargeBatchPages;
  if (nrPages > batch) {
    uncharge(memcg, nrPages);
    return;
  }
  const base = cpu * n;
  let empty = -1;
  for (let i = base; i < base + n; i++) {
    const s = sim.pageStocks[i];
    if (s.memcg === null && empty === -1) empty = i;
    if (s.memcg === memcg) {
      s.pages += nrPages;
      memcg.stockPages += nrPages;
      if (s.pages > batch) drainSlot(sim, i);
      return;
    }
  }
  if (empty === -1) {
    empty = base + sim.prng.below(n);
    drainSlot(sim, empty);
  }
  const s = sim.pageStocks[empty];
  s.memcg = memcg;
  s.pages = nrPages;
  memcg.stockPages += nrPages;
}

/** `drain_stock` of one slot: its pages are uncharged, the slot forgets its memcg. */
function drainSlot(sim: Sim, i: number): void {
  const s = sim.pageStocks[i];
  const m = s.memcg;
  const pages = s.pages;
  s.memcg = null;
  s.pages = 0;
  if (m !== null && pages > 0) {
    m.stockPages -= pages;
    unchargeAt(m, ROW_MEMORY, pages);
    // a removed cgroup whose last pin was this stock (a socket's uncharge refilled it after the
    // rmdir) is released now; the one being taken offline is released at the end of its offline
    if (m.state === "dying" && m !== sim.idr.offlining) sim.maybeRelease(m);
  }
}

/** Drains every slot of one CPU's stock (`drain_local_memcg_stock`). */
function drainStock(sim: Sim, cpu: number): void {
  const n = sim.nrMemcgStock;
  for (let i = cpu * n; i < cpu * n + n; i++) drainSlot(sim, i);
}

/**
 * As `drain_all_stock(root)`: every CPU whose stock caches a memcg in root's subtree is drained
 * (all its slots: 6.16+ drain_local_memcg_stock empties the whole per-CPU cache).
 */
export function drainAllStock(sim: Sim, root: Cgroup): void {
  const n = sim.nrMemcgStock;
  for (let cpu = 0; cpu < sim.config.cpuCount; cpu++) {
    for (let i = cpu * n; i < cpu * n + n; i++) {
      const m = sim.pageStocks[i].memcg;
      // 6.16+ is_memcg_drain_needed looks only at slots holding pages
      if (m !== null && (n === 1 || sim.pageStocks[i].pages > 0) && sim.isDescendant(m, root)) {
        drainStock(sim, cpu);
        break;
      }
    }
  }
}

// --- memory.high (docs/DOMAIN.md §4.1 step 16, §4.2) ----------------------------------------------------

/**
 * try_charge's tail: the first level over memory.high notes the overage on the task (handled on
 * the return to user, and — 5.18+, era `memoryHigh: "sync"` — inside the charge once it passes
 * MEMCG_CHARGE_BATCH), or queues `high_work` for a charge with no task.
 */
function noteOverHigh(sim: Sim, memcg: Cgroup, batch: number, ctx: ChargeCtx): void {
  const chargeBatch = sim.era.memcgChargeBatch;
  for (let c: Cgroup | null = memcg; c !== null && !c.isRoot; c = c.parent) {
    const r = c.row;
    const o = c.rowOff;
    if (r[o + ROW_MEMORY] > r[o + ROW_HIGH]) {
      if (ctx.task !== null) ctx.task.pagesOverHigh += batch;
      else {
        // No task to throttle (a remote charge on behalf of a cgroup, like a kthread or an
        // interrupt): try_charge_memcg does `schedule_work(&memcg->high_work)` on the level over
        // high, and high_work_func runs reclaim_high(memcg, MEMCG_CHARGE_BATCH) — the era's batch,
        // 32 before 6.1. The simulator runs that work once per MEMCG_CHARGE_BATCH pages charged
        // over high, and once more at the end of the command for what is left (runPendingHighWork).
        c.highWorkPages += batch;
        if (c.highWorkPages >= chargeBatch) {
          c.highWorkPages = 0;
          reclaimHigh(sim, c, chargeBatch, ctx.out);
        } else sim.pendingHighWork.add(c);
      }
      break;
    }
  }
  // 5.18+ try_charge_memcg (c9afe31ec443): `if (current->memcg_nr_pages_over_high >
  // MEMCG_CHARGE_BATCH && !(current->flags & PF_MEMALLOC) && gfpflags_allow_blocking(gfp_mask))
  // mem_cgroup_handle_over_high(gfp_mask)`. Before, only the return to user handles it.
  if (
    sim.era.memoryHigh === "sync" &&
    ctx.task !== null &&
    ctx.task.pagesOverHigh > chargeBatch &&
    ctx.gfp & GFP_DIRECT_RECLAIM
  )
    handleOverHigh(sim, ctx.task, ctx.out);
}

/** Runs the `high_work` still queued by remote charges of the command that just ended. */
export function runPendingHighWork(sim: Sim, out: AllocOutcome): void {
  // almost always empty: skip the iterator and `clear()`, which allocates a fresh table in V8
  if (sim.pendingHighWork.size === 0) return;
  for (const c of sim.pendingHighWork) {
    if (c.highWorkPages > 0 && c.state !== "released") {
      c.highWorkPages = 0;
      reclaimHigh(sim, c, sim.era.memcgChargeBatch, out);
    }
  }
  sim.pendingHighWork.clear();
}

/**
 * As `mem_cgroup_handle_over_high` on return to user space: reclaim the debt from every ancestor
 * above memory.high (raising `high` there), then (5.4+) sleep the §4.2 penalty, reported as
 * throttleMs. 4.x (era `memoryHigh: "reclaim"`) reclaims once and never sleeps: its
 * mem_cgroup_handle_over_high is the reclaim_high loop alone.
 */
export function handleOverHigh(sim: Sim, task: Task, out: AllocOutcome): void {
  const nrPages = task.pagesOverHigh;
  if (nrPages === 0) return;
  task.pagesOverHigh = 0;
  const memcg = task.cgroup;
  if (sim.era.memoryHigh === "reclaim") {
    reclaimHigh(sim, memcg, nrPages, out);
    return;
  }
  let retries = 16;
  let inRetry = false;
  for (;;) {
    const reclaimed = reclaimHigh(sim, memcg, inRetry ? 32 : nrPages, out);
    let penalty = highDelayMs(nrPages, maxOverage(memcg), sim.era.memcgChargeBatch);
    if (penalty <= 10) return; // ≤ HZ/100: no sleep
    if (reclaimed > 0 || retries-- > 0) {
      inRetry = true;
      continue;
    }
    penalty = Math.min(penalty, 2000); // MEMCG_MAX_HIGH_DELAY_JIFFIES = 2 × HZ
    // the simulated clock moves only by advanceClock: the sleep is reported, not slept
    out.throttleMs += penalty;
    return;
  }
}

function reclaimHigh(sim: Sim, memcg: Cgroup, nrPages: number, out: AllocOutcome): number {
  let total = 0;
  for (let c: Cgroup | null = memcg; c !== null && !c.isRoot; c = c.parent) {
    if (c.row[c.rowOff + ROW_MEMORY] <= c.highPages) continue;
    raiseEvent(c, EV_HIGH);
    sim.events.emit(sim.clockMs, "high", { cgroup: c.path });
    total += tryToFreeMemcgPages(sim, c, nrPages, out);
  }
  return total;
}

/** `mem_find_max_overage`: the worst ((usage − high) << 20) / high over the ancestors. */
function maxOverage(memcg: Cgroup): bigint {
  let worst = 0n;
  for (let c: Cgroup | null = memcg; c !== null && !c.isRoot; c = c.parent) {
    const usage = c.memory.usage;
    const high = c.highPages;
    if (usage <= high) continue;
    const h = BigInt(Math.max(high, 1));
    const o = (BigInt(usage - high) << 20n) / h;
    if (o > worst) worst = o;
  }
  return worst;
}

/**
 * `calculate_high_delay` with HZ = 1000 (so jiffies are ms): overage² × HZ >> 20 >> 14, scaled by
 * nr / MEMCG_CHARGE_BATCH (the era's: 32 before 6.1, 64 after).
 */
export function highDelayMs(nrPages: number, overage: bigint, chargeBatch: number): number {
  if (overage === 0n) return 0;
  const p = (((overage * overage * 1000n) >> 20n) >> 14n) * BigInt(nrPages);
  const ms = p / BigInt(chargeBatch);
  return ms > 1_000_000n ? 1_000_000 : Number(ms);
}

import {
  CHARGE_OK,
  newOutcome,
  refillStock,
  runPendingHighWork,
  tryChargeMemcg,
  uncharge,
} from "./charge.js";
import type { ChargeCtx } from "./charge.js";
import { type Cgroup, modSockStat } from "./cgroup.js";
import type * as C from "./commands.js";
import { fail } from "./errors.js";
import { GFP_NOFAIL, parseGfp } from "./gfp.js";
import { PAGE_SIZE as PAGE } from "./page.js";
import { UNLIMITED } from "./page-counter.js";
import type { Sim } from "./sim.js";
import type { Task } from "./tasks.js";

/**
 * Socket buffer memory (fidelity-audit row 23, docs/MODELS.md): the memcg side of
 * `__sk_mem_raise_allocated` / `__sk_mem_reduce_allocated` (net/core/sock.c), i.e. the era's
 * `mem_cgroup_charge_skmem` / `mem_cgroup_uncharge_skmem` (3.x: `memcg_memory_allocated_add` /
 * `_sub` on the tcp `cg_proto`). Pages here are the socket layer's `SK_MEM_QUANTUM` pages of
 * forward allocation: counters only — the skbs themselves are not simulated, so no physical
 * memory is taken.
 *
 * Each task holds one socket. Its memcg is bound when its socket memory goes from 0 to more (the
 * socket's creation: 3.x mm/memcontrol.c:sock_update_memcg, 4.5+ mem_cgroup_sk_alloc) and kept
 * while it holds pages, as `sk->sk_memcg` is, even when the task moves; null (not accounted) for
 * the root cgroup and for v1 cgroups whose tcp accounting is off (`Era.tcpActivation`). The pages
 * go back when the task exits (its sockets close).
 *
 * - cgroup v1, every era: the cgroup's own `tcpmem` counter (`memory.kmem.tcp.*`), not `memory`
 *   and not `kmem`; over its limit as `Era.sockCharge` says.
 * - cgroup v2 (4.5+): the `memory` counter through the era's try-charge (so the per-CPU page stock,
 *   reclaim, events and the OOM killer as any charge), the `sock` statistic of memory.stat (not
 *   `kernel`); uncharged to the counter (4.5) or the CPU's page stock (`Era.sockUncharge`).
 */

/** Result of chargeSocketPages (docs/API.md §6). */
export interface SockChargeResult {
  /** The memcg function's return (false: the socket is under memcg pressure and the caller, as __sk_mem_raise_allocated, suppresses the allocation). */
  charged: boolean;
  /** The socket is bound to a memcg (false: root cgroup, or v1 tcp accounting off: nothing is charged). */
  accounted: boolean;
  /** The cgroup the socket is bound to, or null. */
  cgroup: string | null;
  /** Bytes this call left charged (a forced charge that returned false included); unchargeSocketPages gives them back. */
  chargedBytes: number;
  /** Bytes the task's socket holds charged after the call. */
  socketBytes: number;
  reclaimedBytes: number;
  oomKilledPids: number[];
}

export interface SockUnchargeResult {
  unchargedBytes: number;
  socketBytes: number;
}

/** Largest pages argument (`unsigned int nr_pages`, bounded to keep sums exact). */
export const MAX_SOCK_PAGES = 1 << 30;

/**
 * Whether a socket created now by a task in `cg` is bound to it (3.3 sock_update_memcg; 3.5+
 * `memcg_proto_active`; 4.5+ mem_cgroup_sk_alloc: `if (mem_cgroup_is_root(memcg)) goto out; if
 * (!cgroup_subsys_on_dfl(memory_cgrp_subsys) && !memcg1_tcpmem_active(memcg)) goto out;`).
 */
function binds(sim: Sim, cg: Cgroup): boolean {
  if (cg.isRoot) return false;
  if (sim.config.cgroupVersion === 2) return true;
  switch (sim.era.tcpActivation) {
    case "any-limit":
      return anyTcpLimit(sim.root);
    case "own-limit":
      return cg.tcpMaxPages !== UNLIMITED;
    case "own-write":
      return cg.tcpActive;
  }
}

/** 3.3 `memcg_socket_limit_enabled`: some cgroup (online or dying) has a tcp limit below the maximum. */
function anyTcpLimit(cg: Cgroup): boolean {
  if (cg.tcpMaxPages !== UNLIMITED) return true;
  for (const c of cg.children.values()) if (anyTcpLimit(c)) return true;
  for (const c of cg.dyingChildren) if (anyTcpLimit(c)) return true;
  return false;
}

/** The tcp counter's chain: the cgroup and its `use_hierarchy` ancestors; the root only from 4.5 (3.x tcp_proto_cgroup(root) is NULL). */
function tcpChain(sim: Sim, cg: Cgroup, visit: (c: Cgroup) => void): void {
  for (let c: Cgroup | null = cg; c !== null; c = c.counterParent) {
    if (c.isRoot && sim.era.sockCharge === "nofail") return;
    visit(c);
  }
}

function tcpCharge(sim: Sim, cg: Cgroup, n: number): void {
  tcpChain(sim, cg, (c) => {
    c.tcpUsagePages += n;
    if (c.tcpUsagePages > c.tcpWatermarkPages) c.tcpWatermarkPages = c.tcpUsagePages;
  });
}

/** `page_counter_try_charge` / res_counter's test: the levels over their limit get a failcnt; true if none is. */
function tcpFits(sim: Sim, cg: Cgroup, n: number, allLevels: boolean): boolean {
  let fits = true;
  tcpChain(sim, cg, (c) => {
    if (!fits && !allLevels) return;
    if (c.tcpUsagePages + n > c.tcpMaxPages) {
      c.tcpFailcnt++;
      fits = false;
    }
  });
  return fits;
}

function tcpUncharge(sim: Sim, cg: Cgroup, n: number): void {
  tcpChain(sim, cg, (c) => {
    c.tcpUsagePages -= n;
  });
}

/**
 * v1 charge of `n` pages to the tcp counter; returns [charged, pagesLeftCharged]. (The kernel also
 * flags `tcpmem_pressure` when it returns false; nothing here reads it: the false is the signal.)
 */
function chargeV1(sim: Sim, cg: Cgroup, n: number, nofail: boolean): [boolean, number] {
  switch (sim.era.sockCharge) {
    case "nofail":
    case "force": {
      // 3.3–3.18 memcg_memory_allocated_add: res_counter_charge_nofail(prot->memory_allocated,
      // amt << PAGE_SHIFT, &fail) charges every level (failcnt at each one over its limit:
      // kernel/res_counter.c:res_counter_charge_locked with force), `if (ret < 0) *parent_status
      // = OVER_LIMIT` → __sk_mem_schedule enters pressure and suppresses the allocation.
      // 4.5–5.14 mem_cgroup_charge_skmem: page_counter_try_charge(&memcg->tcpmem) (failcnt at the
      // first level over), or page_counter_charge + tcpmem_pressure = 1 + return false
      const fits = tcpFits(sim, cg, n, sim.era.sockCharge === "nofail");
      tcpCharge(sim, cg, n);
      return [fits, n];
    }
    case "fail":
      // 5.15+ memcg1_charge_skmem: try; else tcpmem_pressure = 1 and, with __GFP_NOFAIL,
      // page_counter_charge + return true, else return false (nothing charged)
      if (tcpFits(sim, cg, n, false) || nofail) {
        tcpCharge(sim, cg, n);
        return [true, n];
      }
      return [false, 0];
  }
}

/** The task's socket: its bound memcg (null: unaccounted) once it holds pages. */
function socketOf(sim: Sim, t: Task): Cgroup | null {
  if (t.sockPages === 0) t.sockMemcg = binds(sim, t.cgroup) ? t.cgroup : null;
  return t.sockMemcg;
}

export function chargeSocketPages(sim: Sim, cmd: C.ChargeSocketPagesCmd): SockChargeResult {
  const t = sim.task(cmd.pid);
  const n = cmd.pages;
  if (!Number.isInteger(n) || n < 1 || n > MAX_SOCK_PAGES)
    fail("INVALID_ARGUMENT", `pages must be an integer in [1, ${MAX_SOCK_PAGES}]`, {
      issues: [{ path: "pages", message: "out of range" }],
    });
  const out = newOutcome();
  const memcg = socketOf(sim, t);
  // 3.x: the protocol's global counter (`prot->memory_allocated`, the 3.x root's tcp usage) counts
  // every socket's pages, accounted or not (sk_memory_allocated_add)
  if (sim.era.sockCharge === "nofail") sim.root.tcpUsagePages += n;
  let charged = true;
  let left = n;
  if (memcg !== null) {
    if (sim.config.cgroupVersion === 1) {
      [charged, left] = chargeV1(sim, memcg, n, cmd.nofail === true);
    } else {
      // what the charge put on each level's counter is the socket's, removed cgroups included
      // (sk_memcg is charged whether online or not): the invariants tell it from other charges
      const before: number[] = [];
      for (let c: Cgroup | null = memcg; c !== null; c = c.counterParent) before.push(c.memory.chargedTotal);
      [charged, left] = chargeV2(sim, t, memcg, n, cmd, out);
      let i = 0;
      for (let c: Cgroup | null = memcg; c !== null; c = c.counterParent)
        c.sockChargedPagesTotal += c.memory.chargedTotal - before[i++];
    }
  }
  t.sockPages += left;
  if (sim.tasks.get(t.pid) !== t) {
    // the OOM killer chose the charging task during the charge (4.x–5.15 force its charge): its
    // sockets closed with it, so what this call charged goes back at once
    t.sockMemcg = memcg;
    releaseSocketPages(sim, t, t.sockPages, t.cpu);
  }
  runPendingHighWork(sim, out);
  return {
    charged,
    accounted: memcg !== null,
    cgroup: memcg === null ? null : memcg.path,
    chargedBytes: left * PAGE,
    socketBytes: t.sockPages * PAGE,
    reclaimedBytes: out.reclaimedPages * PAGE,
    oomKilledPids: out.oomKilledPids,
  };
}

/** v2 (4.5+) mem_cgroup_charge_skmem / 6.x mem_cgroup_sk_charge; returns [charged, pagesLeftCharged]. */
function chargeV2(
  sim: Sim,
  t: Task,
  memcg: Cgroup,
  n: number,
  cmd: C.ChargeSocketPagesCmd,
  out: ChargeCtx["out"],
): [boolean, number] {
  // process context GFP_KERNEL; the receive path (in_softirq) GFP_NOWAIT / 6.1+ GFP_ATOMIC
  let gfp = parseGfp(cmd.softirq === true ? sim.era.sockSoftirqGfp : "GFP_KERNEL");
  if (cmd.nofail === true) gfp |= GFP_NOFAIL;
  const ctx: ChargeCtx = { task: t, cpu: t.cpu, gfp, out };
  if (sim.era.sockCharge === "force") {
    // 4.5–5.14: `mod_memcg_state(memcg, MEMCG_SOCK, nr_pages)` before the charge, then
    // `if (try_charge(memcg, gfp_mask, nr_pages) == 0) return true;
    //  try_charge(memcg, gfp_mask|__GFP_NOFAIL, nr_pages); return false;`
    modSockStat(memcg, n);
    if (tryChargeMemcg(sim, memcg, n, ctx, true) === CHARGE_OK) return [true, n];
    out.failedAt = null;
    ctx.gfp = gfp | GFP_NOFAIL;
    tryChargeMemcg(sim, memcg, n, ctx, true);
    return [false, n];
  }
  // 5.15+ (6.18 mm/memcontrol.c:mem_cgroup_sk_charge): `if (try_charge_memcg(memcg, gfp_mask,
  // nr_pages) == 0) { mod_memcg_state(memcg, MEMCG_SOCK, nr_pages); return true; } return false;`
  if (tryChargeMemcg(sim, memcg, n, ctx, true) === CHARGE_OK) {
    modSockStat(memcg, n);
    return [true, n];
  }
  return [false, 0];
}

export function unchargeSocketPages(sim: Sim, cmd: C.UnchargeSocketPagesCmd): SockUnchargeResult {
  const t = sim.task(cmd.pid);
  const n = cmd.pages;
  if (!Number.isInteger(n) || n < 1 || n > t.sockPages)
    fail("INVALID_ARGUMENT", `pages must be an integer in [1, ${t.sockPages}] (the task's socket pages)`, {
      issues: [{ path: "pages", message: "more than the socket holds" }],
    });
  const cpu = cmd.cpu ?? t.cpu;
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= sim.config.cpuCount)
    fail("INVALID_ARGUMENT", `cpu must be in [0, ${sim.config.cpuCount - 1}]`, {
      issues: [{ path: "cpu", message: "out of range" }],
    });
  releaseSocketPages(sim, t, n, cpu);
  return { unchargedBytes: n * PAGE, socketBytes: t.sockPages * PAGE };
}

/**
 * `n` of the task's socket pages go back (__sk_mem_reduce_allocated → the era's
 * mem_cgroup_uncharge_skmem; 3.x memcg_memory_allocated_sub → res_counter_uncharge).
 */
export function releaseSocketPages(sim: Sim, t: Task, n: number, cpu: number): void {
  if (n === 0) return;
  const memcg = t.sockMemcg;
  t.sockPages -= n;
  if (sim.era.sockCharge === "nofail") sim.root.tcpUsagePages -= n;
  if (memcg !== null) {
    if (sim.config.cgroupVersion === 1) tcpUncharge(sim, memcg, n);
    else {
      modSockStat(memcg, -n);
      // 4.5: page_counter_uncharge(&memcg->memory, nr_pages); 4.13+ (5.9, 6.18): refill_stock
      if (sim.era.sockUncharge === "stock") refillStock(sim, memcg, n, cpu);
      else uncharge(memcg, n);
    }
  }
  if (t.sockPages === 0) {
    t.sockMemcg = null;
    // the socket's css reference (sk_memcg) goes with it
    if (memcg !== null && memcg.state === "dying") sim.ops.maybeRelease(memcg);
  }
}

import { handleOverHigh, newOutcome, runPendingHighWork } from "./charge.js";
import { type Cgroup, STAT_KERNEL_PAGES } from "./cgroup.js";
import { lookupCgroup, onlineAncestor } from "./cgroup-tree.js";
import type * as C from "./commands.js";
import { assert, fail } from "./errors.js";
import { parseGfp } from "./gfp.js";
import type { ChargeCtx } from "./kernel.js";
import { PAGE_SIZE as PAGE } from "./page.js";
import type { Sim } from "./sim.js";
import type { KmemCache } from "./slab/cache.js";
import { type DeferredPick, shuffleStep } from "./slab/select.js";
import { computeGeometry, MAX_OBJECT_SIZE_BYTES } from "./slab/geometry.js";
import type { Task } from "./tasks.js";
import { liveTask, taskAt } from "./task-lifecycle.js";

// The slab allocator's entry points (mm/slab_common.c, mm/slub.c): `kmem_cache_create`, the
// seed's `register_memcg_cache`, `kmem_cache_destroy`, and object allocation and free
// (`kmem_cache_alloc` / `kmem_cache_free`, in bulk) on behalf of a task or a named cgroup. They
// validate the command and call the slab system (slab/kmem.ts), which charges through the model.

const CACHE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;

export function cacheNamed(sim: Sim, name: string): KmemCache {
  const c = sim.slab.caches.get(name);
  if (c === undefined) fail("CACHE_NOT_FOUND", `cache ${name} not found`, { cache: name });
  return c;
}

export function createCache(sim: Sim, cmd: C.CreateCacheCmd): KmemCache {
  if (!CACHE_NAME.test(cmd.name))
    fail("INVALID_ARGUMENT", `invalid cache name "${cmd.name}"`, {
      issues: [{ path: "name", message: "invalid cache name" }],
    });
  if (sim.slab.caches.has(cmd.name))
    fail("CACHE_EXISTS", `cache ${cmd.name} already exists`, { cache: cmd.name });
  if (
    !Number.isInteger(cmd.objectSizeBytes) ||
    cmd.objectSizeBytes < 1 ||
    cmd.objectSizeBytes > MAX_OBJECT_SIZE_BYTES
  )
    fail("INVALID_ARGUMENT", `objectSizeBytes must be an integer in [1, ${MAX_OBJECT_SIZE_BYTES}]`, {
      issues: [{ path: "objectSizeBytes", message: "out of range" }],
    });
  const align = cmd.alignBytes ?? 8;
  if (!Number.isInteger(align) || align < 1 || align > 4096 || (align & (align - 1)) !== 0)
    fail("INVALID_ARGUMENT", "alignBytes must be a power of two in [1, 4096]", {
      issues: [{ path: "alignBytes", message: "not a power of two" }],
    });
  if (sim.slab.caches.size >= sim.limits.maxCaches)
    fail("LIMIT_EXCEEDED", `cache limit ${sim.limits.maxCaches} reached`, {
      limit: "maxCaches",
      value: sim.limits.maxCaches,
    });
  const flags = {
    account: cmd.flags?.account ?? false,
    reclaimAccount: cmd.flags?.reclaimAccount ?? false,
    hwcacheAlign: cmd.flags?.hwcacheAlign ?? false,
    typesafeByRcu: cmd.flags?.typesafeByRcu ?? false,
  };
  let shrinker: KmemCache["shrinker"] = null;
  if (cmd.shrinker !== undefined && cmd.shrinker !== null) {
    const seeks = cmd.shrinker.seeks ?? 2;
    if (!Number.isInteger(seeks) || seeks < 0 || seeks > 1000)
      fail("INVALID_ARGUMENT", "shrinker.seeks must be an integer in [0, 1000]");
    shrinker = { memcgAware: cmd.shrinker.memcgAware ?? true, seeks };
  } else if (cmd.shrinker === undefined && flags.reclaimAccount) shrinker = { memcgAware: true, seeks: 2 };
  const g = computeGeometry({
    objectSizeBytes: cmd.objectSizeBytes,
    alignBytes: align,
    hwcacheAlign: flags.hwcacheAlign,
    freePointerOutside: flags.typesafeByRcu,
    cpuCount: sim.config.cpuCount,
    slubMaxOrder: sim.config.slubMaxOrder,
    slubMinObjects: sim.config.slubMinObjects,
    minPartial: sim.config.minPartial,
  });
  const cache = sim.slab.createCache(cmd.name, cmd.objectSizeBytes, g, flags, shrinker);
  if (flags.account) sim.model.onCacheAccounted(sim.slab, cache);
  return cache;
}

/** The seed's `register_memcg_cache`: opt the cache in (same as `flags.account`). */
export function registerCache(sim: Sim, name: string): KmemCache {
  const cache = cacheNamed(sim, name);
  if (!cache.accounted) {
    cache.accounted = true;
    sim.model.onCacheAccounted(sim.slab, cache);
  }
  return cache;
}

/**
 * `registerCache` as if it had been done at boot, before any cgroup existed (the recording
 * replay's registration, src/replay/run.ts; no command of its own, and counted as the
 * `registerCache` it stands for): each online cgroup then gets what its creation would have given
 * it of the cache (rfc-2012: the copy `mem_cgroup_create` makes of every registered cache; the
 * later eras: nothing, their copies come on first use). A dying cgroup gets nothing: the copy it
 * would have had is empty (what it allocated is in the base cache), and a dying cgroup's empty
 * copy is destroyed at once.
 */
export function registerCacheAtBoot(sim: CommandCounted, name: string): KmemCache {
  const cache = registerCache(sim, name);
  // in creation order, as the cgroups would have made their copies
  for (const cg of sim.idr.byId.values())
    if (cg.state === "online") sim.model.onCgroupCreatedWithCache(sim.slab, cache, cg);
  countCommand(sim, "registerCache");
  return cache;
}

export function removeCache(sim: Sim, name: string): void {
  const cache = cacheNamed(sim, name);
  const live = cache.totals().activeObjects;
  if (live > 0)
    fail("CACHE_BUSY", `cache ${name} still has ${live} objects`, { cache: name, activeObjectCount: live });
  sim.slab.removeCache(cache);
}

/** Resolves the cgroup an allocation is charged to: the task's (first touch) or a named one (remote). */
function allocTarget(
  sim: Sim,
  pid: number | undefined,
  cgroup: string | undefined,
): { cg: Cgroup; task: Task | null } {
  if ((pid === undefined) === (cgroup === undefined))
    fail("INVALID_ARGUMENT", "exactly one of pid and cgroup is required", {
      issues: [{ path: "pid", message: "give pid or cgroup" }],
    });
  if (pid !== undefined) {
    const t = liveTask(sim, pid);
    return { cg: t.cgroup, task: t };
  }
  return { cg: onlineAncestor(lookupCgroup(sim, cgroup!, true)), task: null };
}

function checkCount(sim: Sim, count: number): void {
  if (!Number.isSafeInteger(count) || count < 1)
    fail("INVALID_ARGUMENT", "count must be an integer ≥ 1", {
      issues: [{ path: "count", message: "must be ≥ 1" }],
    });
  if (count > sim.limits.maxCountPerCommand)
    fail("LIMIT_EXCEEDED", `count above the per-command limit ${sim.limits.maxCountPerCommand}`, {
      limit: "maxCountPerCommand",
      value: sim.limits.maxCountPerCommand,
    });
}

export function allocObjects(sim: Sim, cmd: C.AllocObjectsCmd): C.AllocResult {
  const run = beginAllocObjects(sim, cmd);
  stepAllocObjects(sim, run, run.count);
  return endAllocObjects(sim, run);
}

/** An `allocObjects` command under way (beginAllocObjects → stepAllocObjects … → endAllocObjects). */
export interface AllocObjectsRun {
  readonly cache: KmemCache;
  readonly cg: Cgroup;
  readonly task: Task | null;
  readonly pid: number;
  readonly reclaimable: boolean;
  readonly count: number;
  readonly ctx: ChargeCtx;
  readonly ids: number[] | null;
  readonly before: number;
  /** Objects allocated so far. */
  done: number;
  /** True once every object is allocated or one failed (the command stops at the first failure). */
  stopped: boolean;
}

/**
 * The checks and set-up of an `allocObjects` command: everything that can refuse it, before any
 * state changes. The objects are then allocated by `stepAllocObjects` — all at once (`allocObjects`)
 * or a run at a time, with the event loop turning in between (the service's long commands,
 * docs/RELIABILITY.md): the slab loop allocates one object after another and carries nothing from
 * one object to the next but memos it re-derives, so the runs leave the same state as one call.
 * What the kernel does once on the return to user mode (`mem_cgroup_handle_over_high`) and the
 * queued `high_work` run in `endAllocObjects`, once per command, as before.
 */
export function beginAllocObjects(sim: Sim, cmd: C.AllocObjectsCmd): AllocObjectsRun {
  const cache = cacheNamed(sim, cmd.cache);
  const { cg, task } = allocTarget(sim, cmd.pid, cmd.cgroup);
  const count = cmd.count ?? 1;
  checkCount(sim, count);
  const gfp = parseGfp(cmd.gfp);
  if (sim.slab.liveObjects + count > sim.limits.maxLiveObjects)
    fail("LIMIT_EXCEEDED", `live object limit ${sim.limits.maxLiveObjects} would be exceeded`, {
      limit: "maxLiveObjects",
      value: sim.limits.maxLiveObjects,
    });
  const reclaimable = cmd.reclaimable ?? cache.shrinker !== null;
  const wantIds = cmd.returnObjectIds ?? count <= 1000;
  const ctx: ChargeCtx = { task, cpu: task?.cpu ?? 0, gfp, out: newOutcome() };
  // the slab arrays sized for the whole command at once, whether it then runs whole or in parts
  sim.slab.reserveForObjects(cache, count);
  return {
    cache,
    cg,
    task,
    pid: task?.pid ?? 0,
    reclaimable,
    count,
    ctx,
    ids: wantIds ? [] : null,
    before: chargedPagesNow(cg),
    done: 0,
    stopped: false,
  };
}

/** Allocates up to `max` more objects of `run`; returns whether the command's objects are all done (or one failed). */
export function stepAllocObjects(sim: Sim, run: AllocObjectsRun, max: number): boolean {
  if (run.stopped) return true;
  const want = Math.min(max, run.count - run.done);
  const got = sim.slab.allocObjects(run.cache, run.cg, run.pid, run.reclaimable, run.ctx, want, run.ids);
  assert(got >= 0 && got <= want, "slab: more objects allocated than asked for");
  run.done += got;
  if (got < want || run.done === run.count) run.stopped = true;
  return run.stopped;
}

/** The end of an `allocObjects` command: the over-high handling and high work, then its result. */
export function endAllocObjects(sim: Sim, run: AllocObjectsRun): C.AllocResult {
  assert(run.stopped, "allocObjects ended before its objects were allocated");
  const { task, count, done, cg } = run;
  const out = run.ctx.out;
  let error: C.AllocResult["error"] = null;
  if (done < count) error = out.selfKilled ? "OOM_KILLED" : "ENOMEM";
  if (task !== null && taskAt(sim, task.pid) === task) handleOverHigh(sim, task, out);
  runPendingHighWork(sim, out);
  const r: C.AllocResult = {
    allocatedCount: done,
    failedCount: count - done,
    error,
    failedAt: error === "ENOMEM" && out.failedAt !== null ? out.failedAt.path : null,
    chargedBytes: Math.max(0, chargedPagesNow(cg) - run.before) * PAGE,
    reclaimedBytes: out.reclaimedPages * PAGE,
    oomKilledPids: out.oomKilledPids,
    throttleMs: out.throttleMs,
  };
  if (run.ids !== null) r.objectIds = run.ids;
  return r;
}

/** Kernel-memory pages charged to `cg` right now (for a result's chargedBytes). */
function chargedPagesNow(cg: Cgroup): number {
  return cg.row[cg.rowOff + STAT_KERNEL_PAGES];
}

export function freeObjects(sim: Sim, cmd: C.FreeObjectsCmd): C.FreeResult {
  const run = beginFreeObjects(sim, cmd);
  while (!stepFreeObjects(sim, run, Number.MAX_SAFE_INTEGER));
  return endFreeObjects(sim, run);
}

/** A `freeObjects` command under way (beginFreeObjects → stepFreeObjects … → endFreeObjects). */
export interface FreeObjectsRun {
  /** The objects to free (empty until a random pick's shuffle is done). */
  slots: ArrayLike<number>;
  /** A random pick whose shuffle runs in the first steps (select.ts `shuffleStep`), else null. */
  pick: DeferredPick | null;
  readonly missing: number;
  /** The CPU every free is made on (the command's `cpu`), or -1: each object's task's CPU. */
  readonly onCpu: number;
  readonly keyBefore: number;
  readonly liveBefore: number;
  lastPid: number;
  cpu: number;
  /** Slots freed so far. */
  done: number;
  freedSlabs: number;
}

/**
 * The checks and the selection of a `freeObjects` command (everything that can refuse it comes
 * before the selection, which draws from the PRNG for `order: random`). The objects are then freed
 * by `stepFreeObjects` — all at once (`freeObjects`) or a run at a time with the event loop turning
 * in between (the service's long commands): each free is the same `freeInRun` call in the same
 * order, and the run's batched uncharge (`endFreeRun`) is made once, in `endFreeObjects`, as one
 * call does it.
 */
export function beginFreeObjects(sim: Sim, cmd: C.FreeObjectsCmd): FreeObjectsRun {
  if (cmd.cpu !== undefined && (!Number.isInteger(cmd.cpu) || cmd.cpu < 0 || cmd.cpu >= sim.config.cpuCount))
    fail("INVALID_ARGUMENT", `cpu ${cmd.cpu} out of range [0, ${sim.config.cpuCount - 1}]`, {
      issues: [{ path: "cpu", message: "out of range" }],
    });
  let slots: ArrayLike<number>;
  let missing = 0;
  let lastPid = -1;
  let cpu = 0;
  // a random pick's shuffle is left to the steps: a large one runs in parts too
  const defer: { pick: DeferredPick | null } = { pick: null };
  if (cmd.objectIds !== undefined) {
    if (
      cmd.cache !== undefined ||
      cmd.pid !== undefined ||
      cmd.cgroup !== undefined ||
      cmd.count !== undefined ||
      cmd.order !== undefined
    )
      fail("INVALID_ARGUMENT", "objectIds excludes cache, pid, cgroup, count and order");
    const picked: number[] = [];
    const seen = new Set<number>();
    for (const id of cmd.objectIds) {
      const s = sim.slab.liveSlot(id);
      if (s < 0 || seen.has(s)) missing++;
      else {
        seen.add(s);
        picked.push(s);
      }
    }
    slots = picked;
  } else {
    if (cmd.cache === undefined || cmd.count === undefined)
      fail("INVALID_ARGUMENT", "free by selection needs cache and count (or objectIds)");
    const cache = cacheNamed(sim, cmd.cache);
    checkCount(sim, cmd.count);
    if ((cmd.pid === undefined) === (cmd.cgroup === undefined))
      fail("INVALID_ARGUMENT", "exactly one of pid and cgroup is required");
    if (cmd.pid !== undefined) {
      const t = liveTask(sim, cmd.pid);
      lastPid = cmd.pid;
      cpu = t.cpu;
      slots = sim.slab.selectSlotsOfTask(cache, cmd.pid, cmd.count, cmd.order ?? "newest", sim.prng, defer);
    } else {
      const s = cache.ownerLists.get(lookupCgroup(sim, cmd.cgroup!, true).id);
      slots = sim.slab.selectSlots(
        s === undefined ? [] : [s],
        -1,
        cmd.count,
        cmd.order ?? "newest",
        sim.prng,
        true,
        defer,
      );
    }
    missing = cmd.count - (defer.pick !== null ? defer.pick.count : slots.length);
  }
  return {
    slots,
    pick: defer.pick,
    missing,
    onCpu: cmd.cpu ?? -1,
    keyBefore: totalKernelPages(sim),
    liveBefore: sim.slab.liveObjects,
    lastPid,
    cpu,
    done: 0,
    freedSlabs: 0,
  };
}

/** Frees up to `max` more of `run`'s objects; returns whether all are freed. */
export function stepFreeObjects(sim: Sim, run: FreeObjectsRun, max: number): boolean {
  const pick = run.pick;
  if (pick !== null) {
    // the random pick's swaps first, with the PRNG draws of one call in their order; nothing is
    // freed before they are all done (a free may draw from the PRNG too)
    if (!shuffleStep(pick, max, sim.prng)) return false;
    run.slots = pick.pool.subarray(0, pick.count);
    run.pick = null;
    return run.slots.length === 0;
  }
  const { slots } = run;
  const end = Math.min(slots.length, run.done + max);
  let freedSlabs = 0;
  if (run.onCpu >= 0) {
    // frees on a given CPU (a trace's, e.g. RCU callbacks on another CPU): its stocks take them
    for (let i = run.done; i < end; i++) freedSlabs += sim.slab.freeInRun(slots[i], run.onCpu);
  } else {
    let { lastPid, cpu } = run;
    for (let i = run.done; i < end; i++) {
      const s = slots[i];
      const p = sim.slab.pidOf(s);
      if (p !== lastPid) {
        lastPid = p;
        cpu = taskAt(sim, p)?.cpu ?? 0;
      }
      freedSlabs += sim.slab.freeInRun(s, cpu);
    }
    run.lastPid = lastPid;
    run.cpu = cpu;
  }
  run.freedSlabs += freedSlabs;
  run.done = end;
  return end === slots.length;
}

/** The end of a `freeObjects` command: the run's batched uncharge, then its result. */
export function endFreeObjects(sim: Sim, run: FreeObjectsRun): C.FreeResult {
  assert(run.done === run.slots.length, "freeObjects ended before its objects were freed");
  sim.slab.endFreeRun();
  const freed = run.liveBefore - sim.slab.liveObjects;
  assert(freed >= 0 && freed <= run.slots.length, "slab: a free run freed more objects than it was given");
  return {
    freedCount: freed,
    missingCount: run.missing,
    unchargedBytes: Math.max(0, run.keyBefore - totalKernelPages(sim)) * PAGE,
    freedSlabCount: run.freedSlabs,
  };
}

/**
 * Kernel pages charged to all cgroups: the root's hierarchical value less its own (= the sum over
 * its online and dying children, an invariant), O(1) whatever the number of cgroups.
 */
function totalKernelPages(sim: Sim): number {
  return sim.root.statHier[2] - sim.root.statLocal[2];
}

/** What the command layer counts per command (Simulation.execute): the replay's fast entries count the same. */
export interface CommandCounted extends Sim {
  commandCount: number;
  readonly opCounts: Map<string, number>;
}

function countCommand(sim: CommandCounted, op: string): void {
  sim.commandCount++;
  sim.opCounts.set(op, (sim.opCounts.get(op) ?? 0) + 1);
}

/**
 * The trace replay's allocation: exactly `execute({ op: "allocObjects", cache, pid, count, gfp,
 * reclaimable: false, returnObjectIds: true })` — the same checks in the same order, the same
 * state, events and command counts — without the command layer (no dispatch, no result object,
 * no charged-bytes reads). The new objects' ids are appended to `ids` (their count is the count
 * allocated). Returns the pids the OOM killer killed (the result's `oomKilledPids`).
 */
export function replayAllocObjects(
  sim: CommandCounted,
  cacheName: string,
  pid: number,
  count: number,
  gfpText: string,
  ids: number[],
): number[] {
  const cache = cacheNamed(sim, cacheName);
  const task = liveTask(sim, pid);
  const cg = task.cgroup;
  checkCount(sim, count);
  const gfp = parseGfp(gfpText);
  if (sim.slab.liveObjects + count > sim.limits.maxLiveObjects)
    fail("LIMIT_EXCEEDED", `live object limit ${sim.limits.maxLiveObjects} would be exceeded`, {
      limit: "maxLiveObjects",
      value: sim.limits.maxLiveObjects,
    });
  const out = newOutcome();
  const ctx: ChargeCtx = { task, cpu: task.cpu, gfp, out };
  const done = sim.slab.allocObjects(cache, cg, task.pid, false, ctx, count, ids);
  assert(done >= 0 && done <= count, "slab: more objects allocated than asked for");
  if (taskAt(sim, task.pid) === task) handleOverHigh(sim, task, out);
  runPendingHighWork(sim, out);
  countCommand(sim, "allocObjects");
  return out.oomKilledPids;
}

/**
 * The trace replay's free: exactly `execute({ op: "freeObjects", objectIds: ids[0..n), cpu })`
 * without the command layer (no result object; no set when one object goes). Returns the count
 * freed.
 */
export function replayFreeObjects(
  sim: CommandCounted,
  ids: readonly number[],
  n: number,
  cpu: number,
): number {
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= sim.config.cpuCount)
    fail("INVALID_ARGUMENT", `cpu ${cpu} out of range [0, ${sim.config.cpuCount - 1}]`, {
      issues: [{ path: "cpu", message: "out of range" }],
    });
  const slab = sim.slab;
  const before = slab.liveObjects;
  let given = 0;
  if (n === 1) {
    const s = slab.liveSlot(ids[0]);
    if (s >= 0) {
      slab.freeInRun(s, cpu);
      given = 1;
    }
  } else {
    // the slots are all looked up before the first free, as freeObjects does
    const picked: number[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const s = slab.liveSlot(ids[i]);
      if (s >= 0 && !seen.has(s)) {
        seen.add(s);
        picked.push(s);
      }
    }
    for (let i = 0; i < picked.length; i++) slab.freeInRun(picked[i], cpu);
    given = picked.length;
  }
  slab.endFreeRun();
  const freed = before - slab.liveObjects;
  assert(freed >= 0 && freed <= given, "slab: a free run freed more objects than it was given");
  countCommand(sim, "freeObjects");
  return freed;
}

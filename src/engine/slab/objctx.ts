import type { Cgroup } from "../cgroup.js";
import { assert } from "../errors.js";
import { PID_INDEX_LIMIT } from "../tasks.js";
import type { SlabArena } from "./arena.js";
import { CTX_COUNT, CTX_NEWEST, CTX_OLDEST, CTX_STRIDE, type KmemCache } from "./cache.js";

// Allocation contexts: what the kernel keeps per object in `slab->obj_exts` (the objcg, 5.9+:
// mm/memcontrol.c:__memcg_slab_post_alloc_hook) plus the allocating pid that free-by-selection
// needs (docs/API.md §5). An object records one Int32, its context: an (objcg, pid) pair
// (docs/ENGINE.md "Allocation contexts").

/** The context ids of `pid` (undefined: none). */
export function ctxsOfPid(k: SlabArena, pid: number): number[] | undefined {
  return pid < PID_INDEX_LIMIT ? k.ctxByPid[pid] : k.ctxByBigPid.get(pid);
}

/** The context id of (objcg, pid), made on first use (a recycled id when one is free). */
export function allocCtx(k: SlabArena, objcg: number, pid: number): number {
  let m = k.ctxIndex.get(objcg);
  if (m === undefined) {
    m = new Map();
    k.ctxIndex.set(objcg, m);
  }
  let c = m.get(pid);
  if (c !== undefined) {
    // a new task with the pid of an exited one whose objects are still live: it continues that
    // context (free by pid selects by pid), which is no longer waiting to be recycled
    if (k.exitedCtxs.size > 0) k.exitedCtxs.delete(c);
  } else {
    if (k.freeCtxIds.length > 0) {
      c = k.freeCtxIds.pop()!;
      k.ctxObjcg[c] = objcg;
      k.ctxPid[c] = pid;
      k.ctxLive[c] = 0;
    } else {
      c = k.ctxObjcg.length;
      k.ctxObjcg.push(objcg);
      k.ctxPid.push(pid);
      k.ctxLive.push(0);
    }
    m.set(pid, c);
    const byPid = ctxsOfPid(k, pid);
    if (byPid !== undefined) byPid.push(c);
    else if (pid < PID_INDEX_LIMIT) k.ctxByPid[pid] = [c];
    else k.ctxByBigPid.set(pid, [c]);
  }
  return c;
}

/**
 * The task `pid` exited: its contexts without live objects are recycled now, the others when
 * their last object is freed (`exitedCtxs`). Without this a month of task churn would keep one
 * context per (cgroup, task) ever seen, with its Map entries and per-cache index rows. Context
 * ids are internal (object ids are slot-based), so recycling changes no answer.
 */
export function taskExited(k: SlabArena, pid: number): void {
  const ctxs = ctxsOfPid(k, pid);
  if (ctxs === undefined) return;
  for (const c of ctxs.slice()) {
    if (k.ctxLive[c] === 0) recycleCtx(k, c);
    else k.exitedCtxs.add(c);
  }
}

export function recycleCtx(k: SlabArena, c: number): void {
  const objcg = k.ctxObjcg[c];
  const pid = k.ctxPid[c];
  const m = k.ctxIndex.get(objcg)!;
  m.delete(pid);
  if (m.size === 0) k.ctxIndex.delete(objcg);
  const byPid = ctxsOfPid(k, pid)!;
  byPid.splice(byPid.indexOf(c), 1);
  if (byPid.length === 0) {
    if (pid < PID_INDEX_LIMIT) k.ctxByPid[pid] = undefined;
    else k.ctxByBigPid.delete(pid);
  }
  k.exitedCtxs.delete(c);
  k.ctxObjcg[c] = 0;
  k.ctxPid[c] = 0;
  k.freeCtxIds.push(c);
}

/** Makes `cache`'s per-context index (KmemCache.ctxIndex) cover context `ctx`. */
export function ctxIndexOf(cache: KmemCache, ctx: number): void {
  const have = cache.ctxIndex.length / CTX_STRIDE;
  if (ctx < have) return;
  const b = new Int32Array(CTX_STRIDE * Math.max(16, 2 * have, ctx + 1)).fill(-1);
  for (let i = CTX_COUNT; i < b.length; i += CTX_STRIDE) b[i] = 0;
  b.set(cache.ctxIndex);
  cache.ctxIndex = b;
}

/**
 * Keeps a context's oldest/newest (at `cx` of a cache's ctxIndex) exact as `slot`, one of them
 * and still linked, leaves while the context keeps other objects: the next object of the same
 * context towards the newest (oldest) end takes its place. Frees by age take the oldest or newest
 * object each time, so the step is usually one link.
 */
export function moveCtxEnds(k: SlabArena, ci: Int32Array, cx: number, ctx: number, slot: number): void {
  const octx = k.objCtx;
  if (ci[cx + CTX_OLDEST] === slot) {
    const next = k.owned.next;
    let x = next[slot];
    for (; octx[x] !== ctx; x = next[x])
      assert(octx[x] >= 0, "context index: no newer object of the context");
    ci[cx + CTX_OLDEST] = x;
  }
  if (ci[cx + CTX_NEWEST] === slot) {
    const prev = k.owned.prev;
    let x = prev[slot];
    for (; octx[x] !== ctx; x = prev[x])
      assert(octx[x] >= 0, "context index: no older object of the context");
    ci[cx + CTX_NEWEST] = x;
  }
}

// ===== objcgs (mm/memcontrol.c: obj_cgroup_alloc, memcg_reparent_objcgs) =======================

/** A new objcg charging `memcg` (`obj_cgroup_alloc`); its id indexes objcgMemcg. */
export function newObjcg(k: SlabArena, memcg: Cgroup): number {
  k.objcgMemcg.push(memcg);
  k.objcgChargedBytes.push(0);
  const id = k.objcgMemcg.length - 1;
  if (!memcg.isRoot) memcg.objcgsHere.push(id);
  return id;
}

/** Points the objcgs that charge `from` at `to` (reparenting, docs/DOMAIN.md §7.4), O(those objcgs). */
export function moveObjcgs(k: SlabArena, from: Cgroup, to: Cgroup): void {
  const keep = !to.isRoot;
  for (const i of from.objcgsHere) {
    k.objcgMemcg[i] = to;
    if (keep) to.objcgsHere.push(i); // one by one: a spread of 100k+ ids would overflow the stack
  }
  from.objcgsHere.length = 0;
}

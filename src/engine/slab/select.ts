import type { Cgroup } from "../cgroup.js";
import type { Prng } from "../prng.js";
import type { SlabArena } from "./arena.js";
import { CTX_COUNT, CTX_NEWEST, CTX_OLDEST, CTX_STRIDE, type KmemCache } from "./cache.js";
import { ctxsOfPid } from "./objctx.js";

// Free-by-selection (docs/API.md §5): which live objects a free command takes — the oldest, the newest,
// every other one or a seeded random choice of a cache's objects, all of them or a task's. No
// kernel path chooses objects to free (a caller frees what it holds); this is the simulator's
// stand-in for the callers, over the owner lists (list-lru.ts) and the per-context index.

/** Live objects of `cache` charged to `cg`. */
export function ownedCount(k: SlabArena, cache: KmemCache, cg: Cgroup): number {
  const s = cache.ownerLists.get(cg.id);
  return s === undefined ? 0 : k.owned.length(s);
}

/**
 * Free by pid's selection (docs/API.md §5): what `selectSlots(listsOfTask(cache, pid), pid, ...)`
 * picks, the same slots in the same order with the same PRNG draws. When one allocation context
 * of the task holds all its live objects of `cache` (a task that never moved, the usual case),
 * the walk starts at that context's oldest (newest) object and ends with its last one, instead
 * of walking the cgroup's list past every other task's objects. The caller must free every slot
 * returned before anything else reads the index (see the end of the `oldest`/`newest` walk).
 */
export function selectSlotsOfTask(
  k: SlabArena,
  cache: KmemCache,
  pid: number,
  count: number,
  order: string,
  prng: Prng | null,
  defer?: { pick: DeferredPick | null },
): Int32Array {
  const ctxs = ctxsOfPid(k, pid);
  if (ctxs === undefined) return new Int32Array(0);
  const ci = cache.ctxIndex;
  let only = -1;
  for (const c of ctxs) {
    if (CTX_STRIDE * c >= ci.length || ci[CTX_STRIDE * c + CTX_COUNT] === 0) continue;
    if (only >= 0) return selectSlots(k, listsOfTask(k, cache, pid), pid, count, order, prng, true, defer);
    only = c;
  }
  if (only < 0) return new Int32Array(0);
  const cx = CTX_STRIDE * only;
  const have = ci[cx + CTX_COUNT];
  const octx = k.objCtx;
  if (order === "random" || order === "every-other") {
    const pool = new Int32Array(have);
    const next = k.owned.next;
    for (let x = ci[cx + CTX_OLDEST], n = 0; n < have; x = next[x]) if (octx[x] === only) pool[n++] = x;
    return pickFromPool(pool, have, count, order, prng, defer);
  }
  const want = Math.min(count, have);
  if (k.pickScratch.length < want) k.pickScratch = new Int32Array(Math.max(want, 2 * k.pickScratch.length));
  const out = k.pickScratch.subarray(0, want);
  const link = order === "oldest" ? k.owned.next : k.owned.prev;
  let x = ci[cx + (order === "oldest" ? CTX_OLDEST : CTX_NEWEST)];
  for (let got = 0; got < want; x = link[x]) if (octx[x] === only) out[got++] = x;
  // The caller frees every pick, the oldest (newest) first: the index's end moves now to the
  // first object that stays (found by walking on from the picks; none when all go), so that the
  // frees need not each walk from their slot to the next object of the context, through the
  // same gaps again.
  if (want < have) while (octx[x] !== only) x = link[x];
  else x = -1;
  ci[cx + (order === "oldest" ? CTX_OLDEST : CTX_NEWEST)] = x;
  return out;
}

/**
 * The owner lists of `cache` that can hold objects `pid` allocated, in the cache's list order:
 * those of the cgroups its live allocation contexts charge now. (Scanning every list of the
 * cache gives the same objects in the same order, at a cost growing with all its objects.)
 */
export function listsOfTask(k: SlabArena, cache: KmemCache, pid: number): number[] {
  const ctxs = ctxsOfPid(k, pid);
  if (ctxs === undefined) return [];
  // the usual case: every live object of the task charges one cgroup
  let only = -1;
  let onlyCtx = -1;
  let several = false;
  for (const c of ctxs) {
    if (k.ctxLive[c] === 0) continue;
    const id = k.objcgMemcg[k.ctxObjcg[c]].id;
    if (only < 0) {
      only = id;
      onlyCtx = c;
    } else if (id !== only) several = true;
  }
  if (only < 0) return [];
  if (!several) {
    // the cgroup's memo of its lists (valid while it is online) saves the Map lookup
    const cg = k.objcgMemcg[k.ctxObjcg[onlyCtx]];
    if (cg.listMemoCache === cache && cg.state === "online") return [cg.listMemoOwned];
    const s = cache.ownerLists.get(only);
    return s === undefined ? [] : [s];
  }
  const cgIds = new Set<number>();
  for (const c of ctxs) if (k.ctxLive[c] > 0) cgIds.add(k.objcgMemcg[k.ctxObjcg[c]].id);
  const out: number[] = [];
  for (const [id, s] of cache.ownerLists) if (cgIds.has(id)) out.push(s);
  return out;
}

/**
 * A random pick whose shuffle is still to run (a free command in parts, slab-api.ts): the
 * gathered pool and how many of it are picked. `shuffleStep` runs the swaps a part at a time, the
 * same PRNG draws in the same order as `pickFromPool`; then `pool.subarray(0, count)` is the pick.
 */
export interface DeferredPick {
  readonly pool: Int32Array;
  readonly count: number;
  /** Swaps done so far. */
  done: number;
}

/** Up to `max` more swaps of `d`'s partial Fisher–Yates shuffle; true once all `count` are done. */
export function shuffleStep(d: DeferredPick, max: number, prng: Prng): boolean {
  const p = d.pool;
  const n = p.length;
  const end = Math.min(d.count, d.done + max);
  for (let i = d.done; i < end; i++) {
    const j = i + prng.below(n - i);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  d.done = end;
  return end === d.count;
}

/**
 * `every-other` or `random` (seeded Fisher-Yates) picks of up to `count` of `pool[0..n)`, in allocation
 * order. With `defer` given, a random pick's shuffle is left to `shuffleStep` (`defer.pick` set,
 * an empty array returned).
 */
function pickFromPool(
  pool: Int32Array,
  n: number,
  count: number,
  order: string,
  prng: Prng | null,
  defer?: { pick: DeferredPick | null },
): Int32Array {
  if (order === "every-other") {
    const k = Math.min(count, (n + 1) >> 1);
    const out = new Int32Array(k);
    for (let i = 0; i < k; i++) out[i] = pool[2 * i];
    return out;
  }
  const p = pool.subarray(0, n);
  const k = Math.min(count, n);
  if (defer !== undefined) {
    defer.pick = { pool: p, count: k, done: 0 };
    return new Int32Array(0);
  }
  for (let i = 0; i < k; i++) {
    const j = i + prng!.below(n - i);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p.slice(0, k);
}

/**
 * Free-by-selection (docs/API.md §5): the pool is the objects on the owner lists `lists`, in that
 * order, each oldest first, restricted to those allocated by `pid` (-1 = all). Returns up to
 * `count` of them: the oldest, the newest (newest first), every other one from the oldest, or a
 * random choice (a partial Fisher–Yates shuffle of the pool drawing from `prng`). No JS object
 * per candidate: the pool is walked in place, and only `random` gathers it into a typed array.
 */
export function selectSlots(
  k: SlabArena,
  lists: number[],
  pid: number,
  count: number,
  order: string,
  prng: Prng | null,
  scratch = false,
  defer?: { pick: DeferredPick | null },
): Int32Array {
  const next = k.owned.next;
  const prev = k.owned.prev;
  const octx = k.objCtx;
  const cpid = k.ctxPid;
  let total = 0;
  for (const s of lists) total += k.owned.len[s];
  if (order === "random" || order === "every-other") {
    // gather the pool (filtered by pid) in order
    const pool = new Int32Array(total);
    let n = 0;
    for (const s of lists)
      for (let x = next[s]; x !== s; x = next[x]) if (pid < 0 || cpid[octx[x]] === pid) pool[n++] = x;
    return pickFromPool(pool, n, count, order, prng, defer);
  }
  // `scratch`: the caller consumes the picks before the next selection (a free command), so
  // one reused buffer serves instead of a fresh ArrayBuffer per command
  const want = Math.min(count, total);
  let out: Int32Array;
  if (!scratch) out = new Int32Array(want);
  else {
    if (k.pickScratch.length < want) k.pickScratch = new Int32Array(Math.max(want, 2 * k.pickScratch.length));
    out = k.pickScratch.subarray(0, want);
  }
  let got = 0;
  if (order === "oldest") {
    for (let li = 0; li < lists.length && got < out.length; li++) {
      const s = lists[li];
      for (let x = next[s]; x !== s && got < out.length; x = next[x])
        if (pid < 0 || cpid[octx[x]] === pid) out[got++] = x;
    }
  } else {
    // newest: the last `count` of the pool, newest first
    for (let li = lists.length - 1; li >= 0 && got < out.length; li--) {
      const s = lists[li];
      for (let x = prev[s]; x !== s && got < out.length; x = prev[x])
        if (pid < 0 || cpid[octx[x]] === pid) out[got++] = x;
    }
  }
  return got === out.length ? out : out.slice(0, got);
}

import type { Cgroup } from "../cgroup.js";
import type { ChargeCtx } from "../kernel.js";
import { SLAB_CPU, SLAB_FULL, SLOT_SPAN, type SlabArena } from "./arena.js";
import { type CacheCopy, CTX_COUNT, CTX_NEWEST, CTX_OLDEST, CTX_STRIDE, type KmemCache } from "./cache.js";
import { popCpuPartial, refillCpuPartial } from "./cpu-partial.js";
import { lruList, ownerList } from "./list-lru.js";
import { removePartial } from "./node-partial.js";
import { allocCtx, ctxIndexOf } from "./objctx.js";
import { allocateSlab } from "./pages.js";

// SLUB's allocation path (mm/slub.c, docs/DOMAIN.md §5.3): `slab_alloc_node` takes the next free object of
// the CPU slab; when it is full, `___slab_alloc` takes a partial slab of the node or a new one
// (`new_slab` → allocate_slab, pages.ts). Which copy serves an allocation and what is charged is
// asked of the simulation's accounting model; nothing here branches on the model's name.

/**
 * Allocates up to `count` objects of `cache` for `memcg` (already resolved to an online cgroup) by
 * `pid`, one after another; stops at the first failure (ctx.out says why). Returns how many were
 * allocated (their ids appended to `ids` when given).
 *
 * Fast path: after an object went through the full path (selection, charge, CPU slab), the
 * following objects that the same CPU slab holds and — model C — the obj stock already covers
 * involve no decision at all when the model says its selection is stable for the command; they
 * are taken in one tight run over the typed arrays, and their counters, stock and statistics
 * move once by the run's total (the same end values; nothing observes the state in between).
 */
export function allocObjects(
  k: SlabArena,
  cache: KmemCache,
  memcg: Cgroup,
  pid: number,
  reclaimable: boolean,
  ctx: ChargeCtx,
  count: number,
  ids: number[] | null,
): number {
  const sim = k.sim;
  const model = sim.model;
  const slab = sim.slab; // the façade (this same object) the model's hooks are given
  const size = cache.geometry.sizeBytes;
  const fullSize = size + 8;
  const perSlab = cache.geometry.objectsPerSlab;
  const useLru = reclaimable && cache.shrinker !== null;
  const cpu = ctx.cpu;
  reserveForObjects(k, cache, count);
  let memoObjcg = -2;
  let ctxId = -1;
  let memoCg: Cgroup = sim.root;
  let ownedS = -1;
  let lruS = -1;
  let done = 0;
  // the task was OOM-killed during its own charge (5.9 forces that charge through): its contexts
  // went through taskExited, so its memo may name a recycled one; what it still allocates goes to
  // a context of the exited pid, waiting like its others to be recycled
  let exited = false;
  while (done < count) {
    // --- one object through the full path ---------------------------------------------------
    k.allocSerial++;
    const sel = model.selectInstance(slab, cache, memcg, ctx.gfp);
    const inst = sel.inst;
    const objcg = sel.objcg;
    const stable = sel.stable;
    if (objcg > 0 && !model.chargeObject(slab, objcg, fullSize, ctx)) break;
    if (ctx.out.selfKilled && !exited) {
      exited = true;
      memoObjcg = -2;
    }
    const slot = allocSlot(k, inst, ctx);
    if (slot < 0) {
      if (objcg > 0) model.unchargeObject(slab, objcg, fullSize, cpu);
      break;
    }
    const ownerObjcg = objcg > 0 ? objcg : (inst.memcg ?? sim.root).objcgId;
    if (ownerObjcg !== memoObjcg) {
      memoObjcg = ownerObjcg;
      memoCg = k.objcgMemcg[ownerObjcg];
      const t = ctx.task;
      if (t !== null && !exited && t.allocCtxObjcg === ownerObjcg) ctxId = t.allocCtxId;
      else if (exited) {
        ctxId = allocCtx(k, ownerObjcg, pid);
        k.exitedCtxs.add(ctxId);
      } else {
        ctxId = allocCtx(k, ownerObjcg, pid);
        if (t !== null) {
          t.allocCtxObjcg = ownerObjcg;
          t.allocCtxId = ctxId;
        }
      }
      ctxIndexOf(cache, ctxId);
      if (memoCg.listMemoCache !== cache || memoCg.state !== "online") {
        memoCg.listMemoCache = cache;
        memoCg.listMemoOwned = ownerList(k, cache, memoCg);
        memoCg.listMemoLru = -1;
      }
      ownedS = memoCg.listMemoOwned;
      if (!useLru) lruS = -1;
      else {
        if (memoCg.listMemoLru < 0) memoCg.listMemoLru = lruList(k, cache, memoCg);
        lruS = memoCg.listMemoLru;
      }
    }
    k.objCtx[slot] = ctxId;
    k.ctxLive[ctxId]++;
    k.owned.pushBack(ownedS, slot);
    const ci = cache.ctxIndex;
    const cx = CTX_STRIDE * ctxId;
    if (ci[cx + CTX_COUNT]++ === 0) ci[cx + CTX_OLDEST] = slot;
    ci[cx + CTX_NEWEST] = slot;
    if (lruS >= 0) k.lru.pushBack(lruS, slot);
    else k.lru.next[slot] = -1;
    if (objcg > 0) model.objectStat(slab, cache, memoCg, fullSize);
    k.liveObjects++;
    k.liveObjectBytes += size;
    if (ids !== null) ids.push(k.objGen[slot] * SLOT_SPAN + slot);
    done++;
    if (!stable || done >= count) continue;

    // --- the run: more objects from the same CPU slab, covered by the stock ------------------
    const s = inst.cpuSlab[cpu];
    let n = Math.min(count - done, perSlab - k.slabInuse[s]);
    if (objcg > 0 && n > 0) n = Math.min(n, model.stockedObjects(objcg, fullSize, cpu));
    if (n <= 0) continue;
    const next = k.objNext;
    const octx = k.objCtx;
    const gen = k.objGen;
    const oPrev = k.owned.prev;
    const oNext = k.owned.next;
    const lPrev = k.lru.prev;
    const lNext = k.lru.next;
    let free = k.slabFree[s];
    let oTail = oPrev[ownedS];
    let lTail = lruS >= 0 ? lPrev[lruS] : -1;
    for (let i = 0; i < n; i++) {
      const x = free;
      free = next[x];
      next[x] = s;
      octx[x] = ctxId;
      oNext[oTail] = x;
      oPrev[x] = oTail;
      oTail = x;
      if (lruS >= 0) {
        lNext[lTail] = x;
        lPrev[x] = lTail;
        lTail = x;
      } else lNext[x] = -1;
      if (ids !== null) ids.push(gen[x] * SLOT_SPAN + x);
    }
    oNext[oTail] = ownedS;
    oPrev[ownedS] = oTail;
    next[ownedS] += n;
    if (lruS >= 0) {
      lNext[lTail] = lruS;
      lPrev[lruS] = lTail;
      next[lruS] += n;
    }
    k.slabFree[s] = free;
    k.ctxLive[ctxId] += n;
    ci[cx + CTX_COUNT] += n; // the run follows an object of the same context: never the first
    ci[cx + CTX_NEWEST] = oTail;
    k.slabInuse[s] += n;
    inst.activeObjects += n;
    if (objcg > 0) {
      model.consumeStock(objcg, n * fullSize, cpu);
      model.objectStat(slab, cache, memoCg, n * fullSize);
    }
    k.allocSerial += n;
    k.liveObjects += n;
    k.liveObjectBytes += n * size;
    done += n;
  }
  return done;
}

/**
 * Room for `count` more objects of `cache` up front (one resize instead of a doubling series);
 * released slab ranges of its slab size are reused first. Capacity only: no state a command can
 * observe (a command run in parts reserves for the whole command at its start, as one call does).
 */
export function reserveForObjects(k: SlabArena, cache: KmemCache, count: number): void {
  const perSlab = cache.geometry.objectsPerSlab;
  const reusable = k.freeRanges.get(perSlab)?.length ?? 0;
  k.reserveSlots(Math.max(0, Math.ceil(count / perSlab) - reusable) * perSlab + perSlab);
}

/**
 * `slab_alloc_node` for one object of `inst` on `ctx.cpu`: the CPU slab's next free object; a full
 * (or absent) CPU slab leaves the CPU as a full slab and `___slab_alloc` takes, in this order, the
 * head of the CPU's per-CPU partial list (`slub_percpu_partial(c)`, cpu-partial.ts), the first
 * slab of the node partial list (`get_partial` → get_partial_node, which also moves more node
 * partial slabs to the CPU's list: refillCpuPartial), or a new slab. Returns the slot, or -1 when
 * no new slab could be had.
 */
function allocSlot(k: SlabArena, inst: CacheCopy, ctx: ChargeCtx): number {
  const cpu = ctx.cpu;
  let s = inst.cpuSlab[cpu];
  if (s < 0 || k.slabFree[s] < 0) {
    if (s >= 0) k.slabState[s] = SLAB_FULL;
    inst.cpuSlab[cpu] = -1;
    s = popCpuPartial(k, inst, cpu);
    if (s < 0) {
      s = inst.partialHead;
      if (s >= 0) {
        removePartial(k, inst, s);
        refillCpuPartial(k, inst, cpu, inst.root.geometry.objectsPerSlab - k.slabInuse[s]);
      } else {
        s = allocateSlab(k, inst, ctx);
        if (s < 0) return -1;
      }
    }
    k.slabState[s] = SLAB_CPU;
    inst.cpuSlab[cpu] = s;
  }
  const slot = k.slabFree[s];
  k.slabFree[s] = k.objNext[slot];
  k.objNext[slot] = s;
  k.slabInuse[s]++;
  inst.activeObjects++;
  return slot;
}

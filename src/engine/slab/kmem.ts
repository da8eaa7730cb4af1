import type { AllocOutcome, ChargeCtx } from "../charge.js";
import type { Cgroup } from "../cgroup.js";
import { assert } from "../errors.js";
import type { Instance } from "../instance.js";
import type { ReclaimStats } from "../reclaim.js";
import { CacheInstance, CTX_COUNT, CTX_NEWEST, CTX_OLDEST, CTX_STRIDE, KmemCache } from "./cache.js";
import type { Prng } from "../prng.js";
import { PID_INDEX_LIMIT } from "../tasks.js";
import { IntrusiveLists } from "./lists.js";

const SLAB_CPU = 1;
const SLAB_PARTIAL = 2;
const SLAB_FULL = 3;
const SHRINK_BATCH = 128;
const DEF_PRIORITY = 12;
/** Object ids carry a generation above this many slots, so a reused slot never answers to an old id. */
export const SLOT_SPAN = 2 ** 31;
/** Generations wrap at 2^22: 2^22 × SLOT_SPAN = 2^53, so every id is a safe integer. */
const GEN_MASK = 2 ** 22 - 1;
/** List key of the global (not memcg-aware) list_lru of a cache. */
export const GLOBAL_LRU = 0;
/**
 * The RCU grace period after which a SLAB_TYPESAFE_BY_RCU slab's pages are freed (DOMAIN §5.3).
 * A decision: grace periods take a few ms to tens of ms on real systems (HZ = 1000); 10 ms of
 * simulated time, which moves only with `advanceClock`.
 */
export const RCU_GRACE_PERIOD_MS = 10;

/** A slab free waiting for its grace period (`call_rcu(&slab->rcu_head, rcu_free_slab)`). */
interface RcuFree {
  dueMs: number;
  inst: CacheInstance;
  pages: number;
}

/**
 * All slabs and objects of one instance in typed arrays (ARCHITECTURE.md §3), with SLUB's
 * allocation and free paths (DOMAIN §5.3), per-(cache, cgroup) object lists for free-by-selection,
 * list_lru and shrinkers (§9.1). Which copy serves an allocation and what is charged is asked of
 * the instance's accounting model; this class never branches on the model's name.
 */
export class SlabSystem {
  // --- object slots -----------------------------------------------------------------------------
  // Per slot: objNext 4 B + objGen 4 B + objCtx 4 B + owned links 8 B + lru links 8 B = 28 B
  // (ARCHITECTURE.md §3; the issue "Performance" asks ≤ 32 B of RSS per live object).
  private slotCap = 0;
  private slotTop = 0;
  /** Released slot ranges by length, for reuse by new slabs. */
  private readonly freeRanges = new Map<number, number[]>();
  /**
   * A free slot: the next free slot of its slab's freelist (-1 = end). A live slot: its slab id
   * (what `objSlab` reads). A list sentinel: that list's length (IntrusiveLists.len). One array
   * serves all three, since a slot is only ever one of them at a time.
   */
  objNext = new Int32Array(0);
  /**
   * Generation of the slot, bumped at every free, so an old id never answers for a reused slot
   * (22 bits, GEN_MASK: an id could alias only after its slot was reused 4,194,304 times; the id,
   * generation × 2^31 + slot, stays a safe integer).
   */
  objGen = new Uint32Array(0);
  /**
   * The object's allocation context (-1 = not live): an index into `ctxObjcg` (the objcg charged,
   * index into objcgMemcg; 0 = root/uncharged) and `ctxPid` (the pid that allocated it, 0 for a
   * remote charge). Objects come in runs of one (objcg, pid), so one Int32 names both.
   */
  objCtx = new Int32Array(0);
  readonly ctxObjcg: number[] = [];
  readonly ctxPid: number[] = [];
  /** Live objects per context (all caches). */
  readonly ctxLive: number[] = [];
  /** objcg → pid → context id. */
  private readonly ctxIndex = new Map<number, Map<number, number>>();
  /** Recycled context ids, reused last-freed first. */
  readonly freeCtxIds: number[] = [];
  /** Contexts of exited tasks that still have live objects: recycled when the last is freed. */
  readonly exitedCtxs = new Set<number>();
  /** pid → its context ids (an array by pid: one memory access per free command, see Instance.taskIndex). */
  private readonly ctxByPid: (number[] | undefined)[] = [];
  /** The same for pids from PID_INDEX_LIMIT up (not reachable through the API). */
  private readonly ctxByBigPid = new Map<number, number[]>();

  private ctxsOfPid(pid: number): number[] | undefined {
    return pid < PID_INDEX_LIMIT ? this.ctxByPid[pid] : this.ctxByBigPid.get(pid);
  }
  /** Allocation order per (cache, charged cgroup). */
  readonly owned = new IntrusiveLists(0);
  /** list_lru membership (`lru.next[slot] !== -1` ⇔ the object is on a list_lru). */
  readonly lru = new IntrusiveLists(0);

  // --- slabs ------------------------------------------------------------------------------------
  private slabCap = 0;
  private slabTop = 0;
  private readonly freeSlabIds: number[] = [];
  slabInst = new Int32Array(0);
  slabBase = new Int32Array(0);
  slabInuse = new Int32Array(0);
  slabFree = new Int32Array(0);
  slabState = new Uint8Array(0);
  slabPrev = new Int32Array(0);
  slabNext = new Int32Array(0);

  // --- caches and objcgs ------------------------------------------------------------------------
  readonly caches = new Map<string, KmemCache>();
  readonly instances: (CacheInstance | null)[] = [];
  private nextCacheId = 1;
  /** objcg id → the cgroup it charges now (model C rewrites this on reparenting). */
  readonly objcgMemcg: Cgroup[] = [];
  /** Sub-page bytes parked on an objcg (`nr_charged_bytes`). */
  readonly objcgChargedBytes: number[] = [];
  /** Global slab pages by SLAB_RECLAIM_ACCOUNT (meminfo SReclaimable / SUnreclaim). */
  reclaimablePages = 0;
  unreclaimablePages = 0;
  /** SLAB_TYPESAFE_BY_RCU slab frees in their grace period, in due order (the grace period is fixed). */
  private rcuPending: RcuFree[] = [];
  liveObjects = 0;
  /** Bytes of live objects (slot size) — the numerator of slab utilization. */
  liveObjectBytes = 0;
  allocSerial = 0;

  constructor(private readonly sim: Instance) {
    this.growSlots(1024);
    this.growSlabs(256);
  }

  // ===== storage ================================================================================

  private growSlots(cap: number): void {
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.objNext = g32(this.objNext);
    this.objCtx = g32(this.objCtx);
    const gen = new Uint32Array(cap);
    gen.set(this.objGen);
    this.objGen = gen;
    this.owned.grow(cap, this.objNext);
    this.lru.grow(cap, this.objNext);
    this.slotCap = cap;
  }

  /** Slab id of a live slot. */
  get objSlab(): Int32Array {
    return this.objNext;
  }

  /** The slot holds a live object. */
  isLive(slot: number): boolean {
    return this.objCtx[slot] >= 0;
  }

  /** objcg charged for a live slot (0 = root/uncharged). */
  objcgOf(slot: number): number {
    return this.ctxObjcg[this.objCtx[slot]];
  }

  /** pid that allocated a live slot (0 for a remote charge). */
  pidOf(slot: number): number {
    return this.ctxPid[this.objCtx[slot]];
  }

  /** The context id of (objcg, pid), made on first use (a recycled id when one is free). */
  allocCtx(objcg: number, pid: number): number {
    let m = this.ctxIndex.get(objcg);
    if (m === undefined) {
      m = new Map();
      this.ctxIndex.set(objcg, m);
    }
    let c = m.get(pid);
    if (c !== undefined) {
      // a new task with the pid of an exited one whose objects are still live: it continues that
      // context (free by pid selects by pid), which is no longer waiting to be recycled
      if (this.exitedCtxs.size > 0) this.exitedCtxs.delete(c);
    } else {
      if (this.freeCtxIds.length > 0) {
        c = this.freeCtxIds.pop()!;
        this.ctxObjcg[c] = objcg;
        this.ctxPid[c] = pid;
        this.ctxLive[c] = 0;
      } else {
        c = this.ctxObjcg.length;
        this.ctxObjcg.push(objcg);
        this.ctxPid.push(pid);
        this.ctxLive.push(0);
      }
      m.set(pid, c);
      const byPid = this.ctxsOfPid(pid);
      if (byPid !== undefined) byPid.push(c);
      else if (pid < PID_INDEX_LIMIT) this.ctxByPid[pid] = [c];
      else this.ctxByBigPid.set(pid, [c]);
    }
    return c;
  }

  /**
   * The task `pid` exited: its contexts without live objects are recycled now, the others when
   * their last object is freed (`exitedCtxs`). Without this a month of task churn would keep one
   * context per (cgroup, task) ever seen, with its Map entries and per-cache index rows. Context
   * ids are internal (object ids are slot-based), so recycling changes no answer.
   */
  taskExited(pid: number): void {
    const ctxs = this.ctxsOfPid(pid);
    if (ctxs === undefined) return;
    for (const c of ctxs.slice()) {
      if (this.ctxLive[c] === 0) this.recycleCtx(c);
      else this.exitedCtxs.add(c);
    }
  }

  private recycleCtx(c: number): void {
    const objcg = this.ctxObjcg[c];
    const pid = this.ctxPid[c];
    const m = this.ctxIndex.get(objcg)!;
    m.delete(pid);
    if (m.size === 0) this.ctxIndex.delete(objcg);
    const byPid = this.ctxsOfPid(pid)!;
    byPid.splice(byPid.indexOf(c), 1);
    if (byPid.length === 0) {
      if (pid < PID_INDEX_LIMIT) this.ctxByPid[pid] = undefined;
      else this.ctxByBigPid.delete(pid);
    }
    this.exitedCtxs.delete(c);
    this.ctxObjcg[c] = 0;
    this.ctxPid[c] = 0;
    this.freeCtxIds.push(c);
  }

  /** Contexts in use (not recycled): a memory gauge for tests. */
  get ctxInUse(): number {
    return this.ctxObjcg.length - this.freeCtxIds.length;
  }

  /** Makes `cache`'s per-context index (KmemCache.ctxIndex) cover context `ctx`. */
  private ctxIndexOf(cache: KmemCache, ctx: number): void {
    const have = cache.ctxIndex.length / CTX_STRIDE;
    if (ctx < have) return;
    const b = new Int32Array(CTX_STRIDE * Math.max(16, 2 * have, ctx + 1)).fill(-1);
    for (let i = CTX_COUNT; i < b.length; i += CTX_STRIDE) b[i] = 0;
    b.set(cache.ctxIndex);
    cache.ctxIndex = b;
  }

  /** The live object is on a list_lru. */
  onLru(slot: number): boolean {
    return this.lru.next[slot] !== -1;
  }

  private growSlabs(cap: number): void {
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.slabInst = g32(this.slabInst);
    this.slabBase = g32(this.slabBase);
    this.slabInuse = g32(this.slabInuse);
    this.slabFree = g32(this.slabFree);
    this.slabPrev = g32(this.slabPrev);
    this.slabNext = g32(this.slabNext);
    const st = new Uint8Array(cap);
    st.set(this.slabState);
    this.slabState = st;
    this.slabCap = cap;
  }

  /** Makes room for `n` more slots without a resize. */
  private reserveSlots(n: number): void {
    if (this.slotTop + n <= this.slotCap) return;
    let cap = this.slotCap * 2;
    while (this.slotTop + n > cap) cap *= 2;
    this.growSlots(cap);
  }

  /** Reserves `n` consecutive slots (a slab's objects, or one list sentinel). */
  private takeSlots(n: number): number {
    const reuse = this.freeRanges.get(n);
    if (reuse !== undefined && reuse.length > 0) return reuse.pop()!;
    if (this.slotTop + n > this.slotCap) {
      let cap = this.slotCap * 2;
      while (this.slotTop + n > cap) cap *= 2;
      this.growSlots(cap);
    }
    const base = this.slotTop;
    this.slotTop += n;
    return base;
  }

  private newList(lists: IntrusiveLists): number {
    const s = this.takeSlots(1);
    this.objCtx[s] = -1;
    lists.initList(s);
    return s;
  }

  /** Slots reserved so far (a memory gauge). */
  get slotCapacity(): number {
    return this.slotTop;
  }

  // ===== caches =================================================================================

  createCache(
    name: string,
    objectSizeBytes: number,
    geometry: KmemCache["geometry"],
    flags: KmemCache["flags"],
    shrinker: KmemCache["shrinker"],
  ): KmemCache {
    const cache = new KmemCache(this.nextCacheId++, name, objectSizeBytes, geometry, flags, shrinker);
    cache.base = this.newInstance(cache, null, name, "active");
    this.caches.set(name, cache);
    return cache;
  }

  newInstance(cache: KmemCache, memcg: Cgroup | null, displayName: string, state: CacheInstance["state"]): CacheInstance {
    const inst = new CacheInstance(this.instances.length, cache, memcg, displayName, this.sim.config.cpuCount, state);
    this.instances.push(inst);
    if (memcg !== null) {
      cache.children.set(memcg.id, inst);
      memcg.liveCacheCount++;
    }
    return inst;
  }

  /**
   * Frees every empty slab of `inst`, CPU slabs included (`kmem_cache_shrink`: flush the CPU
   * slabs, then discard empty partial slabs whatever `min_partial` says).
   */
  shrinkInstance(inst: CacheInstance): number {
    let freed = 0;
    for (let cpu = 0; cpu < inst.cpuSlab.length; cpu++) {
      const s = inst.cpuSlab[cpu];
      if (s < 0) continue;
      inst.cpuSlab[cpu] = -1;
      if (this.slabInuse[s] === 0) {
        this.discardSlab(inst, s);
        freed++;
      } else if (this.slabInuse[s] < inst.root.geometry.objectsPerSlab) this.addPartial(inst, s);
      else this.slabState[s] = SLAB_FULL;
    }
    for (let s = inst.partialHead; s >= 0; ) {
      const next = this.slabNext[s];
      if (this.slabInuse[s] === 0) {
        this.removePartial(inst, s);
        this.discardSlab(inst, s);
        freed++;
      }
      s = next;
    }
    return freed;
  }

  /** Destroys a per-cgroup copy (it must be empty): its cgroup loses one pin. */
  destroyInstance(inst: CacheInstance): void {
    assert(inst.activeObjects === 0, "destroying a cache copy with live objects");
    this.shrinkInstance(inst);
    this.rcuBarrier(inst);
    assert(inst.slabCount === 0, "destroyed copy still holds slabs");
    inst.state = "destroyed";
    this.instances[inst.id] = null;
    if (inst.memcg !== null) {
      inst.root.children.delete(inst.memcg.id);
      inst.memcg.liveCacheCount--;
      this.sim.events.emit(this.sim.clockMs, "cache_destroyed", { cache: inst.root.name, cgroup: inst.memcg.path, displayName: inst.displayName });
      this.sim.maybeRelease(inst.memcg);
    }
  }

  /** `kmem_cache_destroy` of a root cache with no live objects: its copies and empty slabs go. */
  removeCache(cache: KmemCache): void {
    for (const inst of [...cache.children.values()]) this.destroyInstance(inst);
    this.shrinkInstance(cache.base);
    this.rcuBarrier(cache.base);
    cache.state = "destroyed";
    this.instances[cache.base.id] = null;
    this.caches.delete(cache.name);
  }

  // ===== objcgs =================================================================================

  newObjcg(memcg: Cgroup): number {
    this.objcgMemcg.push(memcg);
    this.objcgChargedBytes.push(0);
    const id = this.objcgMemcg.length - 1;
    if (!memcg.isRoot) memcg.objcgsHere.push(id);
    return id;
  }

  /** Points the objcgs that charge `from` at `to` (reparenting, DOMAIN §7.4), O(those objcgs). */
  moveObjcgs(from: Cgroup, to: Cgroup): void {
    const keep = !to.isRoot;
    for (const i of from.objcgsHere) {
      this.objcgMemcg[i] = to;
      if (keep) to.objcgsHere.push(i); // one by one: a spread of 100k+ ids would overflow the stack
    }
    from.objcgsHere.length = 0;
  }

  /**
   * A removed cgroup was released: nothing charges it any more (no live object, no copy). Its
   * objcgs (models A/B/B′ keep a cgroup's own objcg on it until now) point at the root, and its
   * emptied lists, list sentinels and per-cache entries go, so that a long churn of containers
   * keeps no memory per cgroup it ever created beyond two array entries of its objcg id.
   */
  cgroupReleased(cg: Cgroup): void {
    this.moveObjcgs(cg, this.sim.root);
    for (const cache of this.caches.values()) {
      const o = cache.ownerLists.get(cg.id);
      if (o !== undefined && this.owned.length(o) === 0) {
        cache.ownerLists.delete(cg.id);
        this.releaseSentinel(o);
      }
      const l = cache.lruLists.get(cg.id);
      if (l !== undefined && this.lru.length(l) === 0) {
        cache.lruLists.delete(cg.id);
        this.releaseSentinel(l);
      }
      cache.lruFwd.delete(cg.id);
      cache.nrDeferred.delete(cg.id);
    }
  }

  /** An emptied list's sentinel slot, reusable (a one-slot range: the next sentinel or one-object slab). */
  private releaseSentinel(s: number): void {
    const list = this.freeRanges.get(1);
    if (list === undefined) this.freeRanges.set(1, [s]);
    else list.push(s);
  }

  // ===== allocation =============================================================================

  /**
   * Allocates one object of `cache` for `memcg` (already resolved to an online cgroup) by `pid`.
   * Returns the object id, or -1 when a charge or the page allocator failed (ctx.out says why).
   */
  allocObject(cache: KmemCache, memcg: Cgroup, pid: number, reclaimable: boolean, ctx: ChargeCtx): number {
    const ids: number[] = [];
    return this.allocObjects(cache, memcg, pid, reclaimable, ctx, 1, ids) === 1 ? ids[0] : -1;
  }

  /**
   * Allocates up to `count` objects, one after another, exactly as `count` calls of `allocObject`
   * would; stops at the first failure. Returns how many were allocated (their ids appended to
   * `ids` when given).
   *
   * Fast path: after an object went through the full path (selection, charge, CPU slab), the
   * following objects that the same CPU slab holds and — model C — the obj stock already covers
   * involve no decision at all when the model says its selection is stable for the command; they
   * are taken in one tight run over the typed arrays, and their counters, stock and statistics
   * move once by the run's total (the same end values; nothing observes the state in between).
   */
  allocObjects(cache: KmemCache, memcg: Cgroup, pid: number, reclaimable: boolean, ctx: ChargeCtx, count: number, ids: number[] | null): number {
    const model = this.sim.model;
    const size = cache.geometry.sizeBytes;
    const fullSize = size + 8;
    const perSlab = cache.geometry.objectsPerSlab;
    const useLru = reclaimable && cache.shrinker !== null;
    const cpu = ctx.cpu;
    // room for the whole command up front (one resize instead of a doubling series); released
    // slab ranges of this size are reused first
    const reusable = this.freeRanges.get(perSlab)?.length ?? 0;
    this.reserveSlots(Math.max(0, Math.ceil(count / perSlab) - reusable) * perSlab + perSlab);
    let memoObjcg = -2;
    let ctxId = -1;
    let memoCg: Cgroup = this.sim.root;
    let ownedS = -1;
    let lruS = -1;
    let done = 0;
    while (done < count) {
      // --- one object through the full path ---------------------------------------------------
      this.allocSerial++;
      const sel = model.selectInstance(this, cache, memcg, ctx.gfp);
      const inst = sel.inst;
      const objcg = sel.objcg;
      const stable = sel.stable;
      if (objcg > 0 && !model.chargeObject(this, objcg, fullSize, ctx)) break;
      const slot = this.allocSlot(inst, ctx);
      if (slot < 0) {
        if (objcg > 0) model.unchargeObject(this, objcg, fullSize, cpu);
        break;
      }
      const ownerObjcg = objcg > 0 ? objcg : (inst.memcg ?? this.sim.root).objcgId;
      if (ownerObjcg !== memoObjcg) {
        memoObjcg = ownerObjcg;
        memoCg = this.objcgMemcg[ownerObjcg];
        const t = ctx.task;
        if (t !== null && t.allocCtxObjcg === ownerObjcg) ctxId = t.allocCtxId;
        else {
          ctxId = this.allocCtx(ownerObjcg, pid);
          if (t !== null) {
            t.allocCtxObjcg = ownerObjcg;
            t.allocCtxId = ctxId;
          }
        }
        this.ctxIndexOf(cache, ctxId);
        if (memoCg.listMemoCache !== cache || memoCg.state !== "online") {
          memoCg.listMemoCache = cache;
          memoCg.listMemoOwned = this.ownerList(cache, memoCg);
          memoCg.listMemoLru = -1;
        }
        ownedS = memoCg.listMemoOwned;
        if (!useLru) lruS = -1;
        else {
          if (memoCg.listMemoLru < 0) memoCg.listMemoLru = this.lruList(cache, memoCg);
          lruS = memoCg.listMemoLru;
        }
      }
      this.objCtx[slot] = ctxId;
      this.ctxLive[ctxId]++;
      this.owned.pushBack(ownedS, slot);
      const ci = cache.ctxIndex;
      const cx = CTX_STRIDE * ctxId;
      if (ci[cx + CTX_COUNT]++ === 0) ci[cx + CTX_OLDEST] = slot;
      ci[cx + CTX_NEWEST] = slot;
      if (lruS >= 0) this.lru.pushBack(lruS, slot);
      else this.lru.next[slot] = -1;
      if (objcg > 0) model.objectStat(this, cache, memoCg, fullSize);
      this.liveObjects++;
      this.liveObjectBytes += size;
      if (ids !== null) ids.push(this.objGen[slot] * SLOT_SPAN + slot);
      done++;
      if (!stable || done >= count) continue;

      // --- the run: more objects from the same CPU slab, covered by the stock ------------------
      const s = inst.cpuSlab[cpu];
      let k = Math.min(count - done, perSlab - this.slabInuse[s]);
      if (objcg > 0 && k > 0) k = Math.min(k, model.stockedObjects(objcg, fullSize, cpu));
      if (k <= 0) continue;
      const next = this.objNext;
      const octx = this.objCtx;
      const gen = this.objGen;
      const oPrev = this.owned.prev;
      const oNext = this.owned.next;
      const lPrev = this.lru.prev;
      const lNext = this.lru.next;
      let free = this.slabFree[s];
      let oTail = oPrev[ownedS];
      let lTail = lruS >= 0 ? lPrev[lruS] : -1;
      for (let i = 0; i < k; i++) {
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
      next[ownedS] += k;
      if (lruS >= 0) {
        lNext[lTail] = lruS;
        lPrev[lruS] = lTail;
        next[lruS] += k;
      }
      this.slabFree[s] = free;
      this.ctxLive[ctxId] += k;
      ci[cx + CTX_COUNT] += k; // the run follows an object of the same context: never the first
      ci[cx + CTX_NEWEST] = oTail;
      this.slabInuse[s] += k;
      inst.activeObjects += k;
      if (objcg > 0) {
        model.consumeStock(objcg, k * fullSize, cpu);
        model.objectStat(this, cache, memoCg, k * fullSize);
      }
      this.allocSerial += k;
      this.liveObjects += k;
      this.liveObjectBytes += k * size;
      done += k;
    }
    return done;
  }

  ownerList(cache: KmemCache, cg: Cgroup): number {
    let s = cache.ownerLists.get(cg.id);
    if (s === undefined) {
      s = this.newList(this.owned);
      cache.ownerLists.set(cg.id, s);
    }
    return s;
  }

  /** The list_lru an object charged to `cg` goes on: per cgroup when the era and the shrinker are memcg-aware. */
  lruKey(cache: KmemCache, cg: Cgroup): number {
    return this.sim.model.memcgAwareShrinking && cache.shrinker!.memcgAware ? cg.id : GLOBAL_LRU;
  }

  lruList(cache: KmemCache, cg: Cgroup): number {
    const key = this.lruKey(cache, cg);
    let s = cache.lruLists.get(key);
    if (s === undefined) {
      s = this.newList(this.lru);
      cache.lruLists.set(key, s);
    }
    return s;
  }

  /** The owner list a live slot is on: its objcg's cgroup now (model C reparenting splices the lists along). */
  private ownedListOf(cache: KmemCache, slot: number): number {
    const cg = this.objcgMemcg[this.objcgOf(slot)];
    // the cgroup's memo of its lists (valid while it is online) saves the Map lookup
    if (cg.listMemoCache === cache && cg.state === "online") return cg.listMemoOwned;
    return cache.ownerLists.get(cg.id)!;
  }

  /** The list_lru a live slot is on: its owner's key, followed through the splices of removed cgroups. */
  private lruListOf(cache: KmemCache, slot: number): number {
    const cg = this.objcgMemcg[this.objcgOf(slot)];
    if (cg.listMemoCache === cache && cg.listMemoLru >= 0 && cg.state === "online") return cg.listMemoLru;
    let key = this.lruKey(cache, cg);
    let s = cache.lruLists.get(key);
    while (s === undefined) {
      key = cache.lruFwd.get(key)!;
      s = cache.lruLists.get(key);
    }
    return s;
  }

  private allocSlot(inst: CacheInstance, ctx: ChargeCtx): number {
    const cpu = ctx.cpu;
    let s = inst.cpuSlab[cpu];
    if (s < 0 || this.slabFree[s] < 0) {
      // the CPU slab is full (or absent): it leaves the CPU as a full slab; take a partial or a new one
      if (s >= 0) this.slabState[s] = SLAB_FULL;
      inst.cpuSlab[cpu] = -1;
      s = inst.partialHead;
      if (s >= 0) this.removePartial(inst, s);
      else {
        s = this.newSlab(inst, ctx);
        if (s < 0) return -1;
      }
      this.slabState[s] = SLAB_CPU;
      inst.cpuSlab[cpu] = s;
    }
    const slot = this.slabFree[s];
    this.slabFree[s] = this.objNext[slot];
    this.objNext[slot] = s;
    this.slabInuse[s]++;
    inst.activeObjects++;
    return slot;
  }

  /** `allocate_slab`: pages from the page allocator, then (models A/B/B′) the page charge. */
  private newSlab(inst: CacheInstance, ctx: ChargeCtx): number {
    const g = inst.root.geometry;
    if (!this.sim.allocPhysPages(g.pagesPerSlab, ctx)) return -1;
    if (!this.sim.model.chargeSlab(this, inst, g.pagesPerSlab, ctx)) {
      // the seed: "a charge failure frees the fresh slab page and fails the allocation"
      this.sim.usedPages -= g.pagesPerSlab;
      return -1;
    }
    let id: number;
    if (this.freeSlabIds.length > 0) id = this.freeSlabIds.pop()!;
    else {
      if (this.slabTop === this.slabCap) this.growSlabs(this.slabCap * 2);
      id = this.slabTop++;
    }
    const n = g.objectsPerSlab;
    const base = this.takeSlots(n);
    // a free slot needs its freelist link and "not live"; the list links are written at allocation
    const next = this.objNext;
    const octx = this.objCtx;
    for (let i = 0; i < n; i++) {
      next[base + i] = base + i + 1;
      octx[base + i] = -1;
    }
    next[base + n - 1] = -1;
    this.slabInst[id] = inst.id;
    this.slabBase[id] = base;
    this.slabInuse[id] = 0;
    this.slabFree[id] = base;
    this.slabPrev[id] = -1;
    this.slabNext[id] = -1;
    inst.slabCount++;
    if (inst.root.flags.reclaimAccount) this.reclaimablePages += g.pagesPerSlab;
    else this.unreclaimablePages += g.pagesPerSlab;
    return id;
  }

  // ===== free ===================================================================================

  /** Resolves an object id to its live slot, or -1 (never allocated, freed, or reclaimed). */
  liveSlot(objectId: number): number {
    if (!Number.isSafeInteger(objectId) || objectId < 0) return -1;
    const slot = objectId % SLOT_SPAN;
    const gen = Math.floor(objectId / SLOT_SPAN);
    if (slot >= this.slotTop || this.objCtx[slot] < 0 || this.objGen[slot] !== gen) return -1;
    return slot;
  }

  /**
   * `kmem_cache_free` of a live slot: uncharges per the model, returns the slot to its slab and
   * frees the slab when it empties and the node already keeps `min_partial` partial slabs.
   * Returns the number of slabs freed (0 or 1).
   */
  freeSlot(slot: number, cpu: number): number {
    const freed = this.freeInRun(slot, cpu);
    this.endFreeRun();
    return freed;
  }

  // A run of frees: model C's uncharges of consecutive frees of the same (objcg, CPU, cache) are
  // applied together at the end of the run (`unchargeObjects`: the stock arithmetic object by
  // object, page uncharges and statistics summed) — the same end state as one by one.
  private runObjcg = 0;
  private runCpu = 0;
  private runCache: KmemCache | null = null;
  private runCount = 0;
  private memoCache: KmemCache | null = null;
  private memoCtx = -1;
  private memoOwned = -1;
  /** The list_lru of the memoised (cache, context), -2 = not looked up yet. */
  private memoLru = -2;
  /** Scratch for free-by-selection's picks (selectSlots with `scratch`), grown on demand. */
  private pickScratch = new Int32Array(1024);

  /** Frees `slot` within a run of frees; call `endFreeRun` after the last. Returns slabs freed (0 or 1). */
  freeInRun(slot: number, cpu: number): number {
    const s = this.objNext[slot];
    const inst = this.instances[this.slabInst[s]]!;
    const cache = inst.root;
    const ctxId = this.objCtx[slot];
    const objcg = this.ctxObjcg[ctxId];
    if (objcg > 0 && this.sim.model.objectCharging) {
      if (objcg !== this.runObjcg || cpu !== this.runCpu || cache !== this.runCache) {
        this.endFreeRun();
        this.runObjcg = objcg;
        this.runCpu = cpu;
        this.runCache = cache;
      }
      this.runCount++;
    }
    if (cache !== this.memoCache || ctxId !== this.memoCtx) {
      this.memoCache = cache;
      this.memoCtx = ctxId;
      this.memoOwned = this.ownedListOf(cache, slot);
      this.memoLru = -2;
    }
    // the per-context index (KmemCache.ctxIndex) as the slot leaves, before it is unlinked
    const ci = cache.ctxIndex;
    const cx = CTX_STRIDE * ctxId;
    if (--ci[cx + CTX_COUNT] === 0) {
      ci[cx + CTX_OLDEST] = -1;
      ci[cx + CTX_NEWEST] = -1;
    } else if (ci[cx + CTX_OLDEST] === slot || ci[cx + CTX_NEWEST] === slot) this.moveCtxEnds(ci, cx, ctxId, slot);
    this.owned.remove(slot, this.memoOwned);
    if (this.lru.next[slot] !== -1) {
      // every object of one (cache, context) is on the same list_lru (lists move only at offline)
      if (this.memoLru === -2) this.memoLru = this.lruListOf(cache, slot);
      this.lru.remove(slot, this.memoLru);
    }
    this.objCtx[slot] = -1;
    if (--this.ctxLive[ctxId] === 0 && this.exitedCtxs.size > 0 && this.exitedCtxs.has(ctxId)) {
      this.recycleCtx(ctxId);
      this.memoCtx = -1;
    }
    this.objGen[slot] = (this.objGen[slot] + 1) & GEN_MASK;
    this.liveObjects--;
    this.liveObjectBytes -= cache.geometry.sizeBytes;
    const wasFull = this.slabFree[s] < 0;
    this.objNext[slot] = this.slabFree[s];
    this.slabFree[s] = slot;
    this.slabInuse[s]--;
    inst.activeObjects--;
    if (this.slabState[s] === SLAB_PARTIAL) inst.partialFreeObjects++;
    let freed = 0;
    if (this.slabState[s] !== SLAB_CPU) {
      if (this.slabInuse[s] === 0 && inst.nrPartial >= inst.minPartial) {
        if (this.slabState[s] === SLAB_PARTIAL) this.removePartial(inst, s);
        this.discardSlab(inst, s);
        freed = 1;
      } else if (wasFull) this.addPartial(inst, s);
    } else if (inst.minPartial === 0 && this.slabInuse[s] === 0 && inst.state !== "active") {
      // a deactivated copy keeps no empty CPU slab either (cpu_partial = 0, flushed)
      for (let c = 0; c < inst.cpuSlab.length; c++) if (inst.cpuSlab[c] === s) inst.cpuSlab[c] = -1;
      this.discardSlab(inst, s);
      freed = 1;
    }
    if (inst.memcg !== null && inst.state === "dying") {
      this.endFreeRun();
      this.sim.model.afterDyingFree(this, inst);
    }
    return freed;
  }

  /**
   * Keeps a context's oldest/newest (at `cx` of a cache's ctxIndex) exact as `slot`, one of them
   * and still linked, leaves while the context keeps other objects: the next object of the same
   * context towards the newest (oldest) end takes its place. Frees by age take the oldest or newest
   * object each time, so the step is usually one link.
   */
  private moveCtxEnds(ci: Int32Array, cx: number, ctx: number, slot: number): void {
    const octx = this.objCtx;
    if (ci[cx + CTX_OLDEST] === slot) {
      const next = this.owned.next;
      let x = next[slot];
      for (; octx[x] !== ctx; x = next[x]) assert(octx[x] >= 0, "context index: no newer object of the context");
      ci[cx + CTX_OLDEST] = x;
    }
    if (ci[cx + CTX_NEWEST] === slot) {
      const prev = this.owned.prev;
      let x = prev[slot];
      for (; octx[x] !== ctx; x = prev[x]) assert(octx[x] >= 0, "context index: no older object of the context");
      ci[cx + CTX_NEWEST] = x;
    }
  }

  /** Applies the pending uncharges of the current run of frees (and forgets memoised lists). */
  endFreeRun(): void {
    this.memoCache = null;
    this.memoCtx = -1;
    const n = this.runCount;
    if (n === 0) return;
    const cache = this.runCache!;
    const objcg = this.runObjcg;
    this.runCount = 0;
    this.runObjcg = 0;
    this.runCache = null;
    const fullSize = cache.geometry.sizeBytes + 8;
    const model = this.sim.model;
    model.objectStat(this, cache, this.objcgMemcg[objcg], -fullSize * n);
    model.unchargeObjects(this, objcg, fullSize, n, this.runCpu);
  }

  private addPartial(inst: CacheInstance, s: number): void {
    this.slabState[s] = SLAB_PARTIAL;
    this.slabPrev[s] = inst.partialTail;
    this.slabNext[s] = -1;
    if (inst.partialTail >= 0) this.slabNext[inst.partialTail] = s;
    else inst.partialHead = s;
    inst.partialTail = s;
    inst.nrPartial++;
    inst.partialFreeObjects += inst.root.geometry.objectsPerSlab - this.slabInuse[s];
  }

  private removePartial(inst: CacheInstance, s: number): void {
    const p = this.slabPrev[s];
    const n = this.slabNext[s];
    if (p >= 0) this.slabNext[p] = n;
    else inst.partialHead = n;
    if (n >= 0) this.slabPrev[n] = p;
    else inst.partialTail = p;
    this.slabPrev[s] = -1;
    this.slabNext[s] = -1;
    this.slabState[s] = 0;
    inst.nrPartial--;
    inst.partialFreeObjects -= inst.root.geometry.objectsPerSlab - this.slabInuse[s];
  }

  /** `discard_slab`: pages back to the page allocator and (A/B/B′) uncharged. */
  private discardSlab(inst: CacheInstance, s: number): void {
    const g = inst.root.geometry;
    this.slabState[s] = 0;
    const base = this.slabBase[s];
    const list = this.freeRanges.get(g.objectsPerSlab);
    if (list === undefined) this.freeRanges.set(g.objectsPerSlab, [base]);
    else list.push(base);
    this.freeSlabIds.push(s);
    inst.slabCount--;
    if (inst.root.flags.typesafeByRcu) {
      // `free_slab` → `call_rcu(rcu_free_slab)`: the slab has left the cache (slabinfo counts it no
      // more), its pages, slab statistics and (A/B/B′) charge go after the grace period
      inst.rcuPages += g.pagesPerSlab;
      this.rcuPending.push({ dueMs: this.sim.clockMs + RCU_GRACE_PERIOD_MS, inst, pages: g.pagesPerSlab });
      return;
    }
    this.freeSlabPages(inst, g.pagesPerSlab);
  }

  /** `__free_slab`: the pages go back to the page allocator, the slab statistics and (A/B/B′) charges with them. */
  private freeSlabPages(inst: CacheInstance, pages: number): void {
    if (inst.root.flags.reclaimAccount) this.reclaimablePages -= pages;
    else this.unreclaimablePages -= pages;
    this.sim.usedPages -= pages;
    this.sim.model.unchargeSlab(this, inst, pages);
  }

  /** RCU callbacks whose grace period ended by `nowMs` (the simulated clock moved), oldest first. */
  completeRcuFrees(nowMs: number): void {
    let i = 0;
    const q = this.rcuPending;
    for (; i < q.length && q[i].dueMs <= nowMs; i++) {
      q[i].inst.rcuPages -= q[i].pages;
      this.freeSlabPages(q[i].inst, q[i].pages);
    }
    if (i > 0) q.splice(0, i);
  }

  /** `rcu_barrier()` before a cache (copy) is destroyed: its pending slab frees complete now. */
  private rcuBarrier(inst: CacheInstance): void {
    if (inst.rcuPages === 0) return;
    const rest: RcuFree[] = [];
    for (const f of this.rcuPending) {
      if (f.inst !== inst) rest.push(f);
      else {
        inst.rcuPages -= f.pages;
        this.freeSlabPages(inst, f.pages);
      }
    }
    this.rcuPending = rest;
  }

  /** Live objects of `cache` charged to `cg`, oldest first. */
  ownedSlots(cache: KmemCache, cg: Cgroup): number[] {
    const s = cache.ownerLists.get(cg.id);
    return s === undefined ? [] : Array.from(this.selectSlots([s], -1, Number.MAX_SAFE_INTEGER, "oldest", null));
  }

  ownedCount(cache: KmemCache, cg: Cgroup): number {
    const s = cache.ownerLists.get(cg.id);
    return s === undefined ? 0 : this.owned.length(s);
  }

  /** Live objects of `cache` allocated by `pid`, oldest first. */
  slotsOfTask(cache: KmemCache, pid: number): number[] {
    return Array.from(this.selectSlots(this.listsOfTask(cache, pid), pid, Number.MAX_SAFE_INTEGER, "oldest", null));
  }

  /**
   * Free by pid's selection (API.md §5): what `selectSlots(listsOfTask(cache, pid), pid, ...)`
   * picks, the same slots in the same order with the same PRNG draws. When one allocation context
   * of the task holds all its live objects of `cache` (a task that never moved, the usual case),
   * the walk starts at that context's oldest (newest) object and ends with its last one, instead
   * of walking the cgroup's list past every other task's objects. The caller must free every slot
   * returned before anything else reads the index (see the end of the `oldest`/`newest` walk).
   */
  selectSlotsOfTask(cache: KmemCache, pid: number, count: number, order: string, prng: Prng | null): Int32Array {
    const ctxs = this.ctxsOfPid(pid);
    if (ctxs === undefined) return new Int32Array(0);
    const ci = cache.ctxIndex;
    let only = -1;
    for (const c of ctxs) {
      if (CTX_STRIDE * c >= ci.length || ci[CTX_STRIDE * c + CTX_COUNT] === 0) continue;
      if (only >= 0) return this.selectSlots(this.listsOfTask(cache, pid), pid, count, order, prng, true);
      only = c;
    }
    if (only < 0) return new Int32Array(0);
    const cx = CTX_STRIDE * only;
    const have = ci[cx + CTX_COUNT];
    const octx = this.objCtx;
    if (order === "random" || order === "every-other") {
      const pool = new Int32Array(have);
      const next = this.owned.next;
      for (let x = ci[cx + CTX_OLDEST], n = 0; n < have; x = next[x]) if (octx[x] === only) pool[n++] = x;
      return this.pickFromPool(pool, have, count, order, prng);
    }
    const want = Math.min(count, have);
    if (this.pickScratch.length < want) this.pickScratch = new Int32Array(Math.max(want, 2 * this.pickScratch.length));
    const out = this.pickScratch.subarray(0, want);
    const link = order === "oldest" ? this.owned.next : this.owned.prev;
    let x = ci[cx + (order === "oldest" ? CTX_OLDEST : CTX_NEWEST)];
    for (let k = 0; k < want; x = link[x]) if (octx[x] === only) out[k++] = x;
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
  listsOfTask(cache: KmemCache, pid: number): number[] {
    const ctxs = this.ctxsOfPid(pid);
    if (ctxs === undefined) return [];
    // the usual case: every live object of the task charges one cgroup
    let only = -1;
    let onlyCtx = -1;
    let several = false;
    for (const c of ctxs) {
      if (this.ctxLive[c] === 0) continue;
      const id = this.objcgMemcg[this.ctxObjcg[c]].id;
      if (only < 0) {
        only = id;
        onlyCtx = c;
      } else if (id !== only) several = true;
    }
    if (only < 0) return [];
    if (!several) {
      // the cgroup's memo of its lists (valid while it is online) saves the Map lookup
      const cg = this.objcgMemcg[this.ctxObjcg[onlyCtx]];
      if (cg.listMemoCache === cache && cg.state === "online") return [cg.listMemoOwned];
      const s = cache.ownerLists.get(only);
      return s === undefined ? [] : [s];
    }
    const cgIds = new Set<number>();
    for (const c of ctxs) if (this.ctxLive[c] > 0) cgIds.add(this.objcgMemcg[this.ctxObjcg[c]].id);
    const out: number[] = [];
    for (const [id, s] of cache.ownerLists) if (cgIds.has(id)) out.push(s);
    return out;
  }

  /** `every-other` or `random` (seeded Fisher-Yates) picks of up to `count` of `pool[0..n)`, in allocation order. */
  private pickFromPool(pool: Int32Array, n: number, count: number, order: string, prng: Prng | null): Int32Array {
    if (order === "every-other") {
      const k = Math.min(count, (n + 1) >> 1);
      const out = new Int32Array(k);
      for (let i = 0; i < k; i++) out[i] = pool[2 * i];
      return out;
    }
    const p = pool.subarray(0, n);
    const k = Math.min(count, n);
    for (let i = 0; i < k; i++) {
      const j = i + prng!.below(n - i);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p.slice(0, k);
  }

  /**
   * Free-by-selection (API.md §5): the pool is the objects on the owner lists `lists`, in that
   * order, each oldest first, restricted to those allocated by `pid` (-1 = all). Returns up to
   * `count` of them: the oldest, the newest (newest first), every other one from the oldest, or a
   * random choice (a partial Fisher–Yates shuffle of the pool drawing from `prng`). No JS object
   * per candidate: the pool is walked in place, and only `random` gathers it into a typed array.
   */
  selectSlots(
    lists: number[],
    pid: number,
    count: number,
    order: string,
    prng: Prng | null,
    scratch = false,
  ): Int32Array {
    const next = this.owned.next;
    const prev = this.owned.prev;
    const octx = this.objCtx;
    const cpid = this.ctxPid;
    let total = 0;
    for (const s of lists) total += this.owned.len[s];
    if (order === "random" || order === "every-other") {
      // gather the pool (filtered by pid) in order
      const pool = new Int32Array(total);
      let n = 0;
      for (const s of lists)
        for (let x = next[s]; x !== s; x = next[x]) if (pid < 0 || cpid[octx[x]] === pid) pool[n++] = x;
      return this.pickFromPool(pool, n, count, order, prng);
    }
    // `scratch`: the caller consumes the picks before the next selection (a free command), so
    // one reused buffer serves instead of a fresh ArrayBuffer per command
    const want = Math.min(count, total);
    let out: Int32Array;
    if (!scratch) out = new Int32Array(want);
    else {
      if (this.pickScratch.length < want) this.pickScratch = new Int32Array(Math.max(want, 2 * this.pickScratch.length));
      out = this.pickScratch.subarray(0, want);
    }
    let k = 0;
    if (order === "oldest") {
      for (let li = 0; li < lists.length && k < out.length; li++) {
        const s = lists[li];
        for (let x = next[s]; x !== s && k < out.length; x = next[x]) if (pid < 0 || cpid[octx[x]] === pid) out[k++] = x;
      }
    } else {
      // newest: the last `count` of the pool, newest first
      for (let li = lists.length - 1; li >= 0 && k < out.length; li--) {
        const s = lists[li];
        for (let x = prev[s]; x !== s && k < out.length; x = prev[x]) if (pid < 0 || cpid[octx[x]] === pid) out[k++] = x;
      }
    }
    return k === out.length ? out : out.slice(0, k);
  }

  // ===== shrinkers (DOMAIN §9.1) ================================================================

  /**
   * `shrink_slab(memcg, priority)`: for a non-root cgroup only memcg-aware shrinkers with objects
   * on that cgroup's list_lru run; at the root (global reclaim) every shrinker runs, memcg-aware
   * ones on the root's own list and the others on their global list. Returns slab pages freed.
   */
  shrinkSlab(memcg: Cgroup, priority: number, _global: boolean, stats: ReclaimStats): number {
    let freedPages = 0;
    for (const cache of this.caches.values()) {
      if (cache.shrinker === null) continue;
      const aware = this.sim.model.memcgAwareShrinking && cache.shrinker.memcgAware;
      if (!memcg.isRoot && !aware) continue;
      const key = aware ? memcg.id : GLOBAL_LRU;
      const list = cache.lruLists.get(key);
      if (list === undefined) continue;
      const freed = this.doShrinkSlab(cache, key, list, priority, stats);
      // a global list's pages count at the root (memcg is the root whenever a global list runs)
      for (let c: Cgroup | null = memcg; c !== null && freed > 0; c = c.parent) c.reclaimedSlabPagesTotal += freed;
      freedPages += freed;
    }
    return freedPages;
  }

  /** `do_shrink_slab` arithmetic, exactly as DOMAIN §9.1 gives it (6.x form). */
  private doShrinkSlab(cache: KmemCache, key: number, list: number, priority: number, stats: ReclaimStats): number {
    const freeable = this.lru.length(list);
    if (freeable === 0) return 0;
    const seeks = cache.shrinker!.seeks;
    const nr = cache.nrDeferred.get(key) ?? 0;
    cache.nrDeferred.set(key, 0);
    const delta = seeks > 0 ? Math.floor((Math.floor(freeable / 2 ** priority) * 4) / seeks) : Math.floor(freeable / 2);
    let total = Math.min(Math.floor(nr / 2 ** priority) + delta, 2 * freeable);
    let scanned = 0;
    let freedPages = 0;
    while (total >= SHRINK_BATCH || total >= freeable) {
      const n = Math.min(SHRINK_BATCH, total);
      freedPages += this.scanObjects(list, n, stats);
      total -= n;
      scanned += n;
      if (n === 0) break;
    }
    stats.scannedObjects += scanned;
    const next = Math.min(Math.max(nr + delta - scanned, 0), 2 * freeable);
    cache.nrDeferred.set(key, (cache.nrDeferred.get(key) ?? 0) + next);
    return freedPages;
  }

  /** `list_lru_walk` + free: the `n` oldest objects of the list are freed (they are gone for good). */
  private scanObjects(list: number, n: number, stats: ReclaimStats): number {
    let freedPages = 0;
    for (let i = 0; i < n; i++) {
      const slot = this.lru.first(list);
      if (slot < 0) break;
      const pages = this.instances[this.slabInst[this.objSlab[slot]]]!.root.geometry.pagesPerSlab;
      const freedSlabs = this.freeSlot(slot, 0);
      stats.freedObjects++;
      stats.freedSlabs += freedSlabs;
      freedPages += freedSlabs * pages;
    }
    stats.slabPages += freedPages;
    this.sim.reclaimedBytesTotal.slab += freedPages * 4096;
    return freedPages;
  }

  /** Moves a dying cgroup's lists of every cache to its parent (list_lru / objcg reparenting). */
  spliceLists(child: Cgroup, parent: Cgroup, owner: boolean, lru: boolean): void {
    for (const cache of this.caches.values()) {
      if (owner) {
        const src = cache.ownerLists.get(child.id);
        if (src !== undefined) {
          this.owned.splice(this.ownerList(cache, parent), src);
          cache.ownerLists.delete(child.id);
          this.releaseSentinel(src);
        }
      }
      if (lru && cache.shrinker !== null && this.lruKey(cache, child) !== GLOBAL_LRU) {
        const src = cache.lruLists.get(child.id);
        if (src !== undefined) {
          this.lru.splice(this.lruList(cache, parent), src);
          cache.lruLists.delete(child.id);
          this.releaseSentinel(src);
          cache.lruFwd.set(child.id, parent.id);
          const d = cache.nrDeferred.get(child.id) ?? 0;
          cache.nrDeferred.delete(child.id);
          if (d > 0) cache.nrDeferred.set(parent.id, (cache.nrDeferred.get(parent.id) ?? 0) + d);
        }
      }
    }
  }

  /** Unused in the hot path; kept for the invariant checker: objects of a slab counted by walking its freelist. */
  freeCountOfSlab(s: number): number {
    let n = 0;
    for (let x = this.slabFree[s]; x >= 0; x = this.objNext[x]) n++;
    return n;
  }

  /** Iterates every live slab id of an instance (for invariant checks). */
  *slabsOf(inst: CacheInstance): Generator<number> {
    for (let s = 0; s < this.slabTop; s++) if (this.slabState[s] !== 0 && this.slabInst[s] === inst.id) yield s;
  }

  isSlabLive(s: number): boolean {
    return this.slabState[s] !== 0;
  }

  get slabIdTop(): number {
    return this.slabTop;
  }

  /** For outcome bookkeeping of frees that a reclaim pass started. */
  static noOutcome(): AllocOutcome {
    return { reclaimedPages: 0, oomKilledPids: [], selfKilled: false, throttleMs: 0, failedAt: null };
  }
}

import type { Cgroup } from "../cgroup.js";
import type { InstanceConfig } from "../config.js";
import type { EventLog } from "../events.js";
import type { ChargeCtx, SlabHeader } from "../kernel.js";
import type { Era } from "../models/era.js";
import type { AccountingModel } from "../models/model.js";
import type { CacheCopy, KmemCache } from "./cache.js";
import { grow, IntrusiveLists } from "./lists.js";

// The storage of the slab allocator of one simulation: every object slot and slab in typed
// arrays (docs/ARCHITECTURE.md §3, docs/ENGINE.md "Where the numbers live"), and the state the SLUB
// paths share. No kernel rule lives here, only layout; the paths are functions over this state in
// the files beside it (alloc.ts, pages.ts, free.ts, rcu.ts, slab-common.ts, objctx.ts, list-lru.ts,
// shrinker.ts, select.ts), and kmem.ts (`SlabSystem`) is their façade.

/** Slab states (`slabState`): 0 = not a live slab. */
export const SLAB_CPU = 1;
export const SLAB_PARTIAL = 2;
export const SLAB_FULL = 3;
/** On a CPU's per-CPU partial list (`c->partial`, cpu-partial.ts): frozen until unfrozen or taken. */
export const SLAB_CPU_PARTIAL = 4;
/** Object ids carry a generation above this many slots, so a reused slot never answers to an old id. */
export const SLOT_SPAN = 2 ** 31;
/** Generations wrap at 2^22: 2^22 × SLOT_SPAN = 2^53, so every id is a safe integer. */
export const GEN_MASK = 2 ** 22 - 1;

/**
 * The simulation as the slab allocator sees it (Simulation satisfies it): what the paths read and
 * the up-calls they make — pages from the page allocator, a cgroup release check. Typed here, not
 * as the Simulation class, so that no slab file imports simulation.ts (which imports the slab).
 */
export interface SlabHost {
  readonly config: Pick<InstanceConfig, "cpuCount">;
  readonly model: AccountingModel;
  /** The era's SLUB per-CPU partial rule (objects ≤ 5.15, slabs 5.16+). */
  readonly era: Pick<Era, "cpuPartial" | "emptySlabDiscard">;
  readonly events: EventLog;
  readonly root: Cgroup;
  /** The façade over this arena (the same object), as the model's hooks are given it. */
  readonly slab: SlabHeader;
  readonly clockMs: number;
  usedPages: number;
  readonly reclaimedBytesTotal: { slab: number };
  /** The page allocator: `n` pages for `ctx`, reclaiming or OOM-killing as the kernel would; false = none. */
  allocPhysPages(n: number, ctx: ChargeCtx): boolean;
  /** A dying cgroup lost a pin (a copy): it is released when nothing pins it any more. */
  maybeRelease(cg: Cgroup): void;
}

/** A slab free waiting for its grace period (`call_rcu(&slab->rcu_head, rcu_free_slab)`, rcu.ts). */
export interface RcuFree {
  dueMs: number;
  inst: CacheCopy;
  pages: number;
}

export class SlabArena {
  // --- object slots -----------------------------------------------------------------------------
  // Per slot: objNext 4 B + objGen 4 B + objCtx 4 B + owned links 8 B + lru links 8 B = 28 B
  // (docs/ARCHITECTURE.md §3; the issue "Performance" asks ≤ 32 B of RSS per live object).
  slotCap = 0;
  slotTop = 0;
  /** Released slot ranges by length, for reuse by new slabs. */
  readonly freeRanges = new Map<number, number[]>();
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
   * remote charge). Objects come in runs of one (objcg, pid), so one Int32 names both (objctx.ts).
   */
  objCtx = new Int32Array(0);
  readonly ctxObjcg: number[] = [];
  readonly ctxPid: number[] = [];
  /** Live objects per context (all caches). */
  readonly ctxLive: number[] = [];
  /** objcg → pid → context id. */
  readonly ctxIndex = new Map<number, Map<number, number>>();
  /** Recycled context ids, reused last-freed first. */
  readonly freeCtxIds: number[] = [];
  /** Contexts of exited tasks that still have live objects: recycled when the last is freed. */
  readonly exitedCtxs = new Set<number>();
  /** pid → its context ids (an array by pid: one memory access per free command, see Simulation.taskIndex). */
  readonly ctxByPid: (number[] | undefined)[] = [];
  /** The same for pids from PID_INDEX_LIMIT up (not reachable through the API). */
  readonly ctxByBigPid = new Map<number, number[]>();
  /** Allocation order per (cache, charged cgroup). */
  readonly owned = new IntrusiveLists(0);
  /** list_lru membership (`lru.next[slot] !== -1` ⇔ the object is on a list_lru). */
  readonly lru = new IntrusiveLists(0);

  // --- slabs ------------------------------------------------------------------------------------
  slabCap = 0;
  slabTop = 0;
  readonly freeSlabIds: number[] = [];
  slabInst = new Int32Array(0);
  slabBase = new Int32Array(0);
  slabInuse = new Int32Array(0);
  slabFree = new Int32Array(0);
  slabState = new Uint8Array(0);
  slabPrev = new Int32Array(0);
  slabNext = new Int32Array(0);
  /**
   * A slab on a per-CPU partial list: what put_cpu_partial recorded for the list from it down —
   * `page->pobjects` (free objects at each put, ≤ 5.15) or `slab->slabs` (5.16+).
   */
  slabCpuPartialAcc = new Int32Array(0);

  // --- caches and objcgs ------------------------------------------------------------------------
  readonly caches = new Map<string, KmemCache>();
  readonly instances: (CacheCopy | null)[] = [];
  nextCacheId = 1;
  /** objcg id → the cgroup it charges now (model C rewrites this on reparenting). */
  readonly objcgMemcg: Cgroup[] = [];
  /** Sub-page bytes parked on an objcg (`nr_charged_bytes`). */
  readonly objcgChargedBytes: number[] = [];
  /** Global slab pages by SLAB_RECLAIM_ACCOUNT (meminfo SReclaimable / SUnreclaim). */
  reclaimablePages = 0;
  unreclaimablePages = 0;
  /** SLAB_TYPESAFE_BY_RCU slab frees in their grace period, in due order (the grace period is fixed). */
  rcuPending: RcuFree[] = [];
  liveObjects = 0;
  /** Bytes of live objects (slot size) — the numerator of slab utilization. */
  liveObjectBytes = 0;
  allocSerial = 0;

  // --- a run of frees (free.ts) ------------------------------------------------------------------
  // Model C's uncharges of consecutive frees of the same (objcg, CPU, cache) are applied together
  // at the end of the run (`unchargeObjects`: the stock arithmetic object by object, page
  // uncharges and statistics summed) — the same end state as one by one.
  runObjcg = 0;
  runCpu = 0;
  runCache: KmemCache | null = null;
  runCount = 0;
  memoCache: KmemCache | null = null;
  memoCtx = -1;
  memoOwned = -1;
  /** The list_lru of the memoised (cache, context), -2 = not looked up yet. */
  memoLru = -2;
  /** Scratch for free-by-selection's picks (select.ts with `scratch`), grown on demand. */
  pickScratch = new Int32Array(1024);

  constructor(readonly sim: SlabHost) {
    this.growSlots(1024);
    this.growSlabs(256);
  }

  growSlots(cap: number): void {
    this.objNext = grow(this.objNext, cap);
    this.objCtx = grow(this.objCtx, cap);
    this.objGen = grow(this.objGen, cap);
    this.owned.grow(cap, this.objNext);
    this.lru.grow(cap, this.objNext);
    this.slotCap = cap;
  }

  growSlabs(cap: number): void {
    this.slabInst = grow(this.slabInst, cap);
    this.slabBase = grow(this.slabBase, cap);
    this.slabInuse = grow(this.slabInuse, cap);
    this.slabFree = grow(this.slabFree, cap);
    this.slabPrev = grow(this.slabPrev, cap);
    this.slabNext = grow(this.slabNext, cap);
    this.slabCpuPartialAcc = grow(this.slabCpuPartialAcc, cap);
    this.slabState = grow(this.slabState, cap);
    this.slabCap = cap;
  }

  /** Makes room for `n` more slots without a resize. */
  reserveSlots(n: number): void {
    if (this.slotTop + n <= this.slotCap) return;
    let cap = this.slotCap * 2;
    while (this.slotTop + n > cap) cap *= 2;
    this.growSlots(cap);
  }

  /** Reserves `n` consecutive slots (a slab's objects, or one list sentinel). */
  takeSlots(n: number): number {
    const reuse = this.freeRanges.get(n);
    if (reuse !== undefined && reuse.length > 0) return reuse.pop()!;
    this.reserveSlots(n);
    const base = this.slotTop;
    this.slotTop += n;
    return base;
  }

  /** Gives back `n` consecutive slots from `base` for reuse by size (a discarded slab, an emptied list's sentinel). */
  releaseSlots(base: number, n: number): void {
    const list = this.freeRanges.get(n);
    if (list === undefined) this.freeRanges.set(n, [base]);
    else list.push(base);
  }

  /** A new slab id (a released one first). */
  takeSlabId(): number {
    if (this.freeSlabIds.length > 0) return this.freeSlabIds.pop()!;
    if (this.slabTop === this.slabCap) this.growSlabs(this.slabCap * 2);
    return this.slabTop++;
  }

  /** A new list of `lists` (owner list or list_lru): its sentinel takes one slot. */
  newList(lists: IntrusiveLists): number {
    const s = this.takeSlots(1);
    this.objCtx[s] = -1;
    lists.initList(s);
    return s;
  }

  // ===== queries ================================================================================

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

  /** The live object is on a list_lru. */
  onLru(slot: number): boolean {
    return this.lru.next[slot] !== -1;
  }

  /** Resolves an object id to its live slot, or -1 (never allocated, freed, or reclaimed). */
  liveSlot(objectId: number): number {
    if (!Number.isSafeInteger(objectId) || objectId < 0) return -1;
    const slot = objectId % SLOT_SPAN;
    const gen = Math.floor(objectId / SLOT_SPAN);
    if (slot >= this.slotTop || this.objCtx[slot] < 0 || this.objGen[slot] !== gen) return -1;
    return slot;
  }

  /** Slots reserved so far (a memory gauge). */
  get slotCapacity(): number {
    return this.slotTop;
  }

  /** Contexts in use (not recycled): a memory gauge for tests. */
  get ctxInUse(): number {
    return this.ctxObjcg.length - this.freeCtxIds.length;
  }

  /** For the invariant checker: objects of a slab counted by walking its freelist. */
  freeCountOfSlab(s: number): number {
    let n = 0;
    for (let x = this.slabFree[s]; x >= 0; x = this.objNext[x]) n++;
    return n;
  }

  /** Slabs on the per-CPU partial list starting at slab `head` (-1: none), for views and checks. */
  cpuPartialLength(head: number): number {
    let n = 0;
    for (let s = head; s >= 0; s = this.slabNext[s]) n++;
    return n;
  }

  /** Iterates every live slab id of an instance (for invariant checks). */
  *slabsOf(inst: CacheCopy): Generator<number> {
    for (let s = 0; s < this.slabTop; s++)
      if (this.slabState[s] !== 0 && this.slabInst[s] === inst.id) yield s;
  }

  get slabIdTop(): number {
    return this.slabTop;
  }
}

import type { AllocResult, Command } from "../engine/index.js";
import {
  EV_CACHE_ALLOC,
  EV_CACHE_FREE,
  EV_EXIT,
  EV_FORK,
  EV_KFREE,
  EV_KMALLOC,
  EV_PAGE_ALLOC,
  EV_PAGE_FREE,
  KMALLOC_MAX_CACHE_SIZE,
  kmallocCacheName,
  orderOf,
  ptrIsNull,
  ptrText,
  type SkipReason,
  type TraceEvent,
} from "./parse.js";

/** A NULL pointer as the trace prints it (`%p` of NULL: all zeros, with or without 0x). */
export function isNullPtr(ptr: string): boolean {
  for (let i = ptr.startsWith("0x") ? 2 : 0; i < ptr.length; i++) if (ptr.charCodeAt(i) !== 48) return false;
  return true;
}

/**
 * Live objects by pointer: pointers of the usual shape under their numeric key (ptrHi, ptrLo; one
 * map of the lower 32 bits per upper key), any other text under itself. A pointer's text has one
 * key, so a free finds its allocation exactly as a map of the texts would.
 */
class PtrMap {
  private readonly byHi = new Map<number, Map<number, number>>();
  private readonly byText = new Map<string, number>();
  private lastHi = -1;
  private last: Map<number, number> | undefined;

  private lows(hi: number, create: boolean): Map<number, number> | undefined {
    if (hi === this.lastHi) return this.last;
    let m = this.byHi.get(hi);
    if (m === undefined) {
      if (!create) return undefined;
      m = new Map();
      this.byHi.set(hi, m);
    }
    this.lastHi = hi;
    this.last = m;
    return m;
  }

  get(hi: number, lo: number, text: string): number | undefined {
    if (hi < 0) return this.byText.get(text);
    return this.lows(hi, false)?.get(lo);
  }

  set(hi: number, lo: number, text: string, id: number): void {
    if (hi < 0) this.byText.set(text, id);
    else this.lows(hi, true)!.set(lo, id);
  }

  delete(hi: number, lo: number, text: string): void {
    if (hi < 0) this.byText.delete(text);
    else this.lows(hi, false)?.delete(lo);
  }
}

/** Slab geometry of a cache as `/sys/kernel/slab` shows it (the recording's `caches`). */
export interface CacheGeometry {
  object_size: number;
  slab_size?: number;
  objs_per_slab?: number;
  order?: number;
  align?: number;
  reclaim_account?: boolean;
  destroy_by_rcu?: boolean;
  hwcache_align?: boolean;
}

/** The counters a replay reports per cgroup (API of issue #15). */
export const COUNTERS = [
  "memory.kmem.usage_in_bytes",
  "memory.usage_in_bytes",
  "memory.failcnt",
  "oom_kill",
] as const;
export type Counters = Record<(typeof COUNTERS)[number], number>;

export interface OomKill {
  pid: number;
  cgroup: string;
  /** 1-based line of the trace whose allocation triggered the kill. */
  atLine: number;
}

export interface LineCounts {
  parsed: number;
  used: number;
  skipped: Record<string, number>;
}

/** What the replay needs from an instance: run a command, read a cgroup file. */
export interface ReplayTarget {
  exec(cmd: Command): unknown;
  read(path: string, file: string): string;
  cgroupVersion: 1 | 2;
  cpuCount: number;
  /** Cache names that exist already. */
  hasCache(name: string): boolean;
  /** Tasks that exist already. */
  hasTask(pid: number): boolean;
  /** Whether allocations charged to `path` can never hit a limit (no limit on it or an ancestor). */
  unlimited(path: string): boolean;
  /** Registers caches accounted on first sight (rfc-2012: `register_memcg_cache`). */
  registersAccountedCaches: boolean;
  /**
   * How to register them: as at boot (a recording's own instance: the engine's
   * registerCacheAtBoot, which gives the cgroups that exist what they would have had had the cache
   * been registered before they were created), or, when absent, the `registerCache` command (the
   * service's journaled path: cgroups that exist get no copy).
   */
  registerAtBoot?: (name: string) => void;
  /**
   * Optional fast entries, where the commands need not pass through `exec` (a recording's own
   * instance; not the service's journaled path): the same state, events and answers as exec of
   * the command. `allocObjects`: `{ op: "allocObjects", cache, pid, count, gfp, reclaimable:
   * false, returnObjectIds: true }`, the ids appended to `ids`, returns the result's
   * oomKilledPids. `freeObjects`: `{ op: "freeObjects", objectIds: ids[0..n), cpu }`.
   */
  allocObjects?: (cache: string, pid: number, count: number, gfp: string, ids: number[]) => readonly number[];
  freeObjects?: (ids: readonly number[], n: number, cpu: number) => void;
}

export interface ReplayerOptions {
  /** pid → cgroup path (placed in it already, or spawned by the replayer when absent). */
  pidCgroups: Map<number, string>;
  /** cgroup path → the name the report uses. */
  labels: Map<string, string>;
  caches: Record<string, CacheGeometry>;
  /** CPU of a task the replayer spawns (folded into the instance's CPUs). */
  cpuOf: (pid: number) => number;
  /** Batch consecutive allocations of one cache by one pid into one allocObjects (default true). */
  batch?: boolean;
  /**
   * Where the trace shows the kernel failing an accounted object allocation (a NULL pointer), let
   * another cgroup take over that CPU's object stock first (see Replayer.takeOverObjStock).
   * Creates the top-level cgroup FOREIGN_CGROUP in the instance. Default false.
   */
  foreignStockSwitch?: boolean;
}

/**
 * The `createCache` of a cache the trace allocates from, first seen with `bytesAlloc`: its
 * geometry from the recording's `caches`, else the trace's slot size; null when the engine cannot
 * hold it (the replay skips its lines as `badCache`).
 */
export function createCacheCommand(
  name: string,
  bytesAlloc: number,
  caches: Record<string, CacheGeometry>,
): Command | null {
  const g = caches[name];
  const rcu = g?.destroy_by_rcu ?? false;
  // the engine lays out `objectSizeBytes` (+8 for the free pointer of a SLAB_TYPESAFE_BY_RCU
  // cache) rounded to the alignment; the kernel's slot is `slab_size` (= the trace's
  // bytes_alloc), which also holds what the engine does not model (a free pointer moved out
  // of an object with a constructor, red zones): the slot size is what v5.9 charges (+8)
  const slot = g?.slab_size ?? bytesAlloc;
  const objectSizeBytes = rcu ? slot - 8 : slot;
  if (!(objectSizeBytes >= 1 && objectSizeBytes <= 8192) || !/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/.test(name))
    return null;
  return {
    op: "createCache",
    name,
    objectSizeBytes,
    alignBytes: 8,
    flags: { reclaimAccount: g?.reclaim_account ?? false, typesafeByRcu: rcu },
    // the trace frees the objects; no simulated shrinker may
    shrinker: null,
  };
}

/**
 * Whether an ACCOUNT page allocation's gfp is the page tables' (x86_64, 6.x): `GFP_PGTABLE_USER`
 * = GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT (include/asm-generic/pgalloc.h), and
 * `pagetable_alloc` adds __GFP_COMP (include/linux/mm.h) — traced as
 * `GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP` for pte, pmd, pud pages and the order-1 pgd. The
 * eras that did not charge page tables (before 4.8, 3e79ec7ddcb2) then do not charge them. A
 * zeroed GFP_KERNEL_ACCOUNT large kmalloc prints the same flags; the kmalloc line that follows
 * its pages tells it apart (Replayer.largeAlloc).
 */
export function isPageTableGfp(gfp: string): boolean {
  return gfp === "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP" || gfp === "GFP_KERNEL_ACCOUNT|__GFP_ZERO";
}

/** The cgroup whose allocations stand for the other cgroups on a CPU (foreignStockSwitch). */
export const FOREIGN_CGROUP = "/memcg-sim-replay-other";
const FOREIGN_CACHE = "memcg-sim-replay-other";

/**
 * Drives one instance through a trace, event by event, in the engine's command language. Frees
 * are matched by pointer (slab objects, large kmalloc) or pfn (accounted pages); a fork charges the
 * child's kernel stack to its parent's cgroup and an exit gives it back; the trace's timestamps
 * move the simulated clock (RCU grace periods). Allocations are never reclaimable: the objects
 * leave when the trace frees them, not when the simulator's shrinkers would.
 */
export class Replayer {
  readonly counts: LineCounts = { parsed: 0, used: 0, skipped: {} };
  readonly oomKills: OomKill[] = [];
  readonly killsByPath = new Map<string, number>();
  /** Notes on lines that were used but repaired (a pointer allocated again without its free). */
  readonly notes: Record<string, number> = {};
  private readonly objects = new PtrMap();
  private readonly largeKmalloc = new Map<string, number>();
  private readonly pages = new Map<string, number>();
  private readonly pagePfn = new Map<number, string>();
  private readonly stacks = new Map<number, number>();
  private readonly killed = new Set<number>();
  /** CPU → the FOREIGN_CGROUP task on it (foreignStockSwitch). */
  private readonly foreignTasks = new Map<number, number>();
  /** Pids whose sched_process_exit was seen: their later allocation lines are not theirs to make. */
  private readonly exited = new Set<number>();
  private readonly knownCaches = new Set<string>();
  private readonly registered = new Set<string>();
  private readonly batchable = new Map<string, boolean>();
  private t0 = Number.NaN;
  private clockMs = 0;
  // pending allocation batch
  private aCache = "";
  private aPid = 0;
  private aGfp = "";
  private aMs = 0;
  /** Allocations pending (the arrays below are reused: entries past aN are stale). */
  private aN = 0;
  private aPtrHi: number[] = [];
  private aPtrLo: number[] = [];
  private aPtrText: string[] = [];
  private aLines: number[] = [];
  // pending free batch
  private fIds: number[] = [];
  private fMs = 0;
  private fCpu = 0;
  /** Last accounted page allocation per pid (a large kmalloc's pages show as one just before it). */
  private lastPage: {
    pid: number;
    order: number;
    id: number;
    lineNo: number;
    pfn: string;
    pageTable: boolean;
  } | null = null;

  /** The fast entries of the target, if it has them. */
  private readonly fastAlloc: ReplayTarget["allocObjects"];
  private readonly fastFree: ReplayTarget["freeObjects"];
  /** The ids of the last fast allocation (reused). */
  private readonly fastIds: number[] = [];

  constructor(
    private readonly target: ReplayTarget,
    private readonly opts: ReplayerOptions,
  ) {
    this.fastAlloc = target.allocObjects;
    this.fastFree = target.freeObjects;
  }

  private skip(reason: SkipReason, n = 1): void {
    this.counts.skipped[reason] = (this.counts.skipped[reason] ?? 0) + n;
  }

  /** A line that did not parse as a usable event (counted once per model). */
  unusable(reason: SkipReason): void {
    this.counts.parsed++;
    this.skip(reason);
  }

  private advance(ms: number): void {
    if (ms > this.clockMs) {
      this.target.exec({ op: "advanceClock", ms: ms - this.clockMs });
      this.clockMs = ms;
    }
  }

  private msOf(ts: number): number {
    if (Number.isNaN(this.t0)) this.t0 = ts;
    const us = Math.round((ts - this.t0) * 1e6);
    return us <= 0 ? 0 : Math.floor(us / 1000);
  }

  /** Moves the clock by `ms` past the last event (the recording read `after` 2 s after the end). */
  finish(extraMs: number): void {
    this.flush();
    if (extraMs > 0) this.advance(this.clockMs + extraMs);
  }

  flush(): void {
    if (this.aN > 0) this.flushAllocs();
    if (this.fIds.length > 0) this.flushFrees();
  }

  /** gfp_flags as printed → the engine's gfp text, for accounted and unaccounted allocations. */
  private readonly gfpMemo = new Map<string, string>();
  private readonly gfpMemoAccounted = new Map<string, string>();
  /** bytes_alloc × 2 + accounted → kmalloc cache name. */
  private readonly kmallocNames = new Map<number, string>();

  private gfpOf(ev: TraceEvent): string {
    const memo = ev.accounted ? this.gfpMemoAccounted : this.gfpMemo;
    let s = memo.get(ev.gfp);
    if (s === undefined) {
      s = this.gfpText(ev);
      if (memo.size < 1024) memo.set(ev.gfp, s);
    }
    return s;
  }

  private kmallocName(bytesAlloc: number, accounted: boolean): string {
    const key = bytesAlloc * 2 + (accounted ? 1 : 0);
    let s = this.kmallocNames.get(key);
    if (s === undefined) {
      s = kmallocCacheName(bytesAlloc, accounted);
      if (this.kmallocNames.size < 1024) this.kmallocNames.set(key, s);
    }
    return s;
  }

  private gfpText(ev: TraceEvent): string {
    const g = ev.gfp;
    let base = "GFP_KERNEL";
    if (g.includes("GFP_ATOMIC")) base = "GFP_ATOMIC";
    else if (g.includes("GFP_NOWAIT")) base = "GFP_NOWAIT";
    let s = base;
    if (ev.accounted) s += "|__GFP_ACCOUNT";
    if (g.includes("__GFP_NOFAIL")) s += "|__GFP_NOFAIL";
    return s;
  }

  private ensureCache(name: string, bytesAlloc: number, accounted: boolean): boolean {
    if (!this.knownCaches.has(name)) {
      if (!this.target.hasCache(name)) {
        const cmd = createCacheCommand(name, bytesAlloc, this.opts.caches);
        if (cmd === null) return false;
        this.target.exec(cmd);
      }
      this.knownCaches.add(name);
    }
    if (accounted && this.target.registersAccountedCaches && !this.registered.has(name)) {
      // rfc-2012: the first accounted line of a cache registers it (a recording's instance: as at
      // boot, docs/REPLAY.md); its earlier unaccounted lines, if any, stay in the base cache
      if (this.target.registerAtBoot !== undefined) this.target.registerAtBoot(name);
      else this.target.exec({ op: "registerCache", name });
      this.registered.add(name);
    }
    return true;
  }

  private canBatch(path: string): boolean {
    if (this.opts.batch === false) return false;
    let b = this.batchable.get(path);
    if (b === undefined) {
      b = this.target.unlimited(path);
      this.batchable.set(path, b);
    }
    return b;
  }

  /** The instance CPU of a trace line: its `[NNN]`, folded into the instance's CPUs. */
  private cpuOfEvent(ev: TraceEvent): number {
    const n = this.target.cpuCount;
    if (ev.cpu < n) return ev.cpu;
    this.notes.cpuFolded = (this.notes.cpuFolded ?? 0) + 1;
    return ev.cpu % n;
  }

  /** Applies one parsed event found on line `lineNo`. */
  event(ev: TraceEvent, lineNo: number): void {
    this.counts.parsed++;
    const ms = this.msOf(ev.ts);
    const type = ev.type;
    if (type === EV_CACHE_ALLOC || (type === EV_KMALLOC && ev.bytesAlloc <= KMALLOC_MAX_CACHE_SIZE)) {
      const pid = ev.pid;
      const path = this.opts.pidCgroups.get(pid);
      if (path === undefined) {
        this.skip("pidNotInMap");
        return;
      }
      if (this.killed.has(pid) || this.exited.has(pid)) {
        this.skip(this.killed.has(pid) ? "afterKill" : "afterExit");
        return;
      }
      const name = type === EV_CACHE_ALLOC ? ev.cache : this.kmallocName(ev.bytesAlloc, ev.accounted);
      const gfp = this.gfpOf(ev);
      if (ev.accounted && this.opts.foreignStockSwitch === true && ptrIsNull(ev)) {
        this.flush();
        this.advance(ms);
        this.takeOverObjStock(this.opts.cpuOf(pid));
      }
      if (
        this.aN > 0 &&
        this.aCache === name &&
        this.aPid === pid &&
        this.aMs === ms &&
        this.aGfp === gfp &&
        this.canBatch(path)
      ) {
        this.pushAlloc(ev, lineNo);
        return;
      }
      this.flush();
      if (!this.ensureCache(name, ev.bytesAlloc, ev.accounted)) {
        this.skip("badCache");
        return;
      }
      this.advance(ms);
      this.aCache = name;
      this.aPid = pid;
      this.aGfp = gfp;
      this.aMs = ms;
      this.pushAlloc(ev, lineNo);
      if (!this.canBatch(path)) this.flushAllocs();
      return;
    }
    if (type === EV_CACHE_FREE || type === EV_KFREE) {
      if (ptrIsNull(ev)) {
        this.skip("freeOfNull");
        return;
      }
      // the pointer may be one of the pending batch's
      if (this.aN > 0) this.flushAllocs();
      const id = this.objects.get(ev.ptrHi, ev.ptrLo, ev.ptr);
      if (id === undefined) {
        const ptr = type === EV_KFREE ? ptrText(ev) : "";
        const pageId = type === EV_KFREE ? this.largeKmalloc.get(ptr) : undefined;
        if (pageId === undefined) {
          this.skip("freeOfUnknownObject");
          return;
        }
        this.flush();
        this.advance(ms);
        this.largeKmalloc.delete(ptr);
        this.freePage(pageId, this.cpuOfEvent(ev));
        this.counts.used++;
        return;
      }
      this.objects.delete(ev.ptrHi, ev.ptrLo, ev.ptr);
      const cpu = this.cpuOfEvent(ev);
      if (this.fIds.length > 0 && (this.fMs !== ms || this.fCpu !== cpu)) this.flush();
      if (this.fIds.length === 0) {
        this.advance(ms);
        this.fMs = ms;
        this.fCpu = cpu;
      }
      this.fIds.push(id);
      return;
    }
    this.flush();
    switch (type) {
      case EV_KMALLOC:
        this.largeAlloc(ev, lineNo, ms);
        return;
      case EV_PAGE_ALLOC:
        this.pageAlloc(ev, lineNo, ms);
        return;
      case EV_PAGE_FREE: {
        const id = this.pages.get(ev.pfn);
        if (id === undefined) {
          this.skip("freeOfUnknownPage");
          return;
        }
        this.advance(ms);
        this.freePage(id, this.cpuOfEvent(ev));
        this.counts.used++;
        return;
      }
      case EV_FORK:
        this.fork(ev, lineNo, ms);
        return;
      case EV_EXIT:
        this.exit(ev, ms);
        return;
    }
  }

  /**
   * The trace says the kernel failed this small accounted allocation. Its only way to fail is a
   * failed page charge, so the allocating CPU's object stock could not serve the object: on a
   * real machine another cgroup's allocation on that CPU had taken the stock over (one per-CPU
   * `obj_stock`, whose refill_obj_stock drains the previous objcg: whole pages back, the rest
   * parked in `objcg->nr_charged_bytes`, which obj_cgroup_charge only takes back after charging a
   * page). The trace keeps only the workload's events, so the replay makes that allocation itself:
   * one accounted object allocated and freed on that CPU by a task of FOREIGN_CGROUP. Whether the
   * charge that follows fails, how often failcnt counts and whom the OOM killer picks stay the
   * model's decisions.
   */
  private takeOverObjStock(cpu: number): void {
    let pid = this.foreignTasks.get(cpu);
    if (pid === undefined) {
      if (this.foreignTasks.size === 0) {
        // the cache first: the seed's register_memcg_cache copies into no existing cgroup
        this.target.exec({
          op: "createCache",
          name: FOREIGN_CACHE,
          objectSizeBytes: 64,
          flags: { account: true },
        });
        if (this.target.registersAccountedCaches)
          this.target.exec({ op: "registerCache", name: FOREIGN_CACHE });
        this.target.exec({ op: "createCgroup", path: FOREIGN_CGROUP });
      }
      const t = this.target.exec({ op: "spawnTask", cgroup: FOREIGN_CGROUP, cpu }) as { pid: number };
      pid = t.pid;
      this.foreignTasks.set(cpu, pid);
    }
    const r = this.target.exec({
      op: "allocObjects",
      cache: FOREIGN_CACHE,
      pid,
      count: 1,
      returnObjectIds: true,
    }) as AllocResult;
    if ((r.objectIds ?? []).length > 0) this.target.exec({ op: "freeObjects", objectIds: r.objectIds, cpu });
    this.notes.objStockTakenOver = (this.notes.objStockTakenOver ?? 0) + 1;
  }

  private freePage(id: number, cpu?: number): void {
    this.target.exec(
      cpu === undefined
        ? { op: "freeKernelPages", pageIds: [id] }
        : { op: "freeKernelPages", pageIds: [id], cpu },
    );
    const pfn = this.pagePfn.get(id);
    if (pfn !== undefined) {
      this.pagePfn.delete(id);
      this.pages.delete(pfn);
    }
    for (const [ptr, pid] of this.largeKmalloc) if (pid === id) this.largeKmalloc.delete(ptr);
  }

  private pushAlloc(ev: TraceEvent, lineNo: number): void {
    const i = this.aN++;
    this.aPtrHi[i] = ev.ptrHi;
    this.aPtrLo[i] = ev.ptrLo;
    this.aPtrText[i] = ev.ptr;
    this.aLines[i] = lineNo;
  }

  private flushAllocs(): void {
    const his = this.aPtrHi;
    const los = this.aPtrLo;
    const texts = this.aPtrText;
    const lines = this.aLines;
    const n = this.aN;
    let ids: number[];
    let kills: readonly number[];
    if (this.fastAlloc !== undefined) {
      ids = this.fastIds;
      ids.length = 0;
      kills = this.fastAlloc(this.aCache, this.aPid, n, this.aGfp, ids);
    } else {
      const r = this.target.exec({
        op: "allocObjects",
        cache: this.aCache,
        pid: this.aPid,
        count: n,
        gfp: this.aGfp,
        reclaimable: false,
        returnObjectIds: true,
      }) as AllocResult;
      ids = r.objectIds ?? [];
      kills = r.oomKilledPids;
    }
    let nulls: number[] | null = null;
    for (let i = 0; i < ids.length; i++) {
      const hi = his[i];
      if (hi >= 0 ? hi < 64 && los[i] === 0 : isNullPtr(texts[i])) {
        // the kernel failed this allocation (the tracepoint prints a NULL pointer) while the model
        // succeeded: the object never existed there, so it goes again at once
        if (nulls === null) nulls = [];
        nulls.push(ids[i]);
        continue;
      }
      const old = this.objects.get(hi, los[i], texts[i]);
      if (old !== undefined) {
        // allocated again without a free in the trace (lost event): the old object is gone
        this.target.exec({ op: "freeObjects", objectIds: [old] });
        this.notes.pointerReusedWithoutFree = (this.notes.pointerReusedWithoutFree ?? 0) + 1;
      }
      this.objects.set(hi, los[i], texts[i], ids[i]);
    }
    if (nulls !== null) {
      this.target.exec({ op: "freeObjects", objectIds: nulls });
      this.notes.kernelFailedModelAllocated = (this.notes.kernelFailedModelAllocated ?? 0) + nulls.length;
    }
    this.counts.used += ids.length;
    if (ids.length < n) this.skip("allocFailed", n - ids.length);
    this.noteKills(kills, lines[Math.min(ids.length, n - 1)]);
    // reused: no new arrays per command
    this.aN = 0;
  }

  private flushFrees(): void {
    const n = this.fIds.length;
    this.counts.used += n;
    if (this.fastFree !== undefined) {
      this.fastFree(this.fIds, n, this.fCpu);
      this.fIds.length = 0;
      return;
    }
    this.target.exec({ op: "freeObjects", objectIds: this.fIds, cpu: this.fCpu });
    // a new array: the command (and its objectIds) may be kept by the journal
    this.fIds = [];
  }

  private noteKills(kills: readonly number[], atLine: number): void {
    for (const victim of kills) {
      if (this.killed.has(victim)) continue;
      this.killed.add(victim);
      const path = this.opts.pidCgroups.get(victim) ?? "/";
      this.killsByPath.set(path, (this.killsByPath.get(path) ?? 0) + 1);
      this.oomKills.push({ pid: victim, cgroup: this.opts.labels.get(path) ?? path, atLine });
    }
  }

  private largeAlloc(ev: TraceEvent, lineNo: number, ms: number): void {
    const pid = ev.pid;
    if (!this.opts.pidCgroups.has(pid)) {
      this.skip("pidNotInMap");
      return;
    }
    if (this.killed.has(pid) || this.exited.has(pid)) {
      this.skip(this.killed.has(pid) ? "afterKill" : "afterExit");
      return;
    }
    const order = orderOf(ev.bytesAlloc);
    const lp = this.lastPage;
    let pfn: string | null = null;
    if (lp !== null && lp.pid === pid && lp.order === order && lp.lineNo === lineNo - 1) {
      this.lastPage = null;
      if (!lp.pageTable) {
        // the same pages, already charged from their mm_page_alloc line just before
        this.largeKmalloc.set(ptrText(ev), lp.id);
        this.counts.used++;
        return;
      }
      // a zeroed GFP_KERNEL_ACCOUNT large kmalloc prints the page-table flags: its pages were
      // taken for page tables on their line; they are a large kmalloc's, charged as one below
      pfn = lp.pfn;
      this.freePage(lp.id);
    }
    this.advance(ms);
    const r = this.target.exec({
      op: "allocKernelPages",
      pid,
      kind: "kmallocLarge",
      order,
      gfp: this.gfpOf(ev),
    }) as AllocResult & {
      pageId: number | null;
    };
    if (r.pageId !== null) {
      const ptr = ptrText(ev);
      const old = this.largeKmalloc.get(ptr);
      if (old !== undefined) {
        this.freePage(old);
        this.notes.pointerReusedWithoutFree = (this.notes.pointerReusedWithoutFree ?? 0) + 1;
      }
      this.largeKmalloc.set(ptr, r.pageId);
      if (pfn !== null) {
        // its mm_page_free names the pfn, its kfree the pointer: either frees it
        this.pages.set(pfn, r.pageId);
        this.pagePfn.set(r.pageId, pfn);
      }
      this.counts.used++;
    } else this.skip("allocFailed");
    this.noteKills(r.oomKilledPids, lineNo);
  }

  private pageAlloc(ev: TraceEvent, lineNo: number, ms: number): void {
    const pid = ev.pid;
    if (!ev.gfp.includes("ACCOUNT")) {
      this.skip("unaccountedPage");
      return;
    }
    if (!this.opts.pidCgroups.has(pid)) {
      this.skip("pidNotInMap");
      return;
    }
    if (this.killed.has(pid) || this.exited.has(pid)) {
      this.skip(this.killed.has(pid) ? "afterKill" : "afterExit");
      return;
    }
    this.advance(ms);
    const pageTable = isPageTableGfp(ev.gfp);
    const r = this.target.exec({
      op: "allocKernelPages",
      pid,
      kind: pageTable ? "pageTable" : "other",
      order: ev.order,
      gfp: "GFP_KERNEL_ACCOUNT",
    }) as AllocResult & {
      pageId: number | null;
    };
    if (r.pageId !== null) {
      const old = this.pages.get(ev.pfn);
      if (old !== undefined) this.freePage(old);
      this.pages.set(ev.pfn, r.pageId);
      this.pagePfn.set(r.pageId, ev.pfn);
      this.lastPage = { pid, order: ev.order, id: r.pageId, lineNo, pfn: ev.pfn, pageTable };
      this.counts.used++;
    } else this.skip("allocFailed");
    this.noteKills(r.oomKilledPids, lineNo);
  }

  private fork(ev: TraceEvent, lineNo: number, ms: number): void {
    const parent = ev.pid;
    const path = this.opts.pidCgroups.get(parent);
    if (path === undefined) {
      this.skip("pidNotInMap");
      return;
    }
    if (this.killed.has(parent) || this.exited.has(parent)) {
      this.skip(this.killed.has(parent) ? "afterKill" : "afterExit");
      return;
    }
    this.advance(ms);
    const child = ev.childPid;
    // the child joins its parent's cgroup (cgroup_post_fork)
    this.opts.pidCgroups.set(child, path);
    if (!this.target.hasTask(child))
      this.target.exec({ op: "spawnTask", cgroup: path, pid: child, cpu: this.opts.cpuOf(parent) });
    // its kernel stack is charged at fork, by the parent (current), to the parent's cgroup
    const r = this.target.exec({
      op: "allocKernelPages",
      pid: parent,
      kind: "kernelStack",
    }) as AllocResult & {
      pageId: number | null;
    };
    if (r.pageId !== null) this.stacks.set(child, r.pageId);
    this.counts.used++;
    this.noteKills(r.oomKilledPids, lineNo);
  }

  private exit(ev: TraceEvent, ms: number): void {
    const pid = ev.childPid;
    const stack = this.stacks.get(pid);
    if (!this.opts.pidCgroups.has(pid) && stack === undefined) {
      this.skip("pidNotInMap");
      return;
    }
    this.advance(ms);
    if (stack !== undefined) {
      // 6.x do_exit → exit_task_stack_account uncharges the vmap'd stack; older eras free it when the
      // task is reaped (free_task), which the trace does not show: the exit stands for both
      this.stacks.delete(pid);
      this.target.exec({ op: "freeKernelPages", pageIds: [stack] });
    }
    if (this.target.hasTask(pid) && !this.killed.has(pid)) this.target.exec({ op: "exitTask", pid });
    this.exited.add(pid);
    this.counts.used++;
  }
}

/** Reads the report's counters of `path` from the instance (v1 files, or their v2 equivalents). */
export function readCounters(target: ReplayTarget, path: string, kills: number): Counters {
  const num = (file: string) => Number(target.read(path, file).trim());
  if (target.cgroupVersion === 1)
    return {
      "memory.kmem.usage_in_bytes": num("memory.kmem.usage_in_bytes"),
      "memory.usage_in_bytes": num("memory.usage_in_bytes"),
      "memory.failcnt": num("memory.failcnt"),
      oom_kill: kills,
    };
  const stat = target.read(path, "memory.stat");
  const kernel = /^kernel (\d+)$/m.exec(stat);
  const events = target.read(path, "memory.events");
  const max = /^max (\d+)$/m.exec(events);
  return {
    "memory.kmem.usage_in_bytes": kernel === null ? 0 : Number(kernel[1]),
    "memory.usage_in_bytes": num("memory.current"),
    "memory.failcnt": max === null ? 0 : Number(max[1]),
    oom_kill: kills,
  };
}

export function subCounters(a: Counters, b: Counters): Counters {
  return {
    "memory.kmem.usage_in_bytes": a["memory.kmem.usage_in_bytes"] - b["memory.kmem.usage_in_bytes"],
    "memory.usage_in_bytes": a["memory.usage_in_bytes"] - b["memory.usage_in_bytes"],
    "memory.failcnt": a["memory.failcnt"] - b["memory.failcnt"],
    oom_kill: a.oom_kill - b.oom_kill,
  };
}

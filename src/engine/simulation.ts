import {
  type AllocOutcome,
  CHARGE_BYPASS,
  CHARGE_OK,
  type ChargeCtx,
  drainAllStock,
  handleOverHigh,
  newOutcome,
  runPendingHighWork,
  tryChargeMemcg,
  uncharge,
} from "./charge.js";
import {
  Cgroup,
  type CgroupState,
  modStat,
  STAT_ANON_PAGES,
  STAT_FILE_PAGES,
  STAT_KERNEL_PAGES,
  STAT_PGPGIN,
  STAT_PGPGOUT,
} from "./cgroup.js";
import { readCgroupFile, writeCgroupFile } from "./cgroupfs/files.js";
import type * as C from "./commands.js";
import { type InstanceConfig, type InstanceConfigInput, resolveConfig } from "./config.js";
import { EngineError, fail } from "./errors.js";
import { EventLog } from "./events.js";
import { GFP_DIRECT_RECLAIM, parseGfp } from "./gfp.js";
import { KernelPages } from "./kernel-pages.js";
import type { Era } from "./models/era.js";
import { MODELS } from "./models/index.js";
import type { AccountingModel } from "./models/model.js";
import { outOfMemory } from "./oom.js";
import { Prng } from "./prng.js";
import { memoryReclaim, newReclaimStats, subtree, tryToFreeMemcgPages } from "./reclaim.js";
import type { KmemCache } from "./slab/cache.js";
import { computeGeometry, MAX_OBJECT_SIZE_BYTES } from "./slab/geometry.js";
import { SlabSystem } from "./slab/kmem.js";
import { PID_INDEX_LIMIT, Task } from "./tasks.js";
import * as V from "./views.js";
import { PAGE_SIZE as PAGE } from "./page.js";
import type { PageStock } from "./sim.js";

const SEGMENT = /^[A-Za-z0-9_@+-][A-Za-z0-9_.:@+-]{0,254}$/;
const CACHE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;

/** Server-wide limits the registry passes in (docs/ARCHITECTURE.md habit 4); each hit is LIMIT_EXCEEDED. */
export interface EngineLimits {
  maxCgroups: number;
  maxDepth: number;
  maxCaches: number;
  maxTasks: number;
  maxLiveObjects: number;
  maxCountPerCommand: number;
}

export const DEFAULT_LIMITS: EngineLimits = {
  maxCgroups: 20_000,
  maxDepth: 32,
  maxCaches: 1_000,
  maxTasks: 100_000,
  maxLiveObjects: 50_000_000,
  maxCountPerCommand: 10_000_000,
};


function pages(bytes: number): number {
  return Math.ceil(bytes / PAGE);
}

/**
 * One simulation: all its state and `execute(command)`, pure, synchronous and deterministic
 * (docs/ARCHITECTURE.md §1). Same config + same commands ⇒ same state and same answers.
 */
export class Simulation {
  readonly config: InstanceConfig;
  readonly model: AccountingModel;
  /** What the model's kernel era shows and decides (file tables, formats, defaults). */
  readonly era: Era;
  readonly events: EventLog;
  readonly prng: Prng;
  readonly slab: SlabSystem;
  /** Whole-page kernel allocations (stacks, large kmalloc, `__GFP_ACCOUNT` pages). */
  readonly kernelPages: KernelPages;
  readonly root: Cgroup;
  readonly tasks = new Map<number, Task>();
  /**
   * The same tasks by pid in an array (pids below PID_INDEX_LIMIT): one memory access per lookup
   * where the Map takes two (bucket and entry), which shows once tasks are many and cold in the CPU
   * caches (issue "Performance", scaling with cgroups). `tasks` stays the source of order.
   */
  private readonly taskIndex: (Task | undefined)[] = [];
  /** The per-CPU page stocks, `nrMemcgStock` slots per CPU, CPU-major (charge.ts). */
  readonly pageStocks: PageStock[];
  readonly nrMemcgStock: number;
  /** Cgroups whose `high_work` was queued by remote charges of the current command. */
  readonly pendingHighWork = new Set<Cgroup>();
  /**
   * Some cgroup's memory.high was set below max at some point. Until then no charge can land above
   * a memory.high, so the charge path skips its over-high walk (docs/DOMAIN.md §4.1 step 16) — the same
   * outcome without a walk to the root per charge. Never reset.
   */
  highLimitSet = false;
  /** Some cgroup's v1 memsw limit was set below max: until then the charge path skips the memsw check. */
  memswLimitSet = false;
  /** The cgroup whose rmdir is being processed (see `offline`). */
  private offlining: Cgroup | null = null;
  readonly totalPages: number;
  clockMs = 0;
  commandCount = 0;
  usedPages = 0;
  oomKillCount = 0;
  /** Monotonic failure counts by reason (metrics). */
  readonly chargeFailures = { memory: 0, kmem: 0 };
  /** Monotonic reclaim totals by source, bytes (metrics). */
  readonly reclaimedBytesTotal = { file: 0, slab: 0 };
  /** Count per op of commands applied (metrics). */
  readonly opCounts = new Map<string, number>();
  private readonly cgroupsById = new Map<number, Cgroup>();
  private nextCgroupId = 1;
  private nextPid = 100;
  /** ida allocators: seed model memcg index, 3.8 kmemcg_id. */
  private readonly memcgIndexUsed = new Set<number>();
  private readonly kmemcgIdUsed = new Set<number>();
  dyingCount = 0;

  constructor(
    configInput?: InstanceConfigInput,
    readonly limits: EngineLimits = DEFAULT_LIMITS,
  ) {
    this.config = resolveConfig(configInput);
    this.prng = new Prng(this.config.seed);
    this.events = new EventLog();
    this.totalPages = this.config.memoryBytes / PAGE;
    this.era = MODELS[this.config.model].era;
    this.nrMemcgStock = this.era.nrMemcgStock;
    this.pageStocks = Array.from({ length: this.config.cpuCount * this.nrMemcgStock }, () => ({
      memcg: null,
      pages: 0,
    }));
    this.model = MODELS[this.config.model].create(this);
    this.slab = new SlabSystem(this);
    this.kernelPages = new KernelPages(this);
    const rootHier = this.config.cgroupVersion === 2 || this.era.hierarchyAlways;
    this.root = new Cgroup(this.nextCgroupId++, "", null, rootHier);
    this.root.objcgId = this.slab.newObjcg(this.root);
    this.cgroupsById.set(this.root.id, this.root);
  }

  get modern(): boolean {
    return this.model.modern;
  }

  // ===== command dispatch =======================================================================

  /**
   * Applies one command and returns its result. Request errors throw EngineError before anything
   * changed; simulated failures (ENOMEM, OOM kills) are data in the result.
   */
  execute(cmd: C.Command): unknown {
    const r = this.dispatch(cmd);
    this.commandCount++;
    this.opCounts.set(cmd.op, (this.opCounts.get(cmd.op) ?? 0) + 1);
    return r;
  }

  private dispatch(cmd: C.Command): unknown {
    switch (cmd.op) {
      case "createCgroup":
        return V.cgroupView(this, this.createCgroup(cmd.path));
      case "updateCgroup":
        return V.cgroupView(this, this.updateCgroup(cmd));
      case "removeCgroup":
        this.removeCgroup(cmd.path);
        return {};
      case "createCache":
        return V.cacheView(this, this.createCache(cmd));
      case "registerCache":
        return V.cacheView(this, this.registerCache(cmd.name));
      case "removeCache":
        this.removeCache(cmd.name);
        return {};
      case "spawnTask":
        return V.taskView(this.spawnTask(cmd));
      case "moveTask":
        return V.taskView(this.moveTask(cmd.pid, cmd.cgroup));
      case "exitTask":
        this.exitTask(cmd.pid);
        return {};
      case "allocObjects":
        return this.allocObjects(cmd);
      case "freeObjects":
        return this.freeObjects(cmd);
      case "allocPages":
        return this.allocPages(cmd);
      case "freePages":
        return this.freePages(cmd);
      case "reclaim":
        return this.reclaim(cmd);
      case "writeFile":
        this.writeFile(cmd.cgroup, cmd.file, cmd.value);
        return {};
      case "advanceClock":
        return this.advanceClock(cmd.ms);
      case "allocKernelPages":
        return this.kernelPages.alloc(cmd);
      case "freeKernelPages":
        return this.kernelPages.free(cmd);
      default:
        return fail("INVALID_ARGUMENT", `unknown op "${(cmd as { op: unknown }).op}"`);
    }
  }

  // ===== cgroups ================================================================================

  /** Splits and validates a cgroup path (docs/API.md §2). */
  parsePath(path: string): string[] {
    if (typeof path !== "string" || !path.startsWith("/"))
      fail("INVALID_ARGUMENT", `cgroup path "${path}" must start with /`);
    if (path === "/") return [];
    const segs = path.split("/").slice(1);
    for (const s of segs)
      if (!SEGMENT.test(s) || s.startsWith("memory.") || s.startsWith("cgroup."))
        fail("INVALID_ARGUMENT", `invalid cgroup path segment "${s}" in "${path}"`, {
          issues: [{ path: "path", message: "invalid segment" }],
        });
    return segs;
  }

  /** The cgroup at `path`: the online one, else (allowDying) the newest dying one there. */
  lookup(path: string, allowDying = false): Cgroup {
    const segs = this.parsePath(path);
    let cg = this.root;
    for (let i = 0; i < segs.length; i++) {
      const next = cg.children.get(segs[i]);
      if (next !== undefined) {
        cg = next;
        continue;
      }
      if (allowDying && i === segs.length - 1) {
        for (let j = cg.dyingChildren.length - 1; j >= 0; j--)
          if (cg.dyingChildren[j].name === segs[i]) return cg.dyingChildren[j];
      }
      fail("CGROUP_NOT_FOUND", `cgroup ${path} not found`, { path });
    }
    return cg;
  }

  /** Every online cgroup in pre-order, root first. */
  onlineCgroups(): Cgroup[] {
    const out: Cgroup[] = [];
    const walk = (c: Cgroup) => {
      out.push(c);
      for (const k of c.children.values()) walk(k);
    };
    walk(this.root);
    return out;
  }

  /** Every cgroup not yet released (online and dying) in pre-order. */
  allCgroups(): Cgroup[] {
    return subtree(this.root);
  }

  get cgroupCount(): number {
    return this.cgroupsById.size;
  }

  /** Per ida: every index below this one is taken (so the search starts there, not at 0). */
  private readonly idaLow = new Map<Set<number>, number>();

  /** The smallest free index ≥ `from` (amortised O(1) for the usual create-mostly sequence). */
  private ida(used: Set<number>, from: number): number {
    let i = Math.max(from, this.idaLow.get(used) ?? from);
    while (used.has(i)) i++;
    used.add(i);
    this.idaLow.set(used, i + 1);
    return i;
  }

  private idaFree(used: Set<number>, i: number): void {
    used.delete(i);
    if (i < (this.idaLow.get(used) ?? 0)) this.idaLow.set(used, i);
  }

  createCgroup(path: string): Cgroup {
    const segs = this.parsePath(path);
    if (segs.length === 0) fail("CGROUP_EXISTS", "the root cgroup always exists", { path });
    const parent = this.lookup(`/${segs.slice(0, -1).join("/")}`);
    const name = segs[segs.length - 1];
    if (parent.children.has(name)) fail("CGROUP_EXISTS", `cgroup ${path} already exists`, { path });
    if (segs.length > this.limits.maxDepth)
      fail("LIMIT_EXCEEDED", `cgroup depth limit ${this.limits.maxDepth} reached`, {
        limit: "maxDepth",
        value: this.limits.maxDepth,
      });
    if (this.cgroupsById.size >= this.limits.maxCgroups)
      fail("LIMIT_EXCEEDED", `cgroup limit ${this.limits.maxCgroups} reached`, {
        limit: "maxCgroups",
        value: this.limits.maxCgroups,
      });
    const v2 = this.config.cgroupVersion === 2;
    const cg = new Cgroup(this.nextCgroupId++, name, parent, v2 || parent.useHierarchy);
    parent.children.set(name, cg);
    this.cgroupsById.set(cg.id, cg);
    cg.objcgId = this.slab.newObjcg(cg);
    cg.memcgIndex = this.ida(this.memcgIndexUsed, 1);
    if (parent.kmemActive) this.activateKmem(cg);
    this.events.emit(this.clockMs, "cgroup_created", { cgroup: cg.path });
    this.model.onCgroupCreated(this.slab, cg);
    return cg;
  }

  /** 3.8 `memcg_activate_kmem`: accounting on from now, with a kmemcg_id from the ida. */
  activateKmem(cg: Cgroup): void {
    if (cg.kmemActive) return;
    cg.kmemActive = true;
    cg.kmemcgId = this.ida(this.kmemcgIdUsed, 0);
  }

  updateCgroup(cmd: C.UpdateCgroupCmd): Cgroup {
    const cg = this.lookup(cmd.path);
    const v2 = this.config.cgroupVersion === 2;
    const size = (b: number | null | undefined) => (b === null ? (v2 ? "max" : "-1") : String(b));
    const writes: [string, string][] = [];
    if (cmd.useHierarchy !== undefined) writes.push(["memory.use_hierarchy", cmd.useHierarchy ? "1" : "0"]);
    if (cmd.moveChargeAtImmigrate !== undefined)
      writes.push(["memory.move_charge_at_immigrate", String(cmd.moveChargeAtImmigrate)]);
    if (cmd.oomGroup !== undefined) writes.push(["memory.oom.group", cmd.oomGroup ? "1" : "0"]);
    if (cmd.oomKillDisable !== undefined) writes.push(["memory.oom_control", cmd.oomKillDisable ? "1" : "0"]);
    if (cmd.memoryMinBytes !== undefined) writes.push(["memory.min", size(cmd.memoryMinBytes)]);
    if (cmd.memoryLowBytes !== undefined) writes.push(["memory.low", size(cmd.memoryLowBytes)]);
    if (cmd.kmemMaxBytes !== undefined) writes.push(["memory.kmem.limit_in_bytes", size(cmd.kmemMaxBytes)]);
    if (cmd.memoryHighBytes !== undefined) writes.push(["memory.high", size(cmd.memoryHighBytes)]);
    if (cmd.memoryMaxBytes !== undefined)
      writes.push([v2 ? "memory.max" : "memory.limit_in_bytes", size(cmd.memoryMaxBytes)]);
    // validate every write (file exists here, value parses) before applying any: the PATCH is atomic
    for (const [file, value] of writes) writeCgroupFile(this, cg, file, value, true);
    for (const [file, value] of writes) writeCgroupFile(this, cg, file, value, false);
    return cg;
  }

  removeCgroup(path: string): void {
    const segs = this.parsePath(path);
    if (segs.length === 0) fail("INVALID_ARGUMENT", "the root cgroup cannot be removed", { path });
    const cg = this.lookup(path);
    if (cg.children.size > 0) fail("CGROUP_BUSY", `cgroup ${path} has children`, { path });
    if (cg.tasks.size > 0) fail("CGROUP_BUSY", `cgroup ${path} has tasks`, { path });
    this.offline(cg);
  }

  /** rmdir → offline (docs/DOMAIN.md §10): no new tasks or charges; the cgroup lingers while pinned. */
  private offline(cg: Cgroup): void {
    const parent = cg.parent!;
    parent.children.delete(cg.name);
    parent.dyingChildren.push(cg);
    cg.state = "dying";
    this.dyingCount++;
    cg.minPages = 0;
    cg.lowPages = 0;
    // the slab system forgets a released cgroup's lists only once its offline work (list splices,
    // nr_deferred moved to the parent) is done, even when an uncharge releases it midway
    this.offlining = cg;
    drainAllStock(this, cg);
    for (const t of this.tasks.values()) t.fileMapped.delete(cg);
    this.model.onCgroupOffline(this.slab, cg);
    if (this.model.reparentsLruChargesOnOffline) this.reparentLruCharges(cg, parent);
    this.offlining = null;
    if ((cg.state as CgroupState) === "released") this.slab.cgroupReleased(cg);
    this.events.emit(this.clockMs, "cgroup_removed", { cgroup: cg.path });
    this.maybeRelease(cg);
  }

  /** 3.x `mem_cgroup_reparent_charges`: the LRU (user) charges move to the parent; kmem stays. */
  private reparentLruCharges(cg: Cgroup, parent: Cgroup): void {
    const file = cg.statLocal[STAT_FILE_PAGES];
    const anon = cg.statLocal[STAT_ANON_PAGES];
    const n = file + anon;
    if (n === 0) return;
    modStat(cg, STAT_FILE_PAGES, -file);
    modStat(parent, STAT_FILE_PAGES, file);
    modStat(cg, STAT_ANON_PAGES, -anon);
    modStat(parent, STAT_ANON_PAGES, anon);
    for (const t of this.tasks.values()) {
      const a = t.anon.get(cg);
      if (a !== undefined) {
        t.anon.delete(cg);
        t.anon.set(parent, (t.anon.get(parent) ?? 0) + a);
      }
    }
    if (cg.memory.parent === parent.memory) cg.memory.cancelLocal(n);
    else {
      cg.memory.cancelLocal(n);
      if (!parent.isRoot) parent.memory.charge(n);
    }
  }

  /** Releases a dying cgroup once nothing pins it: no LRU pages, no per-cgroup cache copy. */
  maybeRelease(cg: Cgroup): void {
    if (cg.state !== "dying" || cg.lruPages > 0 || cg.liveCacheCount > 0 || cg.stockPages > 0) return;
    // charged kernel pages of a page-charged era hold a css reference (kernel-pages.ts)
    if (this.kernelPages.pinnedPages(cg) > 0) return;
    // a child css holds a reference on its parent (css_release → css_put(parent)): a removed cgroup
    // with a dying child still pinned stays dying until that child is released
    if (cg.dyingChildren.length > 0) return;
    cg.state = "released";
    const parent = cg.parent!;
    parent.dyingChildren.splice(parent.dyingChildren.indexOf(cg), 1);
    this.cgroupsById.delete(cg.id);
    this.idaFree(this.memcgIndexUsed, cg.memcgIndex);
    if (cg.kmemcgId >= 0) this.idaFree(this.kmemcgIdUsed, cg.kmemcgId);
    this.dyingCount--;
    if (cg !== this.offlining) this.slab.cgroupReleased(cg);
    this.events.emit(this.clockMs, "cgroup_released", { cgroup: cg.path });
    this.maybeRelease(parent);
  }

  /** Online cgroup for a charge on behalf of `cg`: a dying one charges its nearest online ancestor (docs/DOMAIN.md §12 (invariant 6)). */
  onlineAncestor(cg: Cgroup): Cgroup {
    let c = cg;
    while (c.state !== "online") c = c.parent!;
    return c;
  }

  isDescendant(c: Cgroup, root: Cgroup): boolean {
    for (let x: Cgroup | null = c; x !== null; x = x.parent) if (x === root) return true;
    return false;
  }

  /** Moves a local statistic of a dying cgroup into its parent (objcg reparenting). */
  moveLocalStat(cg: Cgroup, parent: Cgroup, stat: number): void {
    const v = cg.statLocal[stat];
    if (v === 0) return;
    cg.statLocal[stat] = 0;
    cg.statHier[stat] -= v;
    parent.statLocal[stat] += v;
  }

  // ===== tasks ==================================================================================

  spawnTask(cmd: C.SpawnTaskCmd): Task {
    const cg = this.lookup(cmd.cgroup);
    if (cmd.pid !== undefined && this.tasks.has(cmd.pid))
      fail("TASK_EXISTS", `task ${cmd.pid} already exists`, { pid: cmd.pid });
    if (cmd.cpu !== undefined && (cmd.cpu < 0 || cmd.cpu >= this.config.cpuCount))
      fail("INVALID_ARGUMENT", `cpu ${cmd.cpu} out of range [0, ${this.config.cpuCount - 1}]`, {
        issues: [{ path: "cpu", message: "out of range" }],
      });
    if (this.tasks.size >= this.limits.maxTasks)
      fail("LIMIT_EXCEEDED", `task limit ${this.limits.maxTasks} reached`, {
        limit: "maxTasks",
        value: this.limits.maxTasks,
      });
    let pid = cmd.pid;
    if (pid === undefined) {
      while (this.tasks.has(this.nextPid)) this.nextPid++;
      pid = this.nextPid++;
    }
    const t = new Task(pid, cg, cmd.cpu ?? pid % this.config.cpuCount, cmd.oomScoreAdj ?? 0);
    this.tasks.set(pid, t);
    if (pid < PID_INDEX_LIMIT) this.taskIndex[pid] = t;
    cg.tasks.add(pid);
    return t;
  }

  /** The live task `pid`, or undefined. */
  taskAt(pid: number): Task | undefined {
    return pid >= 0 && pid < PID_INDEX_LIMIT ? this.taskIndex[pid] : this.tasks.get(pid);
  }

  task(pid: number): Task {
    const t = this.taskAt(pid);
    if (t === undefined) fail("TASK_NOT_FOUND", `task ${pid} not found`, { pid });
    return t;
  }

  /**
   * Attaches a task to another cgroup. Charges stay where they are (docs/DOMAIN.md §8) except in v1 with
   * the destination's `move_charge_at_immigrate`: bit 0 moves the task's anon pages charged to the
   * source, bit 1 its file pages; the destination is precharged (with reclaim) and a failed
   * precharge fails the move with ENOMEM, as `mem_cgroup_can_attach`.
   */
  moveTask(pid: number, path: string): Task {
    const t = this.task(pid);
    const dst = this.lookup(path);
    const src = t.cgroup;
    if (dst === src) return t;
    const bits = this.config.cgroupVersion === 1 ? dst.moveChargeAtImmigrate : 0;
    const anon = bits & 1 ? (t.anon.get(src) ?? 0) : 0;
    const file = bits & 2 ? Math.min(t.fileMapped.get(src) ?? 0, src.statLocal[STAT_FILE_PAGES]) : 0;
    const n = anon + file;
    if (n > 0 && !dst.isRoot) {
      const ctx: ChargeCtx = {
        task: null,
        cpu: t.cpu,
        gfp: GFP_DIRECT_RECLAIM | (1 << 3) /* NORETRY: precharge does not OOM */,
        out: newOutcome(),
      };
      if (tryChargeMemcg(this, dst, n, ctx) !== CHARGE_OK)
        fail("ENOMEM", `cannot precharge ${n * PAGE} bytes to ${dst.path} to move task ${pid}`, {
          pid,
          cgroup: dst.path,
        });
    }
    if (n > 0) {
      uncharge(src, n);
      if (anon > 0) {
        t.anon.delete(src);
        t.anon.set(dst, (t.anon.get(dst) ?? 0) + anon);
        modStat(src, STAT_ANON_PAGES, -anon);
        modStat(dst, STAT_ANON_PAGES, anon);
      }
      if (file > 0) {
        t.fileMapped.set(src, (t.fileMapped.get(src) ?? 0) - file);
        t.fileMapped.set(dst, (t.fileMapped.get(dst) ?? 0) + file);
        modStat(src, STAT_FILE_PAGES, -file);
        modStat(dst, STAT_FILE_PAGES, file);
      }
    }
    src.tasks.delete(pid);
    dst.tasks.add(pid);
    t.cgroup = dst;
    this.maybeRelease(src);
    return t;
  }

  exitTask(pid: number): void {
    this.killTask(this.task(pid));
  }

  /** The task leaves: its anon pages are freed and uncharged wherever they were charged. */
  killTask(t: Task): void {
    for (const [cg, n] of t.anon) {
      modStat(cg, STAT_ANON_PAGES, -n);
      this.usedPages -= n;
      this.releaseUserPages(cg, n);
    }
    t.anon.clear();
    t.anonPages = 0;
    t.cgroup.tasks.delete(t.pid);
    this.tasks.delete(t.pid);
    if (t.pid < PID_INDEX_LIMIT) this.taskIndex[t.pid] = undefined;
    this.slab.taskExited(t.pid);
  }

  /** Uncharges `n` user (LRU) pages from `cg`, which may release it if dying. */
  releaseUserPages(cg: Cgroup, n: number): void {
    uncharge(cg, n);
    modStat(cg, STAT_PGPGOUT, n);
    this.maybeRelease(cg);
  }

  // ===== physical memory ========================================================================

  /**
   * The page allocator against `memoryBytes` (global pressure): when free memory is short, global
   * reclaim (every shrinker), then the global OOM killer. Returns false when nothing helps.
   */
  allocPhysPages(n: number, ctx: ChargeCtx): boolean {
    for (let attempt = 0; attempt < 16; attempt++) {
      if (this.totalPages - this.usedPages >= n) {
        this.usedPages += n;
        return true;
      }
      if (!(ctx.gfp & GFP_DIRECT_RECLAIM)) return false;
      if (tryToFreeMemcgPages(this, this.root, n - (this.totalPages - this.usedPages), ctx.out) > 0) continue;
      if (this.totalPages - this.usedPages >= n) continue;
      if (ctx.out.selfKilled || !outOfMemory(this, this.root, ctx) || ctx.out.selfKilled) return false;
    }
    return false;
  }

  // ===== user memory ============================================================================

  allocPages(cmd: C.AllocPagesCmd): C.AllocResult {
    const t = this.task(cmd.pid);
    const gfp = parseGfp(cmd.gfp);
    this.checkBytes(cmd.bytes);
    const n = pages(cmd.bytes);
    const out = newOutcome();
    const ctx: ChargeCtx = { task: t, cpu: t.cpu, gfp, out };
    let done = 0;
    let error: C.AllocResult["error"] = null;
    let charged = 0;
    for (; done < n; done++) {
      const cg = t.cgroup;
      if (!this.allocPhysPages(1, ctx)) {
        error = out.selfKilled ? "OOM_KILLED" : "ENOMEM";
        break;
      }
      const r = tryChargeMemcg(this, cg, 1, ctx);
      if (r === CHARGE_OK && !cg.isRoot) charged++;
      if (r !== CHARGE_OK && r !== CHARGE_BYPASS) {
        this.usedPages--;
        error = out.selfKilled ? "OOM_KILLED" : "ENOMEM";
        this.chargeFailures.memory++;
        this.events.emit(this.clockMs, "charge_failed", {
          cgroup: cg.path,
          pid: t.pid,
          failedAt: out.failedAt?.path ?? cg.path,
          reason: "memory",
        });
        break;
      }
      // a bypassed charge (3.x NOFAIL) lands on the root, uncharged
      const owner = r === CHARGE_BYPASS ? this.root : cg;
      if (r === CHARGE_BYPASS) charged += 0;
      else if (!cg.isRoot) modStat(owner, STAT_PGPGIN, 1);
      if (cmd.kind === "anon") {
        t.addAnon(owner, 1);
        modStat(owner, STAT_ANON_PAGES, 1);
      } else {
        t.fileMapped.set(owner, (t.fileMapped.get(owner) ?? 0) + 1);
        modStat(owner, STAT_FILE_PAGES, 1);
      }
    }
    if (this.taskAt(t.pid) === t) handleOverHigh(this, t, out);
    runPendingHighWork(this, out);
    return {
      allocatedBytes: done * PAGE,
      failedBytes: (n - done) * PAGE,
      error,
      failedAt: error === "ENOMEM" && out.failedAt !== null ? out.failedAt.path : null,
      chargedBytes: charged * PAGE,
      reclaimedBytes: out.reclaimedPages * PAGE,
      oomKilledPids: out.oomKilledPids,
      throttleMs: out.throttleMs,
    };
  }

  private checkBytes(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > this.config.memoryBytes)
      fail("INVALID_ARGUMENT", `bytes must be an integer in [1, ${this.config.memoryBytes}]`, {
        issues: [{ path: "bytes", message: "out of range" }],
      });
  }

  freePages(cmd: C.FreePagesCmd): C.FreeResult {
    this.checkBytes(cmd.bytes);
    const n = pages(cmd.bytes);
    let freed = 0;
    let unchargedPages = 0;
    if (cmd.kind === "anon") {
      if (cmd.pid === undefined) fail("INVALID_ARGUMENT", "freeing anon pages needs a pid");
      const t = this.task(cmd.pid);
      // the task's pages in its current cgroup first, then the others in the order they were charged
      const order = [...t.anon.keys()].sort((a, b) => (a === t.cgroup ? -1 : b === t.cgroup ? 1 : 0));
      for (const cg of order) {
        if (freed === n) break;
        const have = t.anon.get(cg)!;
        const k = Math.min(have, n - freed);
        if (k === have) t.anon.delete(cg);
        else t.anon.set(cg, have - k);
        t.anonPages -= k;
        modStat(cg, STAT_ANON_PAGES, -k);
        this.usedPages -= k;
        if (!cg.isRoot) unchargedPages += k;
        this.releaseUserPages(cg, k);
        freed += k;
      }
    } else {
      if (cmd.cgroup === undefined) fail("INVALID_ARGUMENT", "freeing file pages needs a cgroup");
      const cg = this.lookup(cmd.cgroup, true);
      const k = Math.min(cg.statLocal[STAT_FILE_PAGES], n);
      modStat(cg, STAT_FILE_PAGES, -k);
      this.usedPages -= k;
      if (!cg.isRoot) unchargedPages += k;
      this.releaseUserPages(cg, k);
      freed = k;
    }
    return {
      freedBytes: freed * PAGE,
      missingCount: n - freed,
      unchargedBytes: unchargedPages * PAGE,
      freedSlabCount: 0,
    };
  }

  // ===== kernel objects =========================================================================

  cache(name: string): KmemCache {
    const c = this.slab.caches.get(name);
    if (c === undefined) fail("CACHE_NOT_FOUND", `cache ${name} not found`, { cache: name });
    return c;
  }

  createCache(cmd: C.CreateCacheCmd): KmemCache {
    if (!CACHE_NAME.test(cmd.name))
      fail("INVALID_ARGUMENT", `invalid cache name "${cmd.name}"`, {
        issues: [{ path: "name", message: "invalid cache name" }],
      });
    if (this.slab.caches.has(cmd.name))
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
    if (this.slab.caches.size >= this.limits.maxCaches)
      fail("LIMIT_EXCEEDED", `cache limit ${this.limits.maxCaches} reached`, {
        limit: "maxCaches",
        value: this.limits.maxCaches,
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
      cpuCount: this.config.cpuCount,
      slubMaxOrder: this.config.slubMaxOrder,
      slubMinObjects: this.config.slubMinObjects,
      minPartial: this.config.minPartial,
    });
    const cache = this.slab.createCache(cmd.name, cmd.objectSizeBytes, g, flags, shrinker);
    if (flags.account) this.model.onCacheAccounted(this.slab, cache);
    return cache;
  }

  /** The seed's `register_memcg_cache`: opt the cache in (same as `flags.account`). */
  registerCache(name: string): KmemCache {
    const cache = this.cache(name);
    if (!cache.accounted) {
      cache.accounted = true;
      this.model.onCacheAccounted(this.slab, cache);
    }
    return cache;
  }

  removeCache(name: string): void {
    const cache = this.cache(name);
    const live = cache.totals().activeObjects;
    if (live > 0)
      fail("CACHE_BUSY", `cache ${name} still has ${live} objects`, { cache: name, activeObjectCount: live });
    this.slab.removeCache(cache);
  }

  /** Resolves the cgroup an allocation is charged to: the task's (first touch) or a named one (remote). */
  private allocTarget(
    pid: number | undefined,
    cgroup: string | undefined,
  ): { cg: Cgroup; task: Task | null } {
    if ((pid === undefined) === (cgroup === undefined))
      fail("INVALID_ARGUMENT", "exactly one of pid and cgroup is required", {
        issues: [{ path: "pid", message: "give pid or cgroup" }],
      });
    if (pid !== undefined) {
      const t = this.task(pid);
      return { cg: t.cgroup, task: t };
    }
    return { cg: this.onlineAncestor(this.lookup(cgroup!, true)), task: null };
  }

  private checkCount(count: number): void {
    if (!Number.isSafeInteger(count) || count < 1)
      fail("INVALID_ARGUMENT", "count must be an integer ≥ 1", {
        issues: [{ path: "count", message: "must be ≥ 1" }],
      });
    if (count > this.limits.maxCountPerCommand)
      fail("LIMIT_EXCEEDED", `count above the per-command limit ${this.limits.maxCountPerCommand}`, {
        limit: "maxCountPerCommand",
        value: this.limits.maxCountPerCommand,
      });
  }

  allocObjects(cmd: C.AllocObjectsCmd): C.AllocResult {
    const cache = this.cache(cmd.cache);
    const { cg, task } = this.allocTarget(cmd.pid, cmd.cgroup);
    const count = cmd.count ?? 1;
    this.checkCount(count);
    const gfp = parseGfp(cmd.gfp);
    if (this.slab.liveObjects + count > this.limits.maxLiveObjects)
      fail("LIMIT_EXCEEDED", `live object limit ${this.limits.maxLiveObjects} would be exceeded`, {
        limit: "maxLiveObjects",
        value: this.limits.maxLiveObjects,
      });
    const reclaimable = cmd.reclaimable ?? cache.shrinker !== null;
    const wantIds = cmd.returnObjectIds ?? count <= 1000;
    const out = newOutcome();
    const ctx: ChargeCtx = { task, cpu: task?.cpu ?? 0, gfp, out };
    const ids: number[] = [];
    const before = this.chargedPagesNow(cg);
    let error: C.AllocResult["error"] = null;
    const pid = task?.pid ?? 0;
    const done = this.slab.allocObjects(cache, cg, pid, reclaimable, ctx, count, wantIds ? ids : null);
    if (done < count) error = out.selfKilled ? "OOM_KILLED" : "ENOMEM";
    if (task !== null && this.taskAt(task.pid) === task) handleOverHigh(this, task, out);
    runPendingHighWork(this, out);
    const r: C.AllocResult = {
      allocatedCount: done,
      failedCount: count - done,
      error,
      failedAt: error === "ENOMEM" && out.failedAt !== null ? out.failedAt.path : null,
      chargedBytes: Math.max(0, this.chargedPagesNow(cg) - before) * PAGE,
      reclaimedBytes: out.reclaimedPages * PAGE,
      oomKilledPids: out.oomKilledPids,
      throttleMs: out.throttleMs,
    };
    if (wantIds) r.objectIds = ids;
    return r;
  }

  /** Kernel-memory pages charged to `cg` right now (for a result's chargedBytes). */
  private chargedPagesNow(cg: Cgroup): number {
    return cg.row[cg.rowOff + STAT_KERNEL_PAGES];
  }

  freeObjects(cmd: C.FreeObjectsCmd): C.FreeResult {
    if (cmd.cpu !== undefined && (!Number.isInteger(cmd.cpu) || cmd.cpu < 0 || cmd.cpu >= this.config.cpuCount))
      fail("INVALID_ARGUMENT", `cpu ${cmd.cpu} out of range [0, ${this.config.cpuCount - 1}]`, {
        issues: [{ path: "cpu", message: "out of range" }],
      });
    let slots: ArrayLike<number>;
    let missing = 0;
    let lastPid = -1;
    let cpu = 0;
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
        const s = this.slab.liveSlot(id);
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
      const cache = this.cache(cmd.cache);
      this.checkCount(cmd.count);
      if ((cmd.pid === undefined) === (cmd.cgroup === undefined))
        fail("INVALID_ARGUMENT", "exactly one of pid and cgroup is required");
      if (cmd.pid !== undefined) {
        const t = this.task(cmd.pid);
        lastPid = cmd.pid;
        cpu = t.cpu;
        slots = this.slab.selectSlotsOfTask(cache, cmd.pid, cmd.count, cmd.order ?? "newest", this.prng);
      } else {
        const s = cache.ownerLists.get(this.lookup(cmd.cgroup!, true).id);
        slots = this.slab.selectSlots(
          s === undefined ? [] : [s],
          -1,
          cmd.count,
          cmd.order ?? "newest",
          this.prng,
          true,
        );
      }
      missing = cmd.count - slots.length;
    }
    const keyBefore = this.totalKernelPages();
    let freedSlabs = 0;
    const objcgBefore = this.slab.liveObjects;
    if (cmd.cpu !== undefined) {
      // frees on a given CPU (a trace's, e.g. RCU callbacks on another CPU): its stocks take them
      for (let i = 0; i < slots.length; i++) freedSlabs += this.slab.freeInRun(slots[i], cmd.cpu);
    } else
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i];
        const p = this.slab.pidOf(s);
        if (p !== lastPid) {
          lastPid = p;
          cpu = this.taskAt(p)?.cpu ?? 0;
        }
        freedSlabs += this.slab.freeInRun(s, cpu);
      }
    this.slab.endFreeRun();
    return {
      freedCount: objcgBefore - this.slab.liveObjects,
      missingCount: missing,
      unchargedBytes: Math.max(0, keyBefore - this.totalKernelPages()) * PAGE,
      freedSlabCount: freedSlabs,
    };
  }

  /**
   * Kernel pages charged to all cgroups: the root's hierarchical value less its own (= the sum over
   * its online and dying children, an invariant), O(1) whatever the number of cgroups.
   */
  private totalKernelPages(): number {
    return this.root.statHier[2] - this.root.statLocal[2];
  }

  // ===== reclaim, files, clock ==================================================================

  reclaim(cmd: C.ReclaimCmd): C.ReclaimResult {
    const cg = this.lookup(cmd.cgroup, true);
    this.checkBytes(cmd.bytes);
    if (cmd.gfp !== undefined) parseGfp(cmd.gfp);
    const stats = newReclaimStats();
    const r = memoryReclaim(this, cg, pages(cmd.bytes), stats);
    return this.reclaimResult(r.reclaimed, r.eagain, stats);
  }

  reclaimResult(
    reclaimed: number,
    eagain: boolean,
    stats: ReturnType<typeof newReclaimStats>,
  ): C.ReclaimResult {
    return {
      reclaimedBytes: reclaimed * PAGE,
      fileReclaimedBytes: stats.filePages * PAGE,
      slabReclaimedBytes: stats.slabPages * PAGE,
      scannedObjectCount: stats.scannedObjects,
      freedObjectCount: stats.freedObjects,
      freedSlabCount: stats.freedSlabs,
      error: eagain ? "EAGAIN" : null,
    };
  }

  writeFile(path: string, file: string, value: string): void {
    const cg = this.lookup(path);
    writeCgroupFile(this, cg, file, value, true);
    writeCgroupFile(this, cg, file, value, false);
  }

  readFile(path: string, file: string): string {
    return readCgroupFile(this, this.lookup(path, true), file);
  }

  advanceClock(ms: number): { clockMs: number } {
    if (!Number.isSafeInteger(ms) || ms < 0)
      fail("INVALID_ARGUMENT", "ms must be an integer ≥ 0", {
        issues: [{ path: "ms", message: "must be ≥ 0" }],
      });
    this.clockMs += ms;
    this.slab.completeRcuFrees(this.clockMs);
    this.model.onClock(this.slab);
    return { clockMs: this.clockMs };
  }

  /** A failure outcome helper for file writes that run reclaim/OOM outside an allocation. */
  newOutcome(): AllocOutcome {
    return newOutcome();
  }

  /** EngineError passthrough for modules that only import the instance type. */
  static isEngineError(e: unknown): e is EngineError {
    return e instanceof EngineError;
  }
}

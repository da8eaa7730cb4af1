import { Cgroup } from "./cgroup.js";
import * as tree from "./cgroup-tree.js";
import type * as C from "./commands.js";
import { type InstanceConfig, type InstanceConfigInput, resolveConfig } from "./config.js";
import { fail } from "./errors.js";
import { EventLog } from "./events.js";
import type { CgroupIdr, ChargeCtx, EngineLimits, KernelOps, PidTable } from "./kernel.js";
import { KernelPages } from "./kernel-pages.js";
import * as files from "./memcg-files.js";
import type { Era } from "./models/era.js";
import { MODELS } from "./models/index.js";
import type { AccountingModel } from "./models/model.js";
import { PAGE_SIZE as PAGE } from "./page.js";
import * as pageAlloc from "./page-alloc.js";
import { Prng } from "./prng.js";
import type { newReclaimStats } from "./reclaim.js";
import type { PageStock, Sim } from "./sim.js";
import type { KmemCache } from "./slab/cache.js";
import { SlabSystem } from "./slab/kmem.js";
import * as slabApi from "./slab-api.js";
import * as sockMem from "./sock-mem.js";
import * as taskOps from "./task-lifecycle.js";
import type { Task } from "./tasks.js";
import * as V from "./views.js";

// The simulation: its state, the wiring of the verb files (cgroup-tree.ts, task-lifecycle.ts,
// page-alloc.ts, slab-api.ts, memcg-files.ts, kernel-pages.ts) and the dispatch table from a
// command's `op` to its verb. The verbs are functions of `Sim` (sim.ts); this class owns the state
// they act on and answers the methods the rest of the engine and the server call, each one line.

export type { EngineLimits } from "./kernel.js";

export const DEFAULT_LIMITS: EngineLimits = {
  maxCgroups: 20_000,
  maxDepth: 32,
  maxCaches: 1_000,
  maxTasks: 100_000,
  maxLiveObjects: 50_000_000,
  maxCountPerCommand: 10_000_000,
};

/** A command under way in parts (Simulation.begin). */
export interface CommandRun {
  /** Up to `maxUnits` more units of the command's work; true once all of it is done. */
  step(maxUnits: number): boolean;
  /** Ends the command (after `step` answered true); its result, as `execute` answers it. */
  finish(): unknown;
}

/** A command's verb: the command of that `op` in, its result (docs/API.md §6) out. */
type Verb<K extends C.Command["op"]> = (sim: Simulation, cmd: Extract<C.Command, { op: K }>) => unknown;

/**
 * The dispatch table: one verb per command `op`. Its type lists every op of `C.Command`, so a
 * command added to commands.ts without a row here fails to compile.
 */
const VERBS: { readonly [K in C.Command["op"]]: Verb<K> } = {
  createCgroup: (sim, cmd) => V.cgroupView(sim, tree.createCgroup(sim, cmd.path)),
  updateCgroup: (sim, cmd) => V.cgroupView(sim, tree.updateCgroup(sim, cmd)),
  removeCgroup: (sim, cmd) => {
    tree.removeCgroup(sim, cmd.path);
    return {};
  },
  createCache: (sim, cmd) => V.cacheView(sim, slabApi.createCache(sim, cmd)),
  registerCache: (sim, cmd) => V.cacheView(sim, slabApi.registerCache(sim, cmd.name)),
  removeCache: (sim, cmd) => {
    slabApi.removeCache(sim, cmd.name);
    return {};
  },
  spawnTask: (sim, cmd) => V.taskView(taskOps.spawnTask(sim, cmd)),
  moveTask: (sim, cmd) => V.taskView(taskOps.moveTask(sim, cmd.pid, cmd.cgroup)),
  exitTask: (sim, cmd) => {
    taskOps.exitTask(sim, cmd.pid);
    return {};
  },
  allocObjects: (sim, cmd) => slabApi.allocObjects(sim, cmd),
  freeObjects: (sim, cmd) => slabApi.freeObjects(sim, cmd),
  allocPages: (sim, cmd) => pageAlloc.allocPages(sim, cmd),
  freePages: (sim, cmd) => pageAlloc.freePages(sim, cmd),
  reclaim: (sim, cmd) => files.reclaim(sim, cmd),
  writeFile: (sim, cmd) => {
    files.writeFile(sim, cmd.cgroup, cmd.file, cmd.value);
    return {};
  },
  advanceClock: (sim, cmd) => files.advanceClock(sim, cmd.ms),
  allocKernelPages: (sim, cmd) => sim.kernelPages.alloc(cmd),
  freeKernelPages: (sim, cmd) => sim.kernelPages.free(cmd),
  chargeSocketPages: (sim, cmd) => sockMem.chargeSocketPages(sim, cmd),
  unchargeSocketPages: (sim, cmd) => sockMem.unchargeSocketPages(sim, cmd),
};

/**
 * One simulation: all its state and `execute(command)`, pure, synchronous and deterministic
 * (docs/ARCHITECTURE.md §1). Same config + same commands ⇒ same state and same answers.
 */
export class Simulation implements Sim {
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
  readonly pids: PidTable = { nextPid: 100, index: [] };
  readonly idr: CgroupIdr = {
    byId: new Map(),
    nextId: 1,
    memcgIndex: { used: new Set(), low: 0 },
    kmemcgId: { used: new Set(), low: 0 },
    offlining: null,
  };
  /** The up-calls (kernel.ts KernelOps), bound to this simulation's verbs. */
  readonly ops: KernelOps = {
    maybeRelease: (cg) => tree.maybeRelease(this, cg),
    releaseUserPages: (cg, n) => pageAlloc.releaseUserPages(this, cg, n),
    allocPhysPages: (n, ctx) => pageAlloc.allocPhysPages(this, n, ctx),
    killTask: (t) => taskOps.killTask(this, t),
  };
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
  readonly totalPages: number;
  clockMs = 0;
  commandCount = 0;
  /**
   * A command begun in parts (`begin`) and not finished: the state is between two of its parts, so
   * it is no snapshot of the journal's history (persistence takes none meanwhile).
   */
  commandInProgress = false;
  usedPages = 0;
  oomKillCount = 0;
  /** Monotonic failure counts by reason (metrics). */
  readonly chargeFailures = { memory: 0, kmem: 0 };
  /** Monotonic reclaim totals by source, bytes (metrics). */
  readonly reclaimedBytesTotal = { file: 0, slab: 0 };
  /** Count per op of commands applied (metrics). */
  readonly opCounts = new Map<string, number>();
  dyingCount = 0;
  readonly memcgFreePending: { dueMs: number; cg: Cgroup }[] = [];

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
    this.root = new Cgroup(this.idr.nextId++, "", null, rootHier);
    this.root.objcgId = this.slab.newObjcg(this.root);
    this.idr.byId.set(this.root.id, this.root);
  }

  get modern(): boolean {
    return this.model.modern;
  }

  get cgroupCount(): number {
    return this.idr.byId.size;
  }

  /**
   * Applies one command and returns its result. Request errors throw EngineError before anything
   * changed; simulated failures (ENOMEM, OOM kills) are data in the result — except the kernel
   * errnos a few commands return after reclaim or the OOM killer already ran (a v1 limit shrink's
   * EBUSY, memory.reclaim's EAGAIN, a move's, a mkdir's or a fork's ENOMEM): those throw with what
   * happened kept, as the kernel keeps it, and the registry journals them (isHistoricRefusal).
   */
  execute(cmd: C.Command): unknown {
    const r = this.dispatch(cmd);
    this.counted(cmd.op);
    return r;
  }

  private counted(op: C.Command["op"]): void {
    this.commandCount++;
    this.opCounts.set(op, (this.opCounts.get(op) ?? 0) + 1);
  }

  /**
   * A command run a part at a time, for the server's long commands (docs/RELIABILITY.md, "No
   * request stalls the server"): `step(n)` does up to `n` units of its work (objects) and answers
   * whether it is done; `finish()` then ends it and answers what `execute` would have. Between the
   * steps nothing else may mutate this simulation; an allocation's state is whole object by object,
   * a free's has the uncharge of the objects freed so far still batched (as in the middle of one
   * call). Only `allocObjects` and `freeObjects` run in parts; for any other command `begin`
   * answers null (run it with `execute`). Whatever refuses the command throws here, before anything changes.
   */
  begin(cmd: C.Command): CommandRun | null {
    let step: (n: number) => boolean;
    let end: () => unknown;
    if (cmd.op === "allocObjects") {
      const run = slabApi.beginAllocObjects(this, cmd);
      step = (n) => slabApi.stepAllocObjects(this, run, n);
      end = () => slabApi.endAllocObjects(this, run);
    } else if (cmd.op === "freeObjects") {
      const run = slabApi.beginFreeObjects(this, cmd);
      step = (n) => slabApi.stepFreeObjects(this, run, n);
      end = () => slabApi.endFreeObjects(this, run);
    } else return null;
    this.commandInProgress = true;
    return {
      step,
      finish: () => {
        const r = end();
        this.commandInProgress = false;
        this.counted(cmd.op);
        return r;
      },
    };
  }

  private dispatch(cmd: C.Command): unknown {
    // an own property only: an op such as "toString" must not reach Object.prototype
    if (!Object.hasOwn(VERBS, cmd.op))
      fail("INVALID_ARGUMENT", `unknown op "${(cmd as { op: unknown }).op}"`);
    return (VERBS[cmd.op] as (sim: Simulation, cmd: C.Command) => unknown)(this, cmd);
  }

  // ===== the verbs, for the engine's other files and the server (one line each) ===================

  parsePath(path: string): string[] {
    return tree.parsePath(path);
  }
  lookup(path: string, allowDying = false): Cgroup {
    return tree.lookupCgroup(this, path, allowDying);
  }
  onlineCgroups(): Cgroup[] {
    return tree.onlineCgroups(this);
  }
  allCgroups(): Cgroup[] {
    return tree.allCgroups(this);
  }
  createCgroup(path: string): Cgroup {
    return tree.createCgroup(this, path);
  }
  activateKmem(cg: Cgroup): void {
    tree.activateKmem(this, cg);
  }
  updateCgroup(cmd: C.UpdateCgroupCmd): Cgroup {
    return tree.updateCgroup(this, cmd);
  }
  removeCgroup(path: string): void {
    tree.removeCgroup(this, path);
  }
  maybeRelease(cg: Cgroup): void {
    tree.maybeRelease(this, cg);
  }
  onlineAncestor(cg: Cgroup): Cgroup {
    return tree.onlineAncestor(cg);
  }
  isDescendant(c: Cgroup, root: Cgroup): boolean {
    return tree.isDescendant(c, root);
  }
  moveLocalStat(cg: Cgroup, parent: Cgroup, stat: number): void {
    tree.moveLocalStat(cg, parent, stat);
  }
  spawnTask(cmd: C.SpawnTaskCmd): Task {
    return taskOps.spawnTask(this, cmd);
  }
  taskAt(pid: number): Task | undefined {
    return taskOps.taskAt(this, pid);
  }
  task(pid: number): Task {
    return taskOps.liveTask(this, pid);
  }
  moveTask(pid: number, path: string): Task {
    return taskOps.moveTask(this, pid, path);
  }
  exitTask(pid: number): void {
    taskOps.exitTask(this, pid);
  }
  killTask(t: Task): void {
    taskOps.killTask(this, t);
  }
  releaseUserPages(cg: Cgroup, n: number): void {
    pageAlloc.releaseUserPages(this, cg, n);
  }
  allocPhysPages(n: number, ctx: ChargeCtx): boolean {
    return pageAlloc.allocPhysPages(this, n, ctx);
  }
  allocPages(cmd: C.AllocPagesCmd): C.AllocResult {
    return pageAlloc.allocPages(this, cmd);
  }
  freePages(cmd: C.FreePagesCmd): C.FreeResult {
    return pageAlloc.freePages(this, cmd);
  }
  cache(name: string): KmemCache {
    return slabApi.cacheNamed(this, name);
  }
  createCache(cmd: C.CreateCacheCmd): KmemCache {
    return slabApi.createCache(this, cmd);
  }
  registerCache(name: string): KmemCache {
    return slabApi.registerCache(this, name);
  }
  removeCache(name: string): void {
    slabApi.removeCache(this, name);
  }
  allocObjects(cmd: C.AllocObjectsCmd): C.AllocResult {
    return slabApi.allocObjects(this, cmd);
  }
  freeObjects(cmd: C.FreeObjectsCmd): C.FreeResult {
    return slabApi.freeObjects(this, cmd);
  }
  reclaim(cmd: C.ReclaimCmd): C.ReclaimResult {
    return files.reclaim(this, cmd);
  }
  reclaimResult(
    reclaimed: number,
    eagain: boolean,
    stats: ReturnType<typeof newReclaimStats>,
  ): C.ReclaimResult {
    return files.reclaimResult(reclaimed, eagain, stats);
  }
  writeFile(path: string, file: string, value: string): void {
    files.writeFile(this, path, file, value);
  }
  readFile(path: string, file: string): string {
    return files.readFile(this, path, file);
  }
  advanceClock(ms: number): { clockMs: number } {
    return files.advanceClock(this, ms);
  }
}

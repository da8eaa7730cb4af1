import { createReadStream } from "node:fs";
import {
  type Command,
  eraOf,
  fail,
  Simulation,
  MODEL_NAMES as MODELS,
  type ModelName,
  registerCacheAtBoot,
  replayAllocObjects,
  replayFreeObjects,
} from "../engine/index.js";
import { type ReadProgress, readTraceBytes, TraceInputError } from "./input.js";
import { ByteParser, newEvent, type SkipReason } from "./parse.js";
import { PARENT, type Recording, realDelta } from "./recording.js";
import { readTraceThreaded } from "./records.js";
import {
  type Counters,
  type LineCounts,
  type OomKill,
  Replayer,
  type ReplayTarget,
  readCounters,
  subCounters,
} from "./replay.js";

/** Per cgroup of a replay: the predicted delta and (from a recording) the real one. */
export interface CgroupReport {
  predicted: Counters;
  real: Counters | null;
}

/** Live objects per cache and kmem per cgroup, sampled along the trace (for the HTML report). */
export interface ReplaySeries {
  lines: number[];
  kmemBytes: Record<string, number[]>;
  liveObjects: Record<string, number[]>;
}

export interface ModelReport {
  cgroups: Record<string, CgroupReport>;
  /**
   * Recordings with `after_rmdir`: the workload's processes exit and its cgroups are removed with
   * their objects alive; the parent's counters before → after that rmdir, predicted and real.
   */
  afterRmdir?: {
    parent: {
      predicted: { kmemBytes: number; usageBytes: number };
      real: { kmemBytes: number; usageBytes: number };
    };
  };
  oomKills: OomKill[];
  lines: LineCounts;
  notes?: Record<string, number>;
  series?: ReplaySeries;
}

export interface ReplayReport {
  models: Record<string, ModelReport>;
}

export interface ReplayProgress {
  bytesIn: number;
  bytesTotal: number;
  lines: number;
  elapsedMs: number;
}

export interface RecordingReplayOptions {
  models?: readonly string[];
  /** The per-CPU page-charge batch (`MEMCG_CHARGE_BATCH`; the engine's default is 1). */
  chargeBatchPages?: number;
  /** CPUs of the instance (default: the recording's `nr_cpus`, else its highest `cpus` entry + 1; trace CPUs above fold). */
  cpuCount?: number;
  /** Extra or overriding pid → cgroup name (a name of the recording, or a new child of `parent`). */
  pidCgroups?: Map<number, string>;
  /** Batch consecutive allocations (default true). */
  batch?: boolean;
  /** Before an accounted allocation the kernel failed, another cgroup takes over the CPU's object stock (default true). */
  foreignStockSwitch?: boolean;
  /** Simulated time after the last event before the counters are read (default 2000 ms, as the recordings). */
  endDelayMs?: number;
  /** Sample series for the HTML report. */
  series?: boolean;
  onProgress?: (p: ReplayProgress) => void;
  /** Wall clock for progress (injected: the replay itself never reads the clock). */
  now?: () => number;
  /**
   * Apply the slab allocations and frees through the engine's fast entries (default true) or
   * through `execute` of their commands (the same state, events and answers; for tests).
   */
  fastEntries?: boolean;
  /**
   * Read, gunzip and parse the trace on a thread of its own, the main thread only applying the
   * lines (the same report; two cores busy): true, false, or by default from a trace of
   * THREAD_MIN_BYTES on (below that, starting the thread costs more than it saves).
   */
  thread?: boolean;
  /** Called with each model's instance at the end of the replay (tests: its full state). */
  inspect?: (model: string, inst: Simulation) => void;
}

/** One model's instance and replayer for a recording. */
interface ModelRun {
  model: string;
  inst: Simulation;
  target: ReplayTarget;
  replayer: Replayer;
  baseline: Map<string, Counters>;
  paths: Map<string, string>;
  series: ReplaySeries | null;
}

/**
 * The replayer's view of an instance; commands go through `exec` (the instance itself for a
 * recording's own instance, the registry's journaled path for the service).
 */
export function instanceTarget(inst: Simulation, exec?: (c: Command) => unknown): ReplayTarget {
  return {
    exec: exec ?? ((c) => inst.execute(c)),
    // the instance's own commands (no journal): the fast entries, the same state and answers
    ...(exec === undefined
      ? {
          allocObjects: (cache: string, pid: number, count: number, gfp: string, ids: number[]) =>
            replayAllocObjects(inst, cache, pid, count, gfp, ids),
          freeObjects: (ids: readonly number[], n: number, cpu: number) => {
            replayFreeObjects(inst, ids, n, cpu);
          },
        }
      : {}),
    read: (path, file) => inst.readFile(path, file),
    cgroupVersion: inst.config.cgroupVersion,
    cpuCount: inst.config.cpuCount,
    hasCache: (name) => inst.slab.caches.has(name),
    hasTask: (pid) => inst.taskAt(pid) !== undefined,
    unlimited: (path) => {
      if (inst.highLimitSet) return false;
      for (let cg: ReturnType<Simulation["lookup"]> | null = inst.lookup(path); cg !== null; cg = cg.parent)
        if (
          !cg.isRoot &&
          (cg.memory.max !== Number.POSITIVE_INFINITY || cg.kmem.max !== Number.POSITIVE_INFINITY)
        )
          return false;
      return true;
    },
    registersAccountedCaches: inst.era.cachesNeedRegistration,
  };
}

/** The cgroups of a recording: `parent` and its children (names from `before` and `pids`). */
function childNames(rec: Recording, pidCgroups: Map<number, string>): string[] {
  const names = new Set<string>();
  for (const k of Object.keys(rec.meta.before ?? {})) if (k !== PARENT) names.add(k);
  for (const v of pidCgroups.values()) names.add(v);
  return [...names].sort();
}

function setupModel(
  rec: Recording,
  model: string,
  opts: RecordingReplayOptions,
  pidCgroups: Map<number, string>,
): ModelRun {
  if (!(MODELS as readonly string[]).includes(model))
    fail("INVALID_ARGUMENT", `unknown model "${model}"; one of ${MODELS.join(", ")}`);
  const cpus = rec.meta.cpus ?? [0];
  const cpuCount = opts.cpuCount ?? rec.meta.nr_cpus ?? Math.max(1, ...cpus.map((c) => c + 1));
  const era = eraOf(model as ModelName);
  const inst = new Simulation({
    model: model as ModelName,
    // a v2 recording replays on v2 where the era has it (4.5+), else on v1
    cgroupVersion: rec.meta.cgroup === "v2" && era.cgroupV2 ? 2 : 1,
    cpuCount,
    // the era's own charge batch unless asked (v6.18: MEMCG_CHARGE_BATCH 64, the older models 1)
    ...(opts.chargeBatchPages !== undefined ? { chargeBatchPages: opts.chargeBatchPages } : {}),
    // the 2012 RFC keeps kmem on its own counter (memory.kmem.usage_in_bytes) only with
    // kmem_independent_accounting; without it the engine folds kmem into memory and the file reads 0
    ...(era.kmemCounter === "seed" ? { kmemIndependentAccounting: true } : {}),
  });
  // The 2012 patch copies a registered cache into a cgroup when the cgroup is created
  // (mem_cgroup_create → memcg_create_kmem_caches), never into cgroups that exist already
  // (register_memcg_cache only fills kmem_avail_caches[]); a 2012 kernel had its caches registered
  // at boot. The replayer registers a cache at its first accounted line, here as at boot
  // (registerCacheAtBoot): the cgroups that exist then get the copies their creation would have
  // made. A cache whose first line is accounted ends as if registered before the first cgroup; one
  // with unaccounted lines before its first accounted one keeps those objects in its base cache.
  const target: ReplayTarget = {
    ...(opts.fastEntries === false ? instanceTarget(inst, (c) => inst.execute(c)) : instanceTarget(inst)),
    registerAtBoot: (name) => {
      registerCacheAtBoot(inst, name);
    },
  };
  const ex = (c: Command) => inst.execute(c);
  ex({ op: "createCgroup", path: `/${PARENT}` });
  // the recordings' v1 hierarchy has use_hierarchy 1 everywhere (README of the recordings)
  if (inst.config.cgroupVersion === 1 && !inst.lookup(`/${PARENT}`).useHierarchy)
    ex({ op: "updateCgroup", path: `/${PARENT}`, useHierarchy: true });
  // 3.8 accounts nothing in a cgroup until memory.kmem.limit_in_bytes is written with a finite value
  // (mm/memcontrol.c:memcg_update_kmem_limit, 3.8); children of an active cgroup are born active.
  // The replay activates it on the parent with the whole memory as the limit, so that the era's
  // accounting runs at all.
  if (era.kmemLimit === "activate")
    ex({
      op: "writeFile",
      cgroup: `/${PARENT}`,
      file: "memory.kmem.limit_in_bytes",
      value: String(inst.config.memoryBytes),
    });
  const paths = new Map<string, string>();
  const labels = new Map<string, string>();
  paths.set(PARENT, `/${PARENT}`);
  labels.set(`/${PARENT}`, PARENT);
  for (const name of childNames(rec, pidCgroups)) {
    const path = `/${PARENT}/${name}`;
    ex({ op: "createCgroup", path });
    if (rec.meta.limit !== undefined && rec.meta.limit !== null)
      ex({ op: "updateCgroup", path, memoryMaxBytes: rec.meta.limit });
    paths.set(name, path);
    labels.set(path, name);
  }
  const pidPaths = new Map<number, string>();
  const pids = [...pidCgroups.keys()].sort((a, b) => a - b);
  pids.forEach((pid, i) => {
    const path = paths.get(pidCgroups.get(pid)!)!;
    pidPaths.set(pid, path);
    ex({ op: "spawnTask", cgroup: path, pid, cpu: cpus[i % cpus.length] % cpuCount });
  });
  // What the cgroups held before the trace (`before`: objects the workload allocated after joining
  // its cgroup and before tracing started) stays charged there: it counts against the limit. It is
  // charged as accounted kernel pages of the cgroup's first pid, before the baseline is read, so
  // the deltas are unchanged; an era that does not account such pages charges nothing.
  for (const [name, path] of paths) {
    if (name === PARENT) continue;
    const b = rec.meta.before?.[name];
    const before =
      rec.meta.cgroup === "v2"
        ? (b?.["memory.stat"] as Record<string, unknown> | undefined)?.kernel
        : b?.["memory.kmem.usage_in_bytes"];
    const pid = pids.find((p) => pidPaths.get(p) === path);
    if (typeof before !== "number" || before < 4096 || pid === undefined) continue;
    let pages = Math.floor(before / 4096);
    for (let order = 10; order >= 0; order--)
      while (pages >= 1 << order) {
        ex({ op: "allocKernelPages", pid, kind: "other", order, gfp: "GFP_KERNEL_ACCOUNT" });
        pages -= 1 << order;
      }
  }
  const replayer = new Replayer(target, {
    pidCgroups: pidPaths,
    labels,
    caches: rec.meta.caches ?? {},
    cpuOf: (pid) => inst.taskAt(pid)?.cpu ?? 0,
    batch: opts.batch,
    // a recording is replayed into an instance of its own: the stand-in for the machine's other
    // cgroups may live there (docs/REPLAY.md, "the kernel's failed allocations")
    foreignStockSwitch: opts.foreignStockSwitch ?? true,
  });
  const baseline = new Map<string, Counters>();
  for (const [name, path] of paths) baseline.set(name, readCounters(target, path, 0));
  const series = opts.series ? { lines: [], kmemBytes: {}, liveObjects: {} } : null;
  return { model, inst, target, replayer, baseline, paths, series };
}

const MAX_SAMPLES = 400;

/** The trace size (bytes of the file, gzip or not) from which a replay parses on a thread by default. */
export const THREAD_MIN_BYTES = 1 << 20;

function sample(run: ModelRun, line: number): void {
  const s = run.series!;
  if (s.lines.length >= 2 * MAX_SAMPLES) {
    // keep every other sample: bounded memory whatever the trace length
    const keep = (a: number[]) => a.filter((_, i) => i % 2 === 0);
    s.lines = keep(s.lines);
    for (const k of Object.keys(s.kmemBytes)) s.kmemBytes[k] = keep(s.kmemBytes[k]);
    for (const k of Object.keys(s.liveObjects)) s.liveObjects[k] = keep(s.liveObjects[k]);
  }
  const at = s.lines.length;
  s.lines.push(line);
  for (const [name, path] of run.paths) {
    if (s.kmemBytes[name] === undefined) s.kmemBytes[name] = [];
    const a = s.kmemBytes[name];
    while (a.length < at) a.push(0);
    a.push(run.inst.lookup(path).kmem.usage * 4096);
  }
  for (const [name, cache] of run.inst.slab.caches) {
    if (s.liveObjects[name] === undefined) s.liveObjects[name] = [];
    const a = s.liveObjects[name];
    while (a.length < at) a.push(0);
    a.push(cache.totals().activeObjects);
  }
}

/**
 * Replays a recording under each model: builds the recording's cgroups (the common `parent`, its
 * children with the recorded limit, the recorded CPUs), places the pids, reads the baseline,
 * streams the trace once (each line parsed once, applied to every model's instance), waits
 * `endDelayMs` of simulated time and reads the counters again.
 */
export async function replayRecording(
  rec: Recording,
  opts: RecordingReplayOptions = {},
): Promise<ReplayReport> {
  const models = opts.models ?? MODELS;
  if (models.length === 0) fail("INVALID_ARGUMENT", "no model to replay");
  const pidCgroups = new Map<number, string>();
  for (const [pid, cg] of Object.entries(rec.meta.pids)) pidCgroups.set(Number(pid), cg);
  for (const [pid, cg] of opts.pidCgroups ?? []) pidCgroups.set(pid, cg);
  const runs = models.map((m) => setupModel(rec, m, opts, pidCgroups));
  const ev = newEvent();
  const parser = new ByteParser();
  const progress: ReadProgress = { bytesIn: 0, lines: 0 };
  const now = opts.now;
  const start = now?.() ?? 0;
  let nextCheck = 65536;
  const sampleEvery = opts.series
    ? Math.max(1, Math.floor((rec.meta.trace_lines ?? 100_000) / MAX_SAMPLES))
    : 0;
  let usable = 0;
  const apply = (reason: SkipReason | null, lineNo: number) => {
    if (reason === null) {
      usable++;
      for (let i = 0; i < runs.length; i++) runs[i].replayer.event(ev, lineNo);
    } else for (let i = 0; i < runs.length; i++) runs[i].replayer.unusable(reason);
    if (sampleEvery > 0 && lineNo % sampleEvery === 0)
      for (const r of runs) {
        r.replayer.flush();
        sample(r, lineNo);
      }
    if (lineNo >= nextCheck && now !== undefined && opts.onProgress !== undefined) {
      nextCheck = lineNo + 65536;
      opts.onProgress({
        bytesIn: progress.bytesIn,
        bytesTotal: rec.traceBytes,
        lines: lineNo,
        elapsedMs: now() - start,
      });
    }
  };
  const gz = rec.tracePath.endsWith(".gz") ? "yes" : "auto";
  const total =
    (opts.thread ?? rec.traceBytes >= THREAD_MIN_BYTES)
      ? await readTraceThreaded(rec.tracePath, gz, ev, apply, progress)
      : await readTraceBytes(
          createReadStream(rec.tracePath, { highWaterMark: 64 * 1024 }),
          gz,
          (buf, s, e, lineNo) => apply(parser.parse(buf, s, e, ev), lineNo),
          progress,
        );
  if (total === 0)
    throw new TraceInputError("EMPTY_TRACE", `${rec.tracePath}: the trace is empty`, { path: rec.tracePath });
  if (usable === 0)
    throw new TraceInputError(
      "NO_USABLE_LINE",
      `${rec.tracePath}: none of its ${total} lines is a kmem/page/fork event (${JSON.stringify(runs[0].replayer.counts.skipped)})`,
      { path: rec.tracePath, skipped: runs[0].replayer.counts.skipped },
    );
  if (runs.every((r) => r.replayer.counts.used === 0))
    throw new TraceInputError(
      "NO_USABLE_LINE",
      `${rec.tracePath}: none of its ${total} lines could be used (${JSON.stringify(runs[0].replayer.counts.skipped)}): is the pid map the trace's?`,
      { path: rec.tracePath, skipped: runs[0].replayer.counts.skipped },
    );
  const out: ReplayReport = { models: {} };
  for (const r of runs) {
    r.replayer.finish(opts.endDelayMs ?? 2000);
    if (r.series !== null) sample(r, total);
    const cgroups: Record<string, CgroupReport> = {};
    for (const [name, path] of r.paths) {
      let kills = 0;
      for (const [p, n] of r.replayer.killsByPath) if (p === path) kills += n;
      const after = readCounters(r.target, path, kills);
      const real = realDelta(rec.meta, name) as Counters | null;
      cgroups[name] = { predicted: subCounters(after, r.baseline.get(name)!), real };
    }
    const rep: ModelReport = { cgroups, oomKills: r.replayer.oomKills, lines: r.replayer.counts };
    const afterRmdir = (rec.meta as { after_rmdir?: Record<string, Record<string, unknown>> }).after_rmdir;
    const afterExit =
      (rec.meta as { after_exit?: Record<string, Record<string, unknown>> }).after_exit ?? rec.meta.after;
    if (afterRmdir?.[PARENT] !== undefined && afterExit?.[PARENT] !== undefined) {
      const parentPath = r.paths.get(PARENT)!;
      const read = () => readCounters(r.target, parentPath, 0);
      const at = read();
      for (const [name, path] of r.paths) {
        if (name === PARENT) continue;
        const cg = r.inst.lookup(path);
        for (const pid of [...cg.tasks]) r.target.exec({ op: "exitTask", pid });
        r.target.exec({ op: "removeCgroup", path });
      }
      const after = read();
      const num = (o: Record<string, unknown>, k: string) =>
        typeof o[k] === "number" ? (o[k] as number) : 0;
      const KMEM = "memory.kmem.usage_in_bytes";
      const USAGE = "memory.usage_in_bytes";
      rep.afterRmdir = {
        parent: {
          predicted: { kmemBytes: after[KMEM] - at[KMEM], usageBytes: after[USAGE] - at[USAGE] },
          real: {
            kmemBytes: num(afterRmdir[PARENT], KMEM) - num(afterExit[PARENT], KMEM),
            usageBytes: num(afterRmdir[PARENT], USAGE) - num(afterExit[PARENT], USAGE),
          },
        },
      };
    }
    if (Object.keys(r.replayer.notes).length > 0) rep.notes = r.replayer.notes;
    if (r.series !== null) rep.series = r.series;
    out.models[r.model] = rep;
    opts.inspect?.(r.model, r.inst);
  }
  return out;
}

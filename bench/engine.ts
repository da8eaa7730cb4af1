/**
 * Engine benchmarks (issue "Performance"): in-process object allocations/frees per model, user
 * page charges, scaling with cgroup count and depth, and RSS per live object. Each figure is
 * reported with its ratio to a baseline measured in the same invocation, so machine drift cancels:
 *  - a bare typed-array free-list push/pop loop (the minimum work an allocator must do);
 *  - first-touch memory: how fast this machine hands out fresh pages (a fresh instance's first
 *    allocations are bound by it: every object needs ~30 B of never-touched typed-array memory).
 */
import type { ModelName } from "../src/engine/config.js";
import { DEFAULT_LIMITS, Simulation } from "../src/engine/simulation.js";

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineName?: string;
  ratio?: number;
  target?: string;
  met?: boolean;
}

function now(): number {
  return performance.now();
}

/** Baseline: a free-list allocator over an Int32Array (pop n, push n). Ops per second. */
export function baselineFreeList(n: number): number {
  const next = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) next[i] = i + 1;
  next[n] = -1;
  let head = 0;
  const out = new Int32Array(n);
  const t0 = now();
  for (let i = 0; i < n; i++) {
    out[i] = head;
    head = next[head];
  }
  for (let i = n - 1; i >= 0; i--) {
    next[out[i]] = head;
    head = out[i];
  }
  const dt = (now() - t0) / 1000;
  if (head !== 0) throw new Error("baseline broken");
  return (2 * n) / dt;
}

/** Baseline: bytes/s of first writes to freshly allocated memory (page faults included). */
export function firstTouchBytesPerSec(bytes: number): number {
  const t0 = now();
  const a = new Int32Array(bytes >> 2);
  for (let i = 0; i < a.length; i += 1024) a[i] = i; // one write per 4 KiB page
  const dt = (now() - t0) / 1000;
  if (a[1024] !== 1024) throw new Error("baseline broken");
  return bytes / dt;
}

export function setup(model: ModelName, cgroups: number, depth = 1): { sim: Simulation; pids: number[] } {
  const sim = new Simulation(
    { model, cpuCount: 4, memoryBytes: 64 * 1024 * 1024 * 1024 },
    { ...DEFAULT_LIMITS, maxCgroups: 1_000_000 },
  );
  sim.execute({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  if (model === "v3.8")
    sim.execute({ op: "writeFile", cgroup: "/", file: "memory.use_hierarchy", value: "1" });
  const pids: number[] = [];
  for (let i = 0; i < cgroups; i++) {
    let path = "";
    for (let d = 0; d < depth; d++) {
      path += d === 0 ? `/c${i}` : `/l${d}`;
      sim.execute({ op: "createCgroup", path });
      if (model === "v3.8" && d === 0)
        sim.execute({ op: "writeFile", cgroup: path, file: "memory.kmem.limit_in_bytes", value: "1T" });
    }
    pids.push((sim.execute({ op: "spawnTask", cgroup: path }) as { pid: number }).pid);
  }
  // v3.8/v4.5: the first allocation queues the per-cgroup copy; warm every cgroup once. The
  // warm-up objects are freed again: left live they would pin 2 objects per cgroup in the slabs
  // (20,000 at 10,000 cgroups, 20 at 10), so the instances compared would not hold the same objects.
  for (const pid of pids)
    sim.execute({ op: "allocObjects", cache: "dentry", pid, count: 2, returnObjectIds: false });
  for (const pid of pids) sim.execute({ op: "freeObjects", cache: "dentry", pid, count: 2, order: "oldest" });
  return { sim, pids };
}

export interface AllocFree {
  /** Steady state: the instance already holds (freed) memory for `count` objects. */
  allocPerSec: number;
  freePerSec: number;
  /** Cold: a fresh instance's first `count` allocations (first-touch bound) and their frees. */
  coldAllocPerSec: number;
  coldFreePerSec: number;
}

/** Allocations/s and frees/s for one model with `count` objects in one command (free by pid, oldest first). */
export function allocFree(model: ModelName, count: number): AllocFree {
  const { sim, pids } = setup(model, 1);
  const round = () => {
    const t0 = now();
    const r = sim.execute({
      op: "allocObjects",
      cache: "dentry",
      pid: pids[0],
      count,
      returnObjectIds: false,
    }) as { allocatedCount: number };
    const t1 = now();
    const f = sim.execute({ op: "freeObjects", cache: "dentry", pid: pids[0], count, order: "oldest" }) as {
      freedCount: number;
    };
    const t2 = now();
    if (r.allocatedCount !== count || f.freedCount !== count)
      throw new Error(`${model}: allocated ${r.allocatedCount}, freed ${f.freedCount} of ${count}`);
    return [count / ((t1 - t0) / 1000), count / ((t2 - t1) / 1000)];
  };
  const [coldAllocPerSec, coldFreePerSec] = round();
  round(); // JIT settles
  const [allocPerSec, freePerSec] = round();
  return { allocPerSec, freePerSec, coldAllocPerSec, coldFreePerSec };
}

/** User (file) page charges per second, one page at a time through the charge path. */
export function userPages(model: ModelName, pages: number): number {
  const { sim, pids } = setup(model, 1);
  sim.execute({ op: "allocPages", pid: pids[0], kind: "file", bytes: 1000 * 4096 }); // JIT warm-up
  const t0 = now();
  sim.execute({ op: "allocPages", pid: pids[0], kind: "file", bytes: pages * 4096 });
  return pages / ((now() - t0) / 1000);
}

/**
 * One scaling setup: `cgroups` cgroups (each `depth` levels deep, a task in the deepest); a pass
 * allocates `total` objects, `perCommand` per command round-robin over the cgroups, then frees them
 * the same way (free by pid, oldest first), so every pass starts and ends with no live object.
 * Returns ns per allocation and per free of the pass.
 */
export function scalingSetup(
  model: ModelName,
  cgroups: number,
  depth: number,
  total: number,
  perCommand: number,
): () => { alloc: number; free: number } {
  const { sim, pids } = setup(model, cgroups, depth);
  const commands = Math.max(1, Math.floor(total / perCommand));
  return () => {
    const t0 = now();
    for (let i = 0; i < commands; i++)
      sim.execute({
        op: "allocObjects",
        cache: "dentry",
        pid: pids[i % pids.length],
        count: perCommand,
        returnObjectIds: false,
      });
    const t1 = now();
    for (let i = 0; i < commands; i++)
      sim.execute({
        op: "freeObjects",
        cache: "dentry",
        pid: pids[i % pids.length],
        count: perCommand,
        order: "oldest",
      });
    const t2 = now();
    const n = commands * perCommand;
    return { alloc: ((t1 - t0) * 1e6) / n, free: ((t2 - t1) * 1e6) / n };
  };
}

export interface CurvePoint {
  /** Median ns per allocation / per free over the rounds. */
  alloc: number;
  free: number;
  /** Median over the rounds of (this point ÷ the first point of the same round). */
  allocRatio: number;
  freeRatio: number;
}

/**
 * A cost curve over several setups (cgroup counts or depths), measured in interleaved rounds: all
 * setups are built first, warmed with two passes each (the JIT, and memory the instance then holds:
 * no first-touch page faults), then each round runs one pass of every setup back to back, the order
 * reversed every other round. This VM's speed drifts by up to 2x within a minute, so each ratio is
 * taken within a round (passes a few hundred milliseconds apart) and the median of the rounds'
 * ratios is reported.
 */
export function costCurve(passes: (() => { alloc: number; free: number })[], rounds: number): CurvePoint[] {
  for (const p of passes) {
    p();
    p();
  }
  const res = passes.map(() => ({
    alloc: [] as number[],
    free: [] as number[],
    ar: [] as number[],
    fr: [] as number[],
  }));
  for (let r = 0; r < rounds; r++) {
    const order = passes.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    const got: { alloc: number; free: number }[] = [];
    for (const i of order) got[i] = passes[i]();
    got.forEach((g, i) => {
      res[i].alloc.push(g.alloc);
      res[i].free.push(g.free);
      res[i].ar.push(g.alloc / got[0].alloc);
      res[i].fr.push(g.free / got[0].free);
    });
  }
  const med = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return res.map((x) => ({
    alloc: med(x.alloc),
    free: med(x.free),
    allocRatio: med(x.ar),
    freeRatio: med(x.fr),
  }));
}

/**
 * Free by pid with many tasks in few cgroups: `tasks` tasks spread over 10 cgroups; each pass every
 * task allocates 100 dentries in one command, then every task frees its 100 oldest by pid — in
 * task order, or last task first (each free then finds other tasks' older objects ahead of its own
 * on the cgroup's list). Returns ns per freed object, median of the passes after one warm-up.
 */
export function manyTasksFree(tasks: number, reverse: boolean, passes: number): number {
  const sim = new Simulation(
    { model: "v5.9", cpuCount: 4, memoryBytes: 64 * 1024 * 1024 * 1024 },
    { ...DEFAULT_LIMITS, maxTasks: Math.max(DEFAULT_LIMITS.maxTasks, tasks) },
  );
  sim.execute({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  for (let c = 0; c < 10; c++) sim.execute({ op: "createCgroup", path: `/c${c}` });
  const pids: number[] = [];
  for (let i = 0; i < tasks; i++)
    pids.push((sim.execute({ op: "spawnTask", cgroup: `/c${i % 10}` }) as { pid: number }).pid);
  const order = reverse ? pids.slice().reverse() : pids;
  const ns: number[] = [];
  for (let p = 0; p <= passes; p++) {
    for (const pid of pids)
      sim.execute({ op: "allocObjects", cache: "dentry", pid, count: 100, returnObjectIds: false });
    const t0 = now();
    for (const pid of order)
      sim.execute({ op: "freeObjects", cache: "dentry", pid, count: 100, order: "oldest" });
    if (p > 0) ns.push(((now() - t0) * 1e6) / (100 * tasks));
  }
  return ns.sort((a, b) => a - b)[ns.length >> 1];
}

/**
 * Engine benchmarks (issue "Performance"): in-process object allocations/frees per model, user
 * page charges, scaling with cgroup count and depth, and RSS per live object. Each figure is
 * reported with its ratio to a baseline measured in the same process: a bare typed-array
 * free-list push/pop loop doing the minimum work an allocator must do, so machine drift cancels.
 */
import { Instance } from "../src/engine/instance.js";
import type { ModelName } from "../src/engine/config.js";

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  target?: string;
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

function setup(model: ModelName, cgroups: number, depth = 1): { sim: Instance; pids: number[] } {
  const sim = new Instance({ model, cpuCount: 4, memoryBytes: 64 * 1024 * 1024 * 1024 });
  sim.execute({ op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { account: true, reclaimAccount: true } });
  if (model === "v3.8") sim.execute({ op: "writeFile", cgroup: "/", file: "memory.use_hierarchy", value: "1" });
  const pids: number[] = [];
  for (let i = 0; i < cgroups; i++) {
    let path = "";
    for (let d = 0; d < depth; d++) {
      path += d === 0 ? `/c${i}` : `/l${d}`;
      sim.execute({ op: "createCgroup", path });
      if (model === "v3.8" && d === 0) sim.execute({ op: "writeFile", cgroup: path, file: "memory.kmem.limit_in_bytes", value: "1T" });
    }
    pids.push((sim.execute({ op: "spawnTask", cgroup: path }) as { pid: number }).pid);
  }
  // v3.8/v4.5: the first allocation queues the per-cgroup copy; warm every cgroup once
  for (const pid of pids) sim.execute({ op: "allocObjects", cache: "dentry", pid, count: 2, returnObjectIds: false });
  return { sim, pids };
}

/** Allocations/s and frees/s for one model with `count` objects in one command. */
export function allocFree(model: ModelName, count: number): { allocPerSec: number; freePerSec: number } {
  const { sim, pids } = setup(model, 1);
  const t0 = now();
  sim.execute({ op: "allocObjects", cache: "dentry", pid: pids[0], count, returnObjectIds: false });
  const t1 = now();
  sim.execute({ op: "freeObjects", cache: "dentry", pid: pids[0], count, order: "oldest" });
  const t2 = now();
  return { allocPerSec: count / ((t1 - t0) / 1000), freePerSec: count / ((t2 - t1) / 1000) };
}

export function userPages(model: ModelName, pages: number): number {
  const { sim, pids } = setup(model, 1);
  const t0 = now();
  sim.execute({ op: "allocPages", pid: pids[0], kind: "file", bytes: pages * 4096 });
  return pages / ((now() - t0) / 1000);
}

/** Cost per allocation (ns) across `cgroups` cgroups, round-robin, 1000 objects per command. */
export function scaling(model: ModelName, cgroups: number, depth: number, total: number): number {
  const { sim, pids } = setup(model, cgroups, depth);
  const per = Math.max(1, Math.floor(total / pids.length));
  const t0 = now();
  let n = 0;
  for (const pid of pids) {
    sim.execute({ op: "allocObjects", cache: "dentry", pid, count: per, returnObjectIds: false });
    n += per;
  }
  return ((now() - t0) * 1e6) / n;
}

export function rssPerObject(model: ModelName, count: number): number {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  const { sim, pids } = setup(model, 1);
  sim.execute({ op: "allocObjects", cache: "dentry", pid: pids[0], count, returnObjectIds: false });
  (globalThis as { gc?: () => void }).gc?.();
  const after = process.memoryUsage().rss;
  if (sim.slab.liveObjects < count) throw new Error("allocation fell short");
  return (after - before) / count;
}

/**
 * Sweep throughput and server capacity (issue #21, docs/SCALE.md).
 *
 * - `sweepThroughput(spec, workers)`: points/s of a whole sweep on a pool of `workers` threads
 *   (after an untimed warm-up pass), results kept in memory as the server does.
 * - `instancesPerProcess(budgetMiB)`: in a fresh process (`node --expose-gc --import tsx
 *   bench/sweep.ts instances BUDGET_MIB`), creates registry instances with a fixed small workload
 *   until the process's RSS passes the budget; prints one JSON line.
 */
import { execFileSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Command } from "../src/engine/commands.js";
import { DEFAULT_SERVER_LIMITS, Registry } from "../src/registry.js";
import { SweepPool } from "../src/sweep/pool.js";
import { runSweep } from "../src/sweep/run.js";
import { loadSweepSpecFile } from "../src/sweep/spec.js";

export interface Throughput {
  workers: number;
  points: number;
  seconds: number;
  pointsPerSecond: number;
  /** CPU time of the whole process (every thread, user + system) per point: what a core must give. */
  cpuSecondsPerPoint: number;
}

/** Runs every point of the spec file on `workers` threads, after one untimed warm-up pass. */
export async function sweepThroughput(specFile: string, workers: number): Promise<Throughput> {
  const spec = await loadSweepSpecFile(specFile);
  const pool = new SweepPool(workers);
  try {
    // warm-up: one whole untimed pass. One point per thread is not enough: the first pass costs
    // about twice the CPU of the next (JIT tiers, heap growth: 4.6× the page faults), per thread
    await runSweep(spec, { pool, onResult: () => {} });
    let bytes = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const points = await runSweep(spec, { pool, onResult: (_i, line) => (bytes += line.length) });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (bytes === 0) throw new Error("no results");
    return {
      workers,
      points,
      seconds,
      pointsPerSecond: points / seconds,
      cpuSecondsPerPoint: (cpu.user + cpu.system) / 1e6 / points,
    };
  } finally {
    await pool.close();
  }
}

/**
 * The fixed small workload of one instance (the default model, v6.18 on cgroup v2): 4 cgroups
 * under /svc, a dentry cache (192 B, accounted, reclaimable), one task per cgroup, 1,000 dentries
 * and 1 MiB of anon memory per task: 4,000 live objects and 4 MiB charged.
 */
export function smallWorkload(): Command[] {
  const cmds: Command[] = [
    { op: "createCgroup", path: "/svc" },
    {
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    },
  ];
  for (let i = 0; i < 4; i++) {
    const pid = 100 + i;
    cmds.push(
      { op: "createCgroup", path: `/svc/c${i}` },
      { op: "spawnTask", cgroup: `/svc/c${i}`, pid },
      { op: "allocObjects", cache: "dentry", pid, count: 1000, returnObjectIds: false },
      { op: "allocPages", pid, kind: "anon", bytes: 1 << 20 },
    );
  }
  return cmds as Command[];
}

export interface Capacity {
  budgetMiB: number;
  instances: number;
  rssBaseMiB: number;
  rssMiB: number;
  bytesPerInstance: number;
}

/** In a fresh process: how many workload instances fit until RSS passes `budgetMiB`. */
export function instancesPerProcess(budgetMiB: number): Capacity {
  const script = fileURLToPath(import.meta.url);
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", script, "instances", String(budgetMiB)],
    {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(out.trim()) as Capacity;
}

async function measureInstances(budgetMiB: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(50);
    }
  };
  const registry = new Registry({ ...DEFAULT_SERVER_LIMITS, maxInstances: 1_000_000 });
  const workload = smallWorkload();
  await settle();
  const base = process.memoryUsage().rss;
  let n = 0;
  let rss = base;
  // bounded: stops at the budget or at 200,000 instances
  while (rss < budgetMiB * 1024 * 1024 && n < 200_000) {
    for (let k = 0; k < 100; k++) {
      const name = `i${n++}`;
      registry.create(name);
      for (const c of workload) registry.execute(name, c);
    }
    if (n % 1000 === 0) await settle();
    rss = process.memoryUsage().rss;
  }
  await settle();
  rss = process.memoryUsage().rss;
  const result: Capacity = {
    budgetMiB,
    instances: n,
    rssBaseMiB: Math.round(base / 2 ** 20),
    rssMiB: Math.round(rss / 2 ** 20),
    bytesPerInstance: Math.round((rss - base) / n),
  };
  console.log(JSON.stringify(result));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [what, arg] = process.argv.slice(2);
  if (what === "instances") await measureInstances(Number(arg ?? 1024));
  else if (what === "throughput") {
    for (const w of [1, 2])
      console.log(JSON.stringify(await sweepThroughput(arg ?? "examples/sweep.yaml", w)));
  } else throw new Error("usage: bench/sweep.ts instances BUDGET_MIB | throughput [SPEC]");
}

import { parseCommand } from "../../src/commands/schemas.js";
import { procMeminfo, procSlabinfo } from "../../src/engine/cgroupfs/proc.js";
import type { Command } from "../../src/engine/commands.js";
import type { Simulation } from "../../src/engine/simulation.js";
import { stateDigest } from "../../src/persistence/digest.js";
import type { Registry } from "../../src/registry.js";

const MiB = 1024 * 1024;

/** Every model with each cgroup version it has (rfc-2012 and v3.8 predate cgroup v2). */
export const MODEL_CASES = [
  { model: "rfc-2012", cgroupVersion: 1 },
  { model: "v3.8", cgroupVersion: 1 },
  { model: "v4.5", cgroupVersion: 1 },
  { model: "v4.5", cgroupVersion: 2 },
  { model: "v5.9", cgroupVersion: 1 },
  { model: "v5.9", cgroupVersion: 2 },
  { model: "v6.18", cgroupVersion: 1 },
  { model: "v6.18", cgroupVersion: 2 },
] as const;

/** A small deterministic PRNG for the test workload (independent of the engine's). */
export function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * n);
  };
}

/** The fixed start of every workload: a tree, two caches (one reclaimable), tasks, a limit. */
export function setupCommands(cgroupVersion: 1 | 2): Command[] {
  const cmds: unknown[] = [
    { op: "createCgroup", path: "/a" },
    { op: "createCgroup", path: "/a/b" },
    { op: "createCgroup", path: "/c" },
    {
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    },
    { op: "createCache", name: "kmalloc-256", objectSizeBytes: 256, flags: { account: true } },
    { op: "spawnTask", cgroup: "/a/b", pid: 200 },
    { op: "spawnTask", cgroup: "/c", pid: 201 },
    { op: "spawnTask", cgroup: "/a" },
    { op: "updateCgroup", path: "/a", memoryMaxBytes: 64 * MiB },
    cgroupVersion === 1
      ? { op: "writeFile", cgroup: "/c", file: "memory.limit_in_bytes", value: "32M" }
      : { op: "writeFile", cgroup: "/c", file: "memory.high", value: "24M" },
  ];
  return cmds.map((c) => parseCommand(c));
}

/**
 * `n` random commands of every op over the setup's tree: some are refused on purpose (unknown
 * pid, busy cgroup), so the journal must hold only the accepted ones.
 */
export function randomCommands(n: number, seed: number, cgroupVersion: 1 | 2): Command[] {
  const r = lcg(seed);
  const cgroups = ["/a", "/a/b", "/c"];
  const pids = [200, 201, 100];
  const caches = ["dentry", "kmalloc-256"];
  const orders = ["newest", "oldest", "random", "every-other"] as const;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const k = r(100);
    const cg = cgroups[r(cgroups.length)];
    const pid = pids[r(pids.length)];
    const cache = caches[r(caches.length)];
    if (k < 30)
      out.push(
        r(2) === 0
          ? { op: "allocObjects", cache, pid, count: 1 + r(300) }
          : { op: "allocObjects", cache, cgroup: cg, count: 1 + r(100) },
      );
    else if (k < 50)
      out.push({ op: "freeObjects", cache, cgroup: cg, count: 1 + r(200), order: orders[r(4)] });
    else if (k < 60)
      out.push({ op: "allocPages", pid, kind: r(2) === 0 ? "anon" : "file", bytes: 4096 * (1 + r(2000)) });
    else if (k < 66) out.push({ op: "freePages", pid, kind: "anon", bytes: 4096 * (1 + r(1000)) });
    else if (k < 70) out.push({ op: "freePages", cgroup: cg, kind: "file", bytes: 4096 * (1 + r(1000)) });
    else if (k < 75) out.push({ op: "reclaim", cgroup: cg, bytes: 4096 * (1 + r(500)) });
    else if (k < 80) out.push({ op: "advanceClock", ms: 1 + r(5000) });
    else if (k < 82) out.push({ op: "moveTask", pid, cgroup: cgroups[r(cgroups.length)] });
    else if (k < 84)
      out.push({ op: "spawnTask", cgroup: cg, pid }); // refused (TASK_EXISTS) while the task lives
    else if (k < 88) out.push({ op: "createCgroup", path: `/x${r(6)}` });
    else if (k < 91) out.push({ op: "removeCgroup", path: `/x${r(6)}` });
    else if (k < 94) out.push({ op: "allocObjects", cache, cgroup: `/x${r(6)}`, count: 1 + r(50) });
    else if (k < 97)
      out.push(
        cgroupVersion === 1
          ? // not memory.limit_in_bytes: a v1 limit write refused with EBUSY has already reclaimed (as the
            // kernel does), a side effect the registry does not announce, so the journal cannot hold it
            {
              op: "writeFile",
              cgroup: cg,
              file: "memory.soft_limit_in_bytes",
              value: String((16 + r(64)) * MiB),
            }
          : {
              op: "writeFile",
              cgroup: cg,
              file: "memory.max",
              value: r(4) === 0 ? "max" : String((16 + r(64)) * MiB),
            },
      );
    else out.push({ op: "exitTask", pid: 9999 }); // refused: TASK_NOT_FOUND
  }
  return out.map((c) => parseCommand(c));
}

const V1_FILES = [
  "memory.stat",
  "memory.usage_in_bytes",
  "memory.kmem.usage_in_bytes",
  "memory.failcnt",
  "memory.kmem.slabinfo",
  "memory.oom_control",
];
const V2_FILES = ["memory.stat", "memory.current", "memory.events", "memory.peak"];

/** Everything the comparisons look at: the Simulation view, cgroupfs files of every cgroup, /proc, events, the digest. */
export function observe(registry: Registry, name: string) {
  const entry = registry.get(name);
  const sim: Simulation = entry.instance;
  const files: Record<string, string> = {};
  const names = sim.config.cgroupVersion === 1 ? V1_FILES : V2_FILES;
  for (const cg of sim.onlineCgroups()) {
    if (cg.isRoot) continue;
    for (const f of names) {
      try {
        files[`${cg.path}/${f}`] = sim.readFile(cg.path, f);
      } catch (err) {
        files[`${cg.path}/${f}`] = `error: ${(err as Error).message}`; // e.g. kmem files before kmem is active
      }
    }
  }
  return {
    view: registry.view(entry),
    files,
    slabinfo: procSlabinfo(sim),
    meminfo: procMeminfo(sim),
    events: sim.events.since(0, 100_000),
    digest: stateDigest(sim),
  };
}

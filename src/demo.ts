import type { Logger } from "pino";
import { type Command, EngineError, type InstanceConfigInput } from "./engine/index.js";
import type { Registry } from "./registry.js";

/**
 * The demo of docs/API.md §9: two instances running the same slow workload, so the cgroupfs files,
 * /metrics and the dashboard show moving numbers, and the two designs side by side, within a
 * minute of start-up. Everything goes through `registry.execute`, so it is journaled like any
 * client's commands.
 */
export const DEMO_INSTANCES: { name: string; config: InstanceConfigInput }[] = [
  { name: "demo", config: { model: "rfc-2012", cgroupVersion: 1, kmemIndependentAccounting: true } },
  { name: "demo-v59", config: { model: "v5.9", cgroupVersion: 2 } },
];

const MiB = 1024 * 1024;
/** /workload/b's limits: small enough that the workload hits them every cycle (failcnt moves). */
export const DEMO_B_MEMORY_MAX_BYTES = 16 * MiB;
export const DEMO_B_KMEM_MAX_BYTES = 2 * MiB;

/** pid → cgroup of the demo's tasks. */
const TASKS: [number, string][] = [
  [100, "/system"],
  [200, "/workload/a"],
  [201, "/workload/a"],
  [300, "/workload/b"],
];

function setupCommands(cgroupVersion: 1 | 2): Command[] {
  const v1 = cgroupVersion === 1;
  return [
    // the caches first: the 2012 patch copies a registered cache into a cgroup only when the
    // cgroup is created (mem_cgroup_create), never into cgroups that exist already (audit row 31)
    { op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { reclaimAccount: true } },
    { op: "registerCache", name: "dentry" },
    { op: "createCache", name: "kmalloc-256", objectSizeBytes: 256, flags: { account: true } },
    { op: "createCgroup", path: "/system" },
    { op: "createCgroup", path: "/workload" },
    // v1 of that era defaults to use_hierarchy=0: without it /workload would not add up a and b.
    ...(v1 ? [{ op: "updateCgroup" as const, path: "/workload", useHierarchy: true }] : []),
    { op: "createCgroup", path: "/workload/a" },
    { op: "createCgroup", path: "/workload/b" },
    // In the rfc-2012 era a cgroup's kmem is accounted once a kmem limit is written; "unlimited"
    // activates it without limiting (a 1 GiB ceiling on the others, the small one on b).
    ...(v1
      ? ["/system", "/workload", "/workload/a"].map((path) => ({
          op: "updateCgroup" as const,
          path,
          kmemMaxBytes: 1024 * MiB,
        }))
      : []),
    {
      op: "updateCgroup",
      path: "/workload/b",
      memoryMaxBytes: DEMO_B_MEMORY_MAX_BYTES,
      ...(v1 ? { kmemMaxBytes: DEMO_B_KMEM_MAX_BYTES } : {}),
    },
    ...TASKS.map(([pid, cgroup]): Command => ({ op: "spawnTask", cgroup, pid })),
  ];
}

/** Creates the demo instances that do not exist yet (restored ones are kept as they are). */
export function createDemoInstances(registry: Registry): string[] {
  const created: string[] = [];
  for (const { name, config } of DEMO_INSTANCES) {
    if (registry.list().some((e) => e.name === name)) continue;
    registry.create(name, config);
    for (const c of setupCommands(config.cgroupVersion ?? 1)) registry.execute(name, c);
    created.push(name);
  }
  return created;
}

/** Ticks per cycle: allocate for ALLOC_TICKS, then free back down, so memory stays bounded. */
const CYCLE_TICKS = 40;
const ALLOC_TICKS = 30;

/**
 * The commands of one workload tick (a pure function of the tick number: the demo is as
 * deterministic as everything else). A cycle grows the working sets, then shrinks them back;
 * /workload/b runs into its limit in the growth phase.
 */
export function tickCommands(tick: number, tickMs: number): Command[] {
  const phase = tick % CYCLE_TICKS;
  const cmds: Command[] = [{ op: "advanceClock", ms: tickMs }];
  if (phase < ALLOC_TICKS) {
    cmds.push(
      { op: "allocObjects", cache: "dentry", pid: 200, count: 64 },
      { op: "allocObjects", cache: "dentry", pid: 300, count: 512 },
      { op: "allocObjects", cache: "kmalloc-256", pid: 201, count: 32 },
      { op: "allocObjects", cache: "kmalloc-256", pid: 300, count: 64 },
      { op: "allocObjects", cache: "dentry", pid: 100, count: 8 },
      { op: "allocPages", pid: 200, kind: "anon", bytes: 64 * 1024 },
      { op: "allocPages", pid: 300, kind: "anon", bytes: 1024 * 1024 },
    );
  } else {
    // Free what a growth phase allocated, in a few different orders (slab fragmentation shows).
    const share = CYCLE_TICKS - ALLOC_TICKS;
    const per = (n: number) => Math.ceil((n * ALLOC_TICKS) / share);
    cmds.push(
      { op: "freeObjects", cache: "dentry", pid: 200, count: per(64), order: "oldest" },
      { op: "freeObjects", cache: "dentry", pid: 300, count: per(512), order: "random" },
      { op: "freeObjects", cache: "kmalloc-256", pid: 201, count: per(32), order: "every-other" },
      { op: "freeObjects", cache: "kmalloc-256", pid: 300, count: per(64), order: "newest" },
      { op: "freeObjects", cache: "dentry", pid: 100, count: per(8), order: "oldest" },
      { op: "freePages", pid: 200, kind: "anon", bytes: per(64 * 1024) },
      { op: "freePages", pid: 300, kind: "anon", bytes: per(1024 * 1024) },
    );
  }
  if (phase === ALLOC_TICKS) cmds.push({ op: "reclaim", cgroup: "/workload", bytes: 4 * MiB });
  return cmds;
}

export interface DemoWorkload {
  stop(): void;
}

/**
 * Runs the workload on every demo instance that exists, one tick every `tickMs` of wall time.
 * The timer is unref'd (it never keeps the process alive) and stopped on shutdown. A refused
 * command (a task the OOM killer took, an instance a client deleted) is logged at debug and
 * repaired where it can be: a killed task is spawned again. An engine bug (a non-EngineError)
 * must not take the server down: it is logged once per instance and op, and the tick goes on.
 */
export function startDemoWorkload(registry: Registry, logger: Logger, tickMs = 500): DemoWorkload {
  let tick = 0;
  const bugsLogged = new Set<string>();
  const run = () => {
    for (const { name } of DEMO_INSTANCES) {
      if (!registry.list().some((e) => e.name === name)) continue;
      for (const c of tickCommands(tick, tickMs)) {
        try {
          registry.execute(name, c);
        } catch (err) {
          if (err instanceof EngineError) {
            logger.debug({ instance: name, op: c.op, code: err.code }, "demo command refused");
            respawn(registry, name, c);
          } else if (!bugsLogged.has(`${name}:${c.op}`)) {
            bugsLogged.add(`${name}:${c.op}`);
            logger.error({ err, instance: name, command: c }, "demo command hit an engine bug");
          }
        }
      }
    }
    tick++;
  };
  const timer = setInterval(run, tickMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function respawn(registry: Registry, name: string, c: Command): void {
  const pid = "pid" in c ? c.pid : undefined;
  const home = TASKS.find(([p]) => p === pid);
  if (home === undefined) return;
  try {
    registry.get(name).instance.task(home[0]);
  } catch {
    try {
      registry.execute(name, { op: "spawnTask", pid: home[0], cgroup: home[1] });
    } catch {
      // the cgroup is gone too (a client removed it): nothing to repair
    }
  }
}

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/engine/commands.js";
import type { ModelName } from "../../src/engine/config.js";
import { EngineError } from "../../src/engine/errors.js";
import { Simulation } from "../../src/engine/simulation.js";
import { checkInvariants } from "../../src/engine/invariants.js";

const PATHS = ["/a", "/a/b", "/a/b/c", "/d", "/d/e", "/f"];
const PIDS = [100, 101, 102, 103, 104];
const CACHES = ["dentry", "kmalloc-256", "xfs_buf", "anon_vma"];
const GFPS = [
  "GFP_KERNEL",
  "GFP_KERNEL_ACCOUNT",
  "GFP_NOWAIT",
  "GFP_ATOMIC",
  "GFP_KERNEL|__GFP_NOFAIL",
  "GFP_KERNEL|__GFP_NORETRY",
];
const SIZES = ["16K", "64K", "256K", "1M", "4M"];

function commandArb(version: 1 | 2): fc.Arbitrary<Command> {
  const path = fc.constantFrom(...PATHS);
  const pid = fc.constantFrom(...PIDS);
  const cache = fc.constantFrom(...CACHES);
  const gfp = fc.constantFrom(...GFPS);
  const limitFiles =
    version === 2
      ? ["memory.max", "memory.high", "memory.low", "memory.min"]
      : ["memory.limit_in_bytes", "memory.kmem.limit_in_bytes", "memory.soft_limit_in_bytes"];
  const unlimited = version === 2 ? "max" : "-1";
  return fc.oneof(
    { weight: 2, arbitrary: path.map((p): Command => ({ op: "createCgroup", path: p })) },
    { weight: 1, arbitrary: path.map((p): Command => ({ op: "removeCgroup", path: p })) },
    {
      weight: 2,
      arbitrary: fc
        .record({ p: path, pid, cpu: fc.integer({ min: 0, max: 1 }), adj: fc.constantFrom(0, 0, 500, -1000) })
        .map((r): Command => ({ op: "spawnTask", cgroup: r.p, pid: r.pid, cpu: r.cpu, oomScoreAdj: r.adj })),
    },
    {
      // forked: a kernel stack and an mm (page tables) of its own
      weight: 1,
      arbitrary: fc
        .record({ p: path, pid, cpu: fc.integer({ min: 0, max: 1 }) })
        .map((r): Command => ({ op: "spawnTask", cgroup: r.p, pid: r.pid, cpu: r.cpu, fork: true })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ pid, pages: fc.integer({ min: 1, max: 48 }), softirq: fc.boolean(), nofail: fc.boolean() })
        .map(
          (r): Command => ({
            op: "chargeSocketPages",
            pid: r.pid,
            pages: r.pages,
            softirq: r.softirq,
            nofail: r.nofail,
          }),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ pid, pages: fc.integer({ min: 1, max: 48 }), cpu: fc.integer({ min: 0, max: 1 }) })
        .map((r): Command => ({ op: "unchargeSocketPages", pid: r.pid, pages: r.pages, cpu: r.cpu })),
    },
    {
      weight: 1,
      arbitrary: fc.record({ p: path, v: fc.constantFrom(...SIZES, unlimited) }).map(
        (r): Command => ({
          op: "writeFile",
          cgroup: r.p,
          file: version === 2 ? "memory.max" : "memory.kmem.tcp.limit_in_bytes",
          value: r.v,
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ pid, p: fc.constantFrom("/", ...PATHS) })
        .map((r): Command => ({ op: "moveTask", pid: r.pid, cgroup: r.p })),
    },
    { weight: 1, arbitrary: pid.map((p): Command => ({ op: "exitTask", pid: p })) },
    {
      weight: 6,
      arbitrary: fc.record({ cache, pid, count: fc.integer({ min: 1, max: 40 }), gfp }).map(
        (r): Command => ({
          op: "allocObjects",
          cache: r.cache,
          pid: r.pid,
          count: r.count,
          gfp: r.gfp,
          returnObjectIds: false,
        }),
      ),
    },
    {
      weight: 2,
      arbitrary: fc.record({ cache, p: path, count: fc.integer({ min: 1, max: 20 }) }).map(
        (r): Command => ({
          op: "allocObjects",
          cache: r.cache,
          cgroup: r.p,
          count: r.count,
          returnObjectIds: false,
        }),
      ),
    },
    {
      weight: 5,
      arbitrary: fc
        .record({
          cache,
          p: fc.constantFrom("/", ...PATHS),
          count: fc.integer({ min: 1, max: 40 }),
          order: fc.constantFrom("newest", "oldest", "random", "every-other") as fc.Arbitrary<"newest">,
        })
        .map(
          (r): Command => ({
            op: "freeObjects",
            cache: r.cache,
            cgroup: r.p,
            count: r.count,
            order: r.order,
          }),
        ),
    },
    {
      weight: 4,
      arbitrary: fc
        .record({
          cache,
          pid,
          count: fc.integer({ min: 1, max: 40 }),
          order: fc.constantFrom("newest", "oldest", "random", "every-other") as fc.Arbitrary<"newest">,
        })
        .map(
          (r): Command => ({ op: "freeObjects", cache: r.cache, pid: r.pid, count: r.count, order: r.order }),
        ),
    },
    {
      weight: 4,
      arbitrary: fc
        .record({
          pid,
          kind: fc.constantFrom("anon", "file") as fc.Arbitrary<"anon">,
          pages: fc.integer({ min: 1, max: 64 }),
          gfp,
        })
        .map(
          (r): Command => ({ op: "allocPages", pid: r.pid, kind: r.kind, bytes: r.pages * 4096, gfp: r.gfp }),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ pid, pages: fc.integer({ min: 1, max: 64 }) })
        .map((r): Command => ({ op: "freePages", pid: r.pid, kind: "anon", bytes: r.pages * 4096 })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ p: path, pages: fc.integer({ min: 1, max: 64 }) })
        .map((r): Command => ({ op: "freePages", cgroup: r.p, kind: "file", bytes: r.pages * 4096 })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ p: fc.constantFrom("/", ...PATHS), pages: fc.integer({ min: 1, max: 256 }) })
        .map((r): Command => ({ op: "reclaim", cgroup: r.p, bytes: r.pages * 4096 })),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({ p: path, f: fc.constantFrom(...limitFiles), v: fc.constantFrom(...SIZES, unlimited) })
        .map((r): Command => ({ op: "writeFile", cgroup: r.p, file: r.f, value: r.v })),
    },
    {
      weight: 1,
      arbitrary: fc.record({ p: path, v: fc.constantFrom("0", "1") }).map(
        (r): Command => ({
          op: "writeFile",
          cgroup: r.p,
          file: version === 2 ? "memory.oom.group" : "memory.use_hierarchy",
          value: r.v,
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: 200 }).map((ms): Command => ({ op: "advanceClock", ms })),
    },
  );
}

function fresh(model: ModelName, seed: number, version: 1 | 2 = model === "v5.9" ? 2 : 1): Simulation {
  const sim = new Simulation({
    model,
    cgroupVersion: model === "v5.9" ? 2 : version,
    memoryBytes: 16 * 1024 * 1024,
    cpuCount: 2,
    seed,
    chargeBatchPages: seed % 2 === 0 ? 1 : 8,
    cacheCreationDelayMs: seed % 3 === 0 ? 50 : 0,
  });
  sim.execute({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  sim.execute({ op: "createCache", name: "kmalloc-256", objectSizeBytes: 256 });
  sim.execute({
    op: "createCache",
    name: "xfs_buf",
    objectSizeBytes: 384,
    flags: { account: true, reclaimAccount: true },
    shrinker: { memcgAware: false, seeks: 2 },
  });
  // SLAB_TYPESAFE_BY_RCU: freed slabs' pages wait for advanceClock (invariants count them in flight)
  sim.execute({
    op: "createCache",
    name: "anon_vma",
    objectSizeBytes: 600,
    flags: { account: true, typesafeByRcu: true },
  });
  if (model === "rfc-2012")
    for (const name of ["xfs_buf", "anon_vma"]) sim.execute({ op: "registerCache", name });
  return sim;
}

/** Runs the commands, checking every invariant after each step; returns the first violation. */
function run(model: ModelName, version: 1 | 2, seed: number, cmds: Command[]): string | null {
  const sim = fresh(model, seed, version);
  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[i];
    // free by pid by age: the picks must be what a walk of the task's cgroups' lists picks
    // (SlabSystem.selectSlots over listsOfTask, the path without the per-context index)
    let expected: number[] | null = null;
    if (
      c.op === "freeObjects" &&
      c.pid !== undefined &&
      c.order !== "random" &&
      sim.taskAt(c.pid) !== undefined
    ) {
      const cache = sim.slab.caches.get(c.cache!)!;
      expected = Array.from(
        sim.slab.selectSlots(sim.slab.listsOfTask(cache, c.pid), c.pid, c.count!, c.order ?? "newest", null),
      );
    }
    let result: unknown = null;
    try {
      result = sim.execute(c);
    } catch (e) {
      if (!(e instanceof EngineError))
        return `step ${i} ${JSON.stringify(cmds[i])} threw ${(e as Error).stack}`;
    }
    if (expected !== null && result !== null) {
      if (expected.some((slot) => sim.slab.isLive(slot)))
        return `step ${i} ${JSON.stringify(c)}: a slot the list walk picks is still live`;
      const freed = (result as { freedCount: number }).freedCount;
      if (freed !== expected.length)
        return `step ${i} ${JSON.stringify(c)}: freed ${freed}, the list walk picks ${expected.length}`;
    }
    const v = checkInvariants(sim);
    if (v.length > 0) return `step ${i} ${JSON.stringify(cmds[i])}: ${v.slice(0, 5).join("; ")}`;
  }
  return null;
}

const STEPS = 400;
const RUNS = 10;

describe("invariants under random command sequences (docs/DOMAIN.md §12)", () => {
  it("holds on a fresh instance of every model", () => {
    for (const m of ["rfc-2012", "v3.8", "v4.5", "v5.9", "v6.18"] as const)
      expect(checkInvariants(fresh(m, 1))).toEqual([]);
  });

  for (const [model, version, seed] of [
    ["rfc-2012", 1, 0x5eed01],
    ["v3.8", 1, 0x5eed02],
    ["v4.5", 1, 0x5eed03],
    ["v4.5", 2, 0x5eed04],
    ["v5.9", 2, 0x5eed05],
    ["v6.18", 1, 0x5eed07],
    ["v6.18", 2, 0x5eed09],
  ] as const) {
    it(`holds after every one of ${STEPS * RUNS} random commands (${model}, cgroup v${version}, seed ${seed})`, () => {
      fc.assert(
        fc.property(
          fc.array(commandArb(version), { minLength: STEPS, maxLength: STEPS }),
          fc.integer({ min: 0, max: 1000 }),
          (cmds, s) => {
            const failure = run(model, version, s, cmds);
            if (failure !== null) throw new Error(`${model} v${version} fast-check seed ${seed}: ${failure}`);
          },
        ),
        { seed, numRuns: RUNS, endOnFailure: true },
      );
    });
  }
});

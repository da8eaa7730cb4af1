/**
 * Differential check between engine versions (used for every optimisation commit): runs 36
 * seeded, randomized 1,500-command scripts per model (every model of MODEL_NAMES; cgroup v1 and
 * v2 where the era has it: 36 for the four older models, 12 more for v6.18) and writes
 * every result, dumpState (minus the slab-array fingerprints, which depend on layout), each
 * cgroup's memory.stat and page counters (with the metrics totals) to FILE. Run it on two versions and `cmp` the files.
 * `npx tsx bench/replay-digest.ts FILE [--invariants]` (--invariants: checkInvariants after every
 * command, first violation per script printed). Any `page_counter underflow` warning
 * (PageCounter.underflows) is printed too.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "../src/engine/commands.js";
import { eraOf, MODEL_NAMES } from "../src/engine/config.js";
import { dumpState } from "../src/engine/dump.js";
import { EngineError } from "../src/engine/errors.js";
import { Simulation } from "../src/engine/simulation.js";
import { checkInvariants } from "../src/engine/invariants.js";

function script(seed: number, model: string): Command[] {
  let x = seed;
  const next = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  const cmds: Command[] = [
    {
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    },
    {
      op: "createCache",
      name: "inode",
      objectSizeBytes: 600,
      flags: { account: true, reclaimAccount: true },
      shrinker: { memcgAware: false, seeks: 2 },
    },
    { op: "createCache", name: "kmalloc-64", objectSizeBytes: 64 },
    { op: "createCache", name: "big", objectSizeBytes: 3000, flags: { account: true } },
  ];
  const paths = ["/a", "/a/b", "/c", "/a/b/d", "/e"];
  const caches = ["dentry", "inode", "kmalloc-64", "big"];
  const orders = ["newest", "oldest", "random", "every-other"] as const;
  const gfps = [
    undefined,
    "GFP_KERNEL",
    "GFP_KERNEL|__GFP_ACCOUNT",
    "GFP_NOWAIT",
    "GFP_KERNEL|__GFP_NOFAIL",
    "GFP_ATOMIC",
  ];
  const ids: number[] = [];
  for (let i = 0; i < 1500; i++) {
    const pid = 100 + next(6);
    const p = paths[next(paths.length)];
    switch (next(19)) {
      case 16:
      case 17:
      case 18:
        cmds.push({ op: "spawnTask", cgroup: p, pid, cpu: next(2) });
        break;
      case 0:
        cmds.push({ op: "createCgroup", path: p });
        break;
      case 1:
        cmds.push({ op: "spawnTask", cgroup: p, pid, cpu: next(2) });
        break;
      case 2:
      case 3:
      case 4:
        cmds.push({
          op: "allocObjects",
          cache: caches[next(4)],
          pid,
          count: 1 + next(next(2) ? 400 : 30),
          gfp: gfps[next(gfps.length)] as string,
          reclaimable: next(5) === 0 ? false : undefined,
          returnObjectIds: true,
        } as Command);
        break;
      case 5:
        cmds.push({ op: "allocObjects", cache: caches[next(4)], cgroup: p, count: 1 + next(100) });
        break;
      case 6:
      case 7:
        cmds.push({
          op: "freeObjects",
          cache: caches[next(4)],
          ...(next(2) ? { pid } : { cgroup: p }),
          count: 1 + next(200),
          order: orders[next(4)],
        } as Command);
        break;
      case 8:
        cmds.push({
          op: "freeObjects",
          objectIds: [next(5000), next(5000) + 2 ** 31, ...ids.splice(0, next(20))],
        });
        break;
      case 9:
        cmds.push({ op: "allocPages", pid, kind: next(2) ? "anon" : "file", bytes: 4096 * (1 + next(60)) });
        break;
      case 10:
        cmds.push({
          op: "writeFile",
          cgroup: p,
          // memory.high: v2 only (a v1 instance answers with an error, recorded like any result)
          file: model === "v3.8" ? "memory.kmem.limit_in_bytes" : next(3) === 0 ? "memory.high" : "memory.max",
          value: `${256 + next(1024)}K`,
        });
        break;
      case 11:
        cmds.push({ op: "reclaim", cgroup: p, bytes: 4096 * (1 + next(64)) });
        break;
      case 12:
        cmds.push({ op: "removeCgroup", path: p });
        break;
      case 13:
        cmds.push({ op: "exitTask", pid });
        break;
      case 14:
        cmds.push({ op: "moveTask", pid, cgroup: paths[next(paths.length)] });
        break;
      default:
        cmds.push({ op: "advanceClock", ms: next(100) });
    }
    // capture some ids by a marker later
    if (next(10) === 0) ids.push(next(4000));
  }
  return cmds;
}

const out: Record<string, unknown> = {};
// every model of the engine's MODELS table: compare two versions with the same model list
for (const model of MODEL_NAMES)
  for (const seed of [1, 2, 3, 4, 5, 6])
    for (const cgv of [1, 2]) {
      if (cgv === 2 && !eraOf(model).cgroupV2) continue;
      const sim = new Simulation({
        model,
        cgroupVersion: cgv as 1,
        seed,
        cpuCount: 2,
        memoryBytes: 48 * 1024 * 1024,
        // odd seeds: the per-CPU page-charge stock (memcg_stock) in play
        chargeBatchPages: seed % 2 === 1 ? 32 : 1,
      });
      const results: unknown[] = [];
      let stop = !process.argv.includes("--invariants");
      const log = script(seed * 7919 + cgv, model);
      for (const c of log) {
        if (!stop) {
          const v = checkInvariants(sim);
          if (v.length) {
            console.log(model, seed, cgv, JSON.stringify(c), v.slice(0, 3));
            stop = true;
          }
        }
        try {
          results.push(sim.execute(c));
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          results.push({ code: e.code, m: e.message });
        }
      }
      const d = dumpState(sim) as Record<string, unknown>;
      delete d.slabArrays;
      // cgroup views
      const views = sim.allCgroups().map((cg) => {
        try {
          return sim.readFile(cg.path, "memory.stat");
        } catch {
          return null;
        }
      });
      // page counters, the monotonic totals included (what /metrics reads)
      const counters = sim.allCgroups().map((cg) =>
        [cg.memory, cg.kmem].map((c) => [
          c.usage,
          c.max,
          c.watermark,
          c.failcnt,
          c.chargedTotal,
          c.unchargedTotal,
          c.failTotal,
          c.forcedTotal,
        ]),
      );
      // `page_counter underflow` warnings (page-counter.ts PC_UNDERFLOWS): none in a correct simulation
      const underflows = sim.allCgroups().reduce((n, cg) => n + cg.memory.underflows + cg.kmem.underflows, 0);
      if (underflows > 0) console.log(model, seed, cgv, `${underflows} page_counter underflow warnings`);
      out[`${model}/${seed}/${cgv}`] = { results, d, views, counters };
    }
writeFileSync(process.argv[2], JSON.stringify(out));
console.log("ok", Object.keys(out).length);

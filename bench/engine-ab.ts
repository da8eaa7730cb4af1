/**
 * One side of an interleaved before/after comparison of the engine's allocation and free paths
 * (docs/BENCHMARKS.md "SLUB split"): `npx tsx bench/engine-ab.ts DIR` builds DIR's engine as
 * bench/engine.ts `allocFree` does (one cgroup, one task, the `dentry` cache) and times one
 * `allocObjects` of 2M objects and one `freeObjects` by pid, oldest first, 7 rounds per model
 * after 2 warm-up rounds. Printed per model, in millions per second: the best round by wall
 * clock and the best by CPU time of this process (`process.cpuUsage`, user + system: on a shared
 * VM it leaves out the time the process waited for a core), as one JSON line. Run two trees
 * alternately (A B A B …) and compare pair by pair.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dir = resolve(process.argv[2] ?? ".");
const { setup } = (await import(
  pathToFileURL(`${dir}/bench/engine.ts`).href
)) as typeof import("./engine.js");
const COUNT = 2_000_000;
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const out: Record<string, number> = {};
for (const model of ["rfc-2012", "v3.8", "v4.5", "v5.9"] as const) {
  const { sim, pids } = setup(model, 1);
  const best = { allocWall: 0, freeWall: 0, allocCpu: 0, freeCpu: 0 };
  for (let round = 0; round < 9; round++) {
    const w0 = performance.now();
    const c0 = cpuUs();
    const r = sim.execute({
      op: "allocObjects",
      cache: "dentry",
      pid: pids[0],
      count: COUNT,
      returnObjectIds: false,
    }) as {
      allocatedCount: number;
    };
    const w1 = performance.now();
    const c1 = cpuUs();
    const f = sim.execute({
      op: "freeObjects",
      cache: "dentry",
      pid: pids[0],
      count: COUNT,
      order: "oldest",
    }) as {
      freedCount: number;
    };
    const w2 = performance.now();
    const c2 = cpuUs();
    if (r.allocatedCount !== COUNT || f.freedCount !== COUNT)
      throw new Error(`${model}: ${r.allocatedCount} / ${f.freedCount}`);
    if (round < 2) continue; // first touch of the instance's memory, then the JIT settling
    best.allocWall = Math.max(best.allocWall, COUNT / (w1 - w0) / 1e3);
    best.freeWall = Math.max(best.freeWall, COUNT / (w2 - w1) / 1e3);
    best.allocCpu = Math.max(best.allocCpu, COUNT / Math.max(1, c1 - c0));
    best.freeCpu = Math.max(best.freeCpu, COUNT / Math.max(1, c2 - c1));
  }
  out[`${model} alloc`] = Number(best.allocWall.toFixed(2));
  out[`${model} free`] = Number(best.freeWall.toFixed(2));
  out[`${model} alloc cpu`] = Number(best.allocCpu.toFixed(2));
  out[`${model} free cpu`] = Number(best.freeCpu.toFixed(2));
}
console.log(JSON.stringify(out));

import { z } from "zod";
import type { Command } from "../../engine/index.js";
import { advanceMinutes, cacheName, createLeaf, type ExpansionContext, GeneratorRandom, gfp, joinPath, nameSegment, seed, split, topLevelPath } from "./common.js";

/** One cache of a container's working set: its size is log-normal around `median` objects. */
export const workingSetSchema = z
  .object({
    cache: cacheName,
    median: z.number().int().min(1).max(1_000_000),
    /** σ of the underlying normal: 0 = every container the same, 1 = a 10× spread is common. */
    spread: z.number().min(0).max(3).default(1),
    gfp: gfp.optional(),
  })
  .strict();

/**
 * `containerFleet`: N long-lived containers (services) under `parent`, each with `tasksPerContainer`
 * tasks on seeded random CPUs and a working set per cache drawn once per container (log-normal,
 * the heavy-tailed shape of real per-service object counts). Then `rounds` rounds, `minutesBetween`
 * apart: in each round every (container, cache) moves its working set to a new size
 * `initial × exp(fluctuation × N(0,1))` — growing allocates, shrinking frees random objects — and
 * replaces a further `churnFraction` of it (random frees, then as many allocations), the way files
 * are opened, closed and deleted. Frees select the cgroup's objects in random order with the
 * instance's seeded PRNG. Allocations are made by the container's tasks (first-touch), spread
 * over them.
 */
export const containerFleetSchema = z
  .object({
    generate: z.literal("containerFleet"),
    containers: z.number().int().min(1).max(10_000),
    parent: topLevelPath.default("/services"),
    namePrefix: nameSegment.default("svc"),
    tasksPerContainer: z.number().int().min(1).max(64).default(2),
    workingSet: z.array(workingSetSchema).min(1).max(16),
    rounds: z.number().int().min(0).max(10_000).default(24),
    minutesBetween: z.number().min(0).max(1440).default(60),
    fluctuation: z.number().min(0).max(3).default(0.3),
    churnFraction: z.number().min(0).max(1).default(0.1),
    seed: seed.optional(),
  })
  .strict();
export type ContainerFleet = z.infer<typeof containerFleetSchema>;

export function* expandContainerFleet(
  g: ContainerFleet,
  ctx: ExpansionContext,
  seedValue: number,
): Generator<Command> {
  const rnd = new GeneratorRandom(seedValue);
  const cpus = ctx.config.cpuCount;
  const containers: { path: string; pids: number[]; initial: number[]; current: number[] }[] = [];
  for (let i = 1; i <= g.containers; i++) {
    const path = joinPath(g.parent, `${g.namePrefix}${i}`);
    const pids: number[] = [];
    yield* createLeaf(ctx, path);
    for (let t = 0; t < g.tasksPerContainer; t++) {
      const pid = ctx.pids.take();
      pids.push(pid);
      yield { op: "spawnTask", cgroup: path, pid, cpu: rnd.below(cpus) };
    }
    const initial = g.workingSet.map((w) => rnd.logNormalInt(w.median, w.spread));
    containers.push({ path, pids, initial, current: initial.slice() });
    for (let c = 0; c < g.workingSet.length; c++) yield* allocate(g, c, pids, initial[c]);
  }
  for (let r = 0; r < g.rounds; r++) {
    yield* advanceMinutes(g.minutesBetween);
    for (const k of containers) {
      for (let c = 0; c < g.workingSet.length; c++) {
        const w = g.workingSet[c];
        const target = Math.max(1, Math.round(k.initial[c] * Math.exp(g.fluctuation * rnd.normal())));
        const replace = Math.round(k.current[c] * g.churnFraction);
        const freeCount = Math.max(0, k.current[c] - target) + replace;
        const allocCount = Math.max(0, target - k.current[c]) + replace;
        if (freeCount > 0)
          yield { op: "freeObjects", cache: w.cache, cgroup: k.path, count: freeCount, order: "random" };
        yield* allocate(g, c, k.pids, allocCount);
        k.current[c] = target;
      }
    }
  }
}

function* allocate(g: ContainerFleet, c: number, pids: number[], count: number): Generator<Command> {
  if (count <= 0) return;
  const w = g.workingSet[c];
  const shares = split(count, pids.length);
  for (let t = 0; t < pids.length; t++)
    if (shares[t] > 0)
      yield {
        op: "allocObjects",
        cache: w.cache,
        pid: pids[t],
        count: shares[t],
        ...(w.gfp ? { gfp: w.gfp } : {}),
      };
}

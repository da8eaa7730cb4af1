import { z } from "zod";
import type { Command } from "../../engine/index.js";
import {
  advanceMinutes,
  cacheName,
  cgroupPath,
  createLeaf,
  type ExpansionContext,
  ensureCgroup,
  forget,
  GeneratorRandom,
  gfp,
  joinPath,
  nameSegment,
  seed,
  split,
  topLevelPath,
} from "./common.js";

/** One extra allocation a container makes, beside its main cache. */
export const allocationSchema = z
  .object({
    cache: cacheName,
    count: z.number().int().min(1).max(1_000_000),
    gfp: gfp.optional(),
  })
  .strict();

/**
 * `containerChurn`: N short-lived containers, one after the other (docs/DOMAIN.md §12 S6). Each container
 * is a cgroup `<parent>/<namePrefix><i>` whose tasks allocate `objectsPerContainer` objects of
 * `cache` (and the `mix`), free them again, exit, and the cgroup is removed; the clock then moves
 * `minutesBetween` minutes.
 *
 * With `leaveOneObjectPinnedBy`, a container (each one, or a seeded `pinnedFraction` of them)
 * leaves one object behind: a dentry it created that a task in that other, long-lived cgroup keeps
 * referenced (a file in a shared volume, a bind mount). The simulator has no reference counts, so
 * "referenced" means: allocated by the container's task after its per-cgroup cache copies exist,
 * never freed, and not on the LRU (`reclaimable: false`, as a dentry with a reference is not
 * freeable) unless `pinnedObjectReclaimable`. That object is what keeps a removed cgroup dying in
 * the per-cgroup-cache eras: its slab page pins the copy and the copy pins the cgroup.
 *
 * `reclaimEveryMinutes` adds a proactive reclaim of `reclaimBytes` at `reclaimCgroup` on that
 * period, the memory pressure under which a real host eventually shrinks cached dentries.
 */
export const containerChurnSchema = z
  .object({
    generate: z.literal("containerChurn"),
    containers: z.number().int().min(1).max(100_000),
    parent: topLevelPath.default("/containers"),
    namePrefix: nameSegment.default("c"),
    cache: cacheName.default("dentry"),
    objectsPerContainer: z.number().int().min(0).max(1_000_000).default(20),
    mix: z.array(allocationSchema).max(16).default([]),
    tasksPerContainer: z.number().int().min(1).max(64).default(1),
    minutesBetween: z.number().min(0).max(1440).default(1),
    leaveOneObjectPinnedBy: topLevelPath.optional(),
    pinnedFraction: z.number().min(0).max(1).default(1),
    pinnedObjectReclaimable: z.boolean().default(false),
    reclaimEveryMinutes: z.number().positive().max(100_000).optional(),
    reclaimBytes: z
      .number()
      .int()
      .min(4096)
      .max(Number.MAX_SAFE_INTEGER)
      .default(64 * 1024 * 1024),
    reclaimCgroup: cgroupPath.default("/"),
    seed: seed.optional(),
  })
  .strict()
  .refine((g) => g.leaveOneObjectPinnedBy === undefined || g.leaveOneObjectPinnedBy !== g.parent, {
    message: "leaveOneObjectPinnedBy must be another cgroup than parent",
    path: ["leaveOneObjectPinnedBy"],
  })
  .refine((g) => g.pinnedFraction === 1 || g.leaveOneObjectPinnedBy !== undefined, {
    message: "pinnedFraction needs leaveOneObjectPinnedBy",
    path: ["pinnedFraction"],
  });
export type ContainerChurn = z.infer<typeof containerChurnSchema>;

export function* expandContainerChurn(
  g: ContainerChurn,
  ctx: ExpansionContext,
  seedValue: number,
): Generator<Command> {
  const rnd = new GeneratorRandom(seedValue);
  const cpus = ctx.config.cpuCount;
  yield* ensureCgroup(ctx, g.parent);
  if (g.leaveOneObjectPinnedBy !== undefined) yield* ensureCgroup(ctx, g.leaveOneObjectPinnedBy);
  const allocations = [
    { cache: g.cache, count: g.objectsPerContainer, gfp: undefined as string | undefined },
    ...g.mix,
  ].filter((a) => a.count > 0);
  const reclaimEveryMs = g.reclaimEveryMinutes === undefined ? 0 : Math.round(g.reclaimEveryMinutes * 60_000);
  let elapsedMs = 0;
  let nextReclaimMs = reclaimEveryMs;
  for (let i = 1; i <= g.containers; i++) {
    const path = joinPath(g.parent, `${g.namePrefix}${i}`);
    // the random draws do not depend on the era, so every model runs the same workload
    const pinned =
      g.leaveOneObjectPinnedBy !== undefined && (g.pinnedFraction === 1 || rnd.uniform() < g.pinnedFraction);
    const pids: number[] = [];
    const taskCpus: number[] = [];
    for (let t = 0; t < g.tasksPerContainer; t++) {
      pids.push(ctx.pids.take());
      taskCpus.push(rnd.below(cpus));
    }
    yield* createLeaf(ctx, path);
    for (let t = 0; t < pids.length; t++)
      yield { op: "spawnTask", cgroup: path, pid: pids[t], cpu: taskCpus[t] };
    for (const a of allocations) {
      const shares = split(a.count, pids.length);
      for (let t = 0; t < pids.length; t++)
        if (shares[t] > 0)
          yield {
            op: "allocObjects",
            cache: a.cache,
            pid: pids[t],
            count: shares[t],
            ...(a.gfp ? { gfp: a.gfp } : {}),
          };
    }
    // the task frees what it allocated, whichever cache copy served it (first-touch, docs/DOMAIN.md §8)
    for (const a of allocations) {
      const shares = split(a.count, pids.length);
      for (let t = 0; t < pids.length; t++)
        if (shares[t] > 0)
          yield { op: "freeObjects", cache: a.cache, pid: pids[t], count: shares[t], order: "oldest" };
    }
    if (pinned)
      yield {
        op: "allocObjects",
        cache: g.cache,
        pid: pids[0],
        count: 1,
        reclaimable: g.pinnedObjectReclaimable,
      };
    for (const pid of pids) yield { op: "exitTask", pid };
    yield { op: "removeCgroup", path };
    forget(ctx, path);
    yield* advanceMinutes(g.minutesBetween);
    elapsedMs += Math.round(g.minutesBetween * 60_000);
    while (reclaimEveryMs > 0 && elapsedMs >= nextReclaimMs) {
      yield { op: "reclaim", cgroup: g.reclaimCgroup, bytes: g.reclaimBytes };
      nextReclaimMs += reclaimEveryMs;
    }
  }
}

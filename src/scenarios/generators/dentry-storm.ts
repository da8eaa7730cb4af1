import { z } from "zod";
import type { Command } from "../../engine/index.js";
import { bytes, cacheName, createLeaf, type ExpansionContext, GeneratorRandom, seed, topLevelPath } from "./common.js";

/**
 * `dentryStormUnderHigh`: one cgroup under a memory limit creates `dentries` dentries in batches
 * of `batch`, `msBetween` apart — a `find` over a huge tree, or a program stat()ing millions of
 * missing files (negative dentries). The dentries are reclaimable (on the cache's list_lru) and
 * nothing frees them but reclaim.
 *
 * The limit is `memory.high` on cgroup v2. cgroup v1 has no `memory.high`, so on v1 (always for
 * rfc-2012 and v3.8) the same number is written as the hard limit `memory.limit_in_bytes`, the
 * control a v1 user had: a documented substitution, so the figures of a v1 run are those of a
 * storm under a hard limit (reclaim, then ENOMEM/OOM) rather than under throttling.
 *
 * The batches are allocated by the cgroup's `tasks` in turn (first-touch, so `memory.high`
 * throttling and reclaim run on their return to user space). A task the OOM killer took is gone:
 * its later batches are refused (TASK_NOT_FOUND), which the comparison counts as refused
 * commands — the storm stops as the real process would. `fileBytesPerBatch` adds page cache read
 * by the same task.
 */
export const dentryStormSchema = z
  .object({
    generate: z.literal("dentryStormUnderHigh"),
    cgroup: topLevelPath.default("/storm"),
    highBytes: bytes.default(64 * 1024 * 1024),
    cache: cacheName.default("dentry"),
    dentries: z.number().int().min(1).max(50_000_000),
    batch: z.number().int().min(1).max(1_000_000).default(1000),
    msBetween: z.number().int().min(0).max(3_600_000).default(100),
    tasks: z.number().int().min(1).max(64).default(1),
    fileBytesPerBatch: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    seed: seed.optional(),
  })
  .strict();
export type DentryStorm = z.infer<typeof dentryStormSchema>;

export function* expandDentryStorm(
  g: DentryStorm,
  ctx: ExpansionContext,
  seedValue: number,
): Generator<Command> {
  const rnd = new GeneratorRandom(seedValue);
  yield* createLeaf(ctx, g.cgroup);
  yield ctx.config.cgroupVersion === 2
    ? { op: "updateCgroup", path: g.cgroup, memoryHighBytes: g.highBytes }
    : { op: "updateCgroup", path: g.cgroup, memoryMaxBytes: g.highBytes };
  const pids: number[] = [];
  for (let t = 0; t < g.tasks; t++) {
    const pid = ctx.pids.take();
    pids.push(pid);
    yield { op: "spawnTask", cgroup: g.cgroup, pid, cpu: rnd.below(ctx.config.cpuCount) };
  }
  for (let done = 0, k = 0; done < g.dentries; k++) {
    const n = Math.min(g.batch, g.dentries - done);
    const pid = pids[k % pids.length];
    yield { op: "allocObjects", cache: g.cache, pid, count: n, reclaimable: true, returnObjectIds: false };
    if (g.fileBytesPerBatch > 0) yield { op: "allocPages", pid, kind: "file", bytes: g.fileBytesPerBatch };
    done += n;
    if (g.msBetween > 0) yield { op: "advanceClock", ms: g.msBetween };
  }
}

import { z } from "zod";
import type { Command } from "../../engine/index.js";
import { bytes, cacheName, createLeaf, type ExpansionContext, GeneratorRandom, joinPath, nameSegment, seed, topLevelPath } from "./common.js";

/**
 * `fileServerReclaimableSlab`: a file server with `tenants` cgroups `<parent>/<namePrefix><i>`,
 * each under `memoryMaxBytes` (v1 `limit_in_bytes`, v2 `memory.max`) with one long-lived worker.
 * Every step each tenant touches a seeded random number of new files (mean `filesPerStep`): one
 * dentry and one inode each (reclaimable slab) and `fileBytes` of page cache; then it deletes as
 * many files as `deleteFraction` of the new ones, picked at random among all its files (objects
 * freed in random order, page cache dropped), and the clock moves `msBetween`. Files not deleted
 * stay cached, as closed files' dentries, inodes and pages do, until reclaim takes them. What the limit squeezes is page cache and reclaimable slab: the
 * figures show how much of the slab each era can give back, and what fails when it cannot.
 *
 * Objects are allocated on behalf of the tenant (`cgroup`), pages by its worker (`pid`); a worker
 * the OOM killer took makes the later page commands fail, which the comparison counts.
 */
export const fileServerSchema = z
  .object({
    generate: z.literal("fileServerReclaimableSlab"),
    tenants: z.number().int().min(1).max(1000).default(8),
    parent: topLevelPath.default("/fileserver"),
    namePrefix: nameSegment.default("tenant"),
    memoryMaxBytes: bytes.default(256 * 1024 * 1024),
    steps: z.number().int().min(1).max(100_000).default(60),
    filesPerStep: z.number().int().min(1).max(1_000_000).default(2000),
    fileBytes: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024 * 1024)
      .default(16 * 1024),
    deleteFraction: z.number().min(0).max(1).default(0.3),
    dentryCache: cacheName.default("dentry"),
    inodeCache: cacheName.default("inode_cache"),
    msBetween: z.number().int().min(0).max(3_600_000).default(1000),
    seed: seed.optional(),
  })
  .strict();
export type FileServer = z.infer<typeof fileServerSchema>;

export function* expandFileServer(
  g: FileServer,
  ctx: ExpansionContext,
  seedValue: number,
): Generator<Command> {
  const rnd = new GeneratorRandom(seedValue);
  const tenants: { path: string; pid: number; files: number }[] = [];
  for (let i = 1; i <= g.tenants; i++) {
    const path = joinPath(g.parent, `${g.namePrefix}${i}`);
    yield* createLeaf(ctx, path);
    yield { op: "updateCgroup", path, memoryMaxBytes: g.memoryMaxBytes };
    const pid = ctx.pids.take();
    yield { op: "spawnTask", cgroup: path, pid, cpu: rnd.below(ctx.config.cpuCount) };
    tenants.push({ path, pid, files: 0 });
  }
  for (let s = 0; s < g.steps; s++) {
    for (const t of tenants) {
      // uniform in [mean/2, 3·mean/2]: busy and quiet steps
      const files = Math.max(1, Math.round(g.filesPerStep * (0.5 + rnd.uniform())));
      yield {
        op: "allocObjects",
        cache: g.dentryCache,
        cgroup: t.path,
        count: files,
        reclaimable: true,
        returnObjectIds: false,
      };
      yield {
        op: "allocObjects",
        cache: g.inodeCache,
        cgroup: t.path,
        count: files,
        reclaimable: true,
        returnObjectIds: false,
      };
      if (g.fileBytes > 0) yield* chunkedPages(t.pid, files * g.fileBytes, ctx.config.memoryBytes);
      t.files += files;
      // deleted files are picked among all the tenant's files; the others stay cached until reclaim
      const deleted = Math.min(t.files, Math.round(files * g.deleteFraction));
      if (deleted > 0) {
        yield { op: "freeObjects", cache: g.dentryCache, cgroup: t.path, count: deleted, order: "random" };
        yield { op: "freeObjects", cache: g.inodeCache, cgroup: t.path, count: deleted, order: "random" };
        if (g.fileBytes > 0)
          yield {
            op: "freePages",
            cgroup: t.path,
            kind: "file",
            bytes: Math.min(deleted * g.fileBytes, ctx.config.memoryBytes),
          };
        t.files -= deleted;
      }
    }
    if (g.msBetween > 0) yield { op: "advanceClock", ms: g.msBetween };
  }
}

/** `allocPages` accepts at most the instance's RAM per command (docs/API.md §5): larger reads are split. */
function* chunkedPages(pid: number, total: number, max: number): Generator<Command> {
  for (let left = total; left > 0; left -= max)
    yield { op: "allocPages", pid, kind: "file", bytes: Math.min(left, max) };
}

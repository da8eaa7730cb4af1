import { z } from "zod";
import { type Command, EngineError, MAX_SOCK_PAGES, MODEL_NAMES } from "../engine/index.js";

/**
 * The zod schemas of the command language (docs/API.md §6): the single source for REST bodies,
 * `/batch`, scenario files, the gRPC mapping and the journal. Shapes only; domain rules
 * (ranges that depend on the instance, existence) are the engine's.
 */
const int = z.number().int();
const bytes = int.min(1).max(Number.MAX_SAFE_INTEGER);
const limitBytes = int.min(0).max(Number.MAX_SAFE_INTEGER).nullable();
const pid = int.min(1).max(4194304);
const cgroupPath = z.string().min(1).max(4096);
const cacheName = z.string().min(1).max(64);
const gfp = z.string().min(1).max(200);

export const instanceConfigSchema = z
  .object({
    model: z.enum(MODEL_NAMES),
    cgroupVersion: z.union([z.literal(1), z.literal(2)]),
    memoryBytes: int.min(1),
    cpuCount: int,
    pageSizeBytes: int,
    kmemIndependentAccounting: z.boolean(),
    reclaimOnKmemFailure: z.boolean(),
    chargeBatchPages: int,
    maxReclaimRetries: int,
    slubMaxOrder: int,
    slubMinObjects: int,
    minPartial: int.nullable(),
    cacheCreationDelayMs: int,
    seed: int,
  })
  .partial()
  .strict();

export const createCgroupBody = z.object({ path: cgroupPath }).strict();
export const updateCgroupBody = z
  .object({
    memoryMaxBytes: limitBytes,
    memoryHighBytes: limitBytes,
    memoryLowBytes: limitBytes,
    memoryMinBytes: limitBytes,
    kmemMaxBytes: limitBytes,
    useHierarchy: z.boolean(),
    oomGroup: z.boolean(),
    oomKillDisable: z.boolean(),
    moveChargeAtImmigrate: int.min(0).max(3),
  })
  .partial()
  .strict();
export const createCacheBody = z
  .object({
    name: cacheName,
    objectSizeBytes: int.min(1).max(8192),
    alignBytes: int.min(1).max(4096).optional(),
    flags: z
      .object({
        account: z.boolean(),
        reclaimAccount: z.boolean(),
        hwcacheAlign: z.boolean(),
        typesafeByRcu: z.boolean(),
      })
      .partial()
      .strict()
      .optional(),
    shrinker: z
      .object({ memcgAware: z.boolean(), seeks: int.min(0).max(1000) })
      .partial()
      .strict()
      .nullable()
      .optional(),
  })
  .strict();
export const spawnTaskBody = z
  .object({
    cgroup: cgroupPath,
    pid: pid.optional(),
    cpu: int.min(0).max(255).optional(),
    oomScoreAdj: int.min(-1000).max(1000).optional(),
    fork: z.boolean().optional(),
  })
  .strict();
export const moveTaskBody = z.object({ cgroup: cgroupPath }).strict();
export const allocObjectsBody = z
  .object({
    cache: cacheName,
    pid: pid.optional(),
    cgroup: cgroupPath.optional(),
    count: int.min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    gfp: gfp.optional(),
    reclaimable: z.boolean().optional(),
    returnObjectIds: z.boolean().optional(),
  })
  .strict();
export const freeObjectsBody = z
  .object({
    objectIds: z.array(int.min(0).max(Number.MAX_SAFE_INTEGER)).max(1_000_000).optional(),
    cache: cacheName.optional(),
    pid: pid.optional(),
    cgroup: cgroupPath.optional(),
    count: int.min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    order: z.enum(["newest", "oldest", "random", "every-other"]).optional(),
    cpu: int.min(0).max(255).optional(),
  })
  .strict();
export const allocPagesBody = z
  .object({ pid, kind: z.enum(["anon", "file"]), bytes, gfp: gfp.optional() })
  .strict();
export const freePagesBody = z
  .object({ pid: pid.optional(), cgroup: cgroupPath.optional(), kind: z.enum(["anon", "file"]), bytes })
  .strict();
export const reclaimBody = z.object({ cgroup: cgroupPath, bytes, gfp: gfp.optional() }).strict();
export const writeFileBody = z
  .object({ cgroup: cgroupPath, file: z.string().min(1).max(128), value: z.string().max(4096) })
  .strict();
export const allocKernelPagesBody = z
  .object({
    pid,
    kind: z.enum(["kernelStack", "kmallocLarge", "pageTable", "other"]),
    order: int.min(0).max(10).optional(),
    gfp: gfp.optional(),
  })
  .strict();
export const freeKernelPagesBody = z
  .object({
    pageIds: z.array(int.min(1).max(Number.MAX_SAFE_INTEGER)).max(1_000_000),
    cpu: int.min(0).max(255).optional(),
  })
  .strict();
export const chargeSocketPagesBody = z
  .object({
    pid,
    pages: int.min(1).max(MAX_SOCK_PAGES),
    softirq: z.boolean().optional(),
    nofail: z.boolean().optional(),
  })
  .strict();
export const unchargeSocketPagesBody = z
  .object({ pid, pages: int.min(1).max(MAX_SOCK_PAGES), cpu: int.min(0).max(255).optional() })
  .strict();
export const advanceClockBody = z.object({ ms: int.min(0).max(Number.MAX_SAFE_INTEGER) }).strict();

export const commandSchema = z.discriminatedUnion("op", [
  createCgroupBody.extend({ op: z.literal("createCgroup") }).strict(),
  updateCgroupBody
    .extend({ path: cgroupPath })
    .extend({ op: z.literal("updateCgroup") })
    .strict(),
  z
    .object({ path: cgroupPath })
    .extend({ op: z.literal("removeCgroup") })
    .strict(),
  createCacheBody.extend({ op: z.literal("createCache") }).strict(),
  z
    .object({ name: cacheName })
    .extend({ op: z.literal("registerCache") })
    .strict(),
  z
    .object({ name: cacheName })
    .extend({ op: z.literal("removeCache") })
    .strict(),
  spawnTaskBody.extend({ op: z.literal("spawnTask") }).strict(),
  moveTaskBody
    .extend({ pid })
    .extend({ op: z.literal("moveTask") })
    .strict(),
  z
    .object({ pid })
    .extend({ op: z.literal("exitTask") })
    .strict(),
  allocObjectsBody.extend({ op: z.literal("allocObjects") }).strict(),
  freeObjectsBody.extend({ op: z.literal("freeObjects") }).strict(),
  allocPagesBody.extend({ op: z.literal("allocPages") }).strict(),
  freePagesBody.extend({ op: z.literal("freePages") }).strict(),
  reclaimBody.extend({ op: z.literal("reclaim") }).strict(),
  writeFileBody.extend({ op: z.literal("writeFile") }).strict(),
  advanceClockBody.extend({ op: z.literal("advanceClock") }).strict(),
  allocKernelPagesBody.extend({ op: z.literal("allocKernelPages") }).strict(),
  freeKernelPagesBody.extend({ op: z.literal("freeKernelPages") }).strict(),
  chargeSocketPagesBody.extend({ op: z.literal("chargeSocketPages") }).strict(),
  unchargeSocketPagesBody.extend({ op: z.literal("unchargeSocketPages") }).strict(),
]);

// compile-time check: every parsed command is an engine Command
const _check: (c: z.infer<typeof commandSchema>) => Command = (c) => c;
void _check;

export const batchBody = z
  .object({ commands: z.array(z.unknown()).max(100_000), stopOnError: z.boolean().optional() })
  .strict();

/** zod issues as the problem+json `details.issues` of docs/API.md §2. */
export function issuesOf(err: z.ZodError, prefix = ""): { path: string; message: string }[] {
  return err.issues.map((i) => ({ path: prefix + i.path.map(String).join("."), message: i.message }));
}

/** Parses with `schema` or throws INVALID_ARGUMENT carrying the issues. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  prefix = "",
): z.infer<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issues = issuesOf(r.error, prefix);
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid ${what}: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
      { issues },
    );
  }
  return r.data;
}

/** Parses one command of the command language. */
export function parseCommand(input: unknown, prefix = ""): Command {
  return parseOrThrow(commandSchema, input, "command", prefix);
}

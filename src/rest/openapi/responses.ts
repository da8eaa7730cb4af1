import { z } from "zod";
import { ERROR_CODES, MODEL_NAMES } from "../../engine/index.js";
import { instanceConfigSchema } from "../../commands/schemas.js";
import { EXACT_INTEGER_DESCRIPTION } from "../json.js";

/**
 * Response shapes of docs/API.md §3–§8, written once as zod so openapi.yaml is generated from them and
 * the contract test validates real answers against the generated file. Objects are closed
 * (additionalProperties: false) so a field the engine adds fails the contract test until it is
 * documented here; events are open, each type carrying its own fields.
 */
const int = z.number().int();
const count = int.min(0);
/**
 * A byte count: a JSON integer up to 2^53 − 1, above it a string of its exact decimal digits
 * (src/rest/json.ts; docs/API.md, Integers above 2^53 − 1). Limits reach 2^63 − 4096 and memparse's
 * wrap values (200376420520689664); usages stay far below.
 */
const bytes = z
  .union([int.min(0), z.string().regex(/^[1-9][0-9]{15,19}$/)])
  .describe(EXACT_INTEGER_DESCRIPTION);
const limit = bytes.nullable();

/** The resolved config: the request schema with every field present. */
export const instanceConfigOut = instanceConfigSchema
  .required()
  .describe("Every field resolved (docs/API.md §3).");

export const instance = z.object({
  name: z.string(),
  config: instanceConfigOut,
  clockMs: int,
  cgroupCount: count,
  taskCount: count,
  cacheCount: count,
  liveObjectCount: count,
  commandCount: count,
});

/** An instance the data file holds that restore kept, not loaded, after a failed integrity check (docs/RELIABILITY.md). */
export const failedInstance = z.object({ name: z.string(), state: z.literal("failed"), reason: z.string() });
export const instanceList = z.object({
  instances: z.array(instance),
  /** Present only when there are any. */
  failedInstances: z.array(failedInstance).optional(),
});

const memcgEvents = z.object({
  low: count,
  high: count,
  max: count,
  oom: count,
  oomKill: count,
  oomGroupKill: count,
});

export const cgroup = z.object({
  path: z.string(),
  state: z.enum(["online", "dying"]),
  taskPids: z.array(int),
  children: z.array(z.string()),
  memory: z.object({
    usageBytes: bytes,
    maxBytes: limit,
    highBytes: limit,
    lowBytes: bytes,
    minBytes: bytes,
    peakBytes: bytes,
    failCount: count,
  }),
  kmem: z.object({ usageBytes: bytes, maxBytes: limit, peakBytes: bytes, failCount: count }),
  events: memcgEvents,
  eventsLocal: memcgEvents,
  stat: z.object({
    anonBytes: bytes,
    fileBytes: bytes,
    kernelBytes: bytes,
    slabReclaimableBytes: bytes,
    slabUnreclaimableBytes: bytes,
    slabBytes: bytes,
  }),
  caches: z.array(
    z.object({
      name: z.string(),
      displayName: z.string(),
      activeObjectCount: count,
      objectCount: count,
      slabCount: count,
      state: z.string(),
    }),
  ),
  descendantCount: count,
  dyingDescendantCount: count,
});

export const cgroupList = z.object({ cgroups: z.array(cgroup) });

export const cache = z.object({
  name: z.string(),
  objectSizeBytes: bytes,
  sizeBytes: bytes.describe("the aligned slot size"),
  alignBytes: bytes,
  order: count,
  objectsPerSlab: count,
  pagesPerSlab: count,
  minPartial: count,
  flags: z
    .object({
      account: z.boolean(),
      reclaimAccount: z.boolean(),
      hwcacheAlign: z.boolean(),
      typesafeByRcu: z.boolean(),
    })
    .partial(),
  shrinker: z.object({ memcgAware: z.boolean(), seeks: count }).partial().nullable(),
  accounted: z.boolean(),
  activeObjectCount: count,
  objectCount: count,
  slabCount: count,
  children: z.array(
    z.object({
      cgroup: z.string(),
      displayName: z.string(),
      state: z.string(),
      activeObjectCount: count,
      objectCount: count,
      slabCount: count,
    }),
  ),
});

export const cacheList = z.object({ caches: z.array(cache) });

export const task = z.object({
  pid: int.min(1),
  cgroup: z.string(),
  cpu: count,
  oomScoreAdj: int,
  anonBytes: bytes,
  state: z.enum(["running", "killed"]),
});

export const taskList = z.object({ tasks: z.array(task) });

export const allocResult = z
  .object({
    allocatedCount: count.optional(),
    failedCount: count.optional(),
    allocatedBytes: bytes.optional(),
    failedBytes: bytes.optional(),
    error: z.enum(["ENOMEM", "OOM_KILLED"]).nullable(),
    failedAt: z.string().nullable().describe("the cgroup whose limit failed the charge"),
    chargedBytes: bytes,
    reclaimedBytes: bytes,
    oomKilledPids: z.array(int),
    throttleMs: count,
    objectIds: z.array(count).optional().describe("present when returnObjectIds or count ≤ 1000"),
  })
  .describe("A simulated failure is data here, never an HTTP error (docs/API.md §5).");

export const freeResult = z.object({
  freedCount: count.optional(),
  freedBytes: bytes.optional(),
  missingCount: count,
  unchargedBytes: bytes,
  freedSlabCount: count,
});

export const reclaimResult = z.object({
  reclaimedBytes: bytes,
  fileReclaimedBytes: bytes,
  slabReclaimedBytes: bytes,
  scannedObjectCount: count,
  freedObjectCount: count,
  freedSlabCount: count,
  error: z.enum(["EAGAIN"]).nullable(),
});

export const clockResult = z.object({ clockMs: int });
export const socketChargeResult = z.object({
  charged: z.boolean().describe("the memcg charge function's return; false: the socket is under pressure"),
  accounted: z.boolean().describe("the socket is bound to a memcg (false: root, or v1 tcp accounting off)"),
  cgroup: z.string().nullable(),
  chargedBytes: bytes,
  socketBytes: bytes,
  reclaimedBytes: bytes,
  oomKilledPids: z.array(int),
});
export const socketUnchargeResult = z.object({ unchargedBytes: bytes, socketBytes: bytes });

export const batchResult = z.object({
  results: z.array(
    z.union([
      z.object({ ok: z.literal(true), result: z.record(z.string(), z.unknown()) }),
      z.object({ ok: z.literal(false), error: z.object({ code: z.enum(ERROR_CODES), detail: z.string() }) }),
    ]),
  ),
  executedCount: count,
});

export const EVENT_TYPES = [
  "charge_failed",
  "max",
  "high",
  "oom",
  "oom_kill",
  "reclaim",
  "cgroup_created",
  "cgroup_removed",
  "cgroup_released",
  "cache_created",
  "cache_destroyed",
] as const;

export const simEvent = z
  .object({
    seq: int.min(1),
    clockMs: int,
    type: z.enum(EVENT_TYPES),
    cgroup: z.string().optional(),
    cache: z.string().optional(),
    pid: int.optional(),
  })
  // Each type adds its own fields (a charge failure names the counter, an OOM kill the victim).
  .loose();

export const eventPage = z.object({
  events: z.array(simEvent),
  nextSeq: int.min(1).describe("the sinceSeq of the next poll"),
});

export const health = z.object({
  status: z.literal("ok"),
  /**
   * Instances the data file holds that restore did not load because their rows failed the
   * integrity check (`--recover=skip`, docs/RELIABILITY.md); present only when there are any.
   */
  failedInstances: z.array(failedInstance).optional(),
});

export const problemOut = z
  .object({
    type: z.literal("about:blank"),
    title: z.string(),
    status: int.min(400).max(599),
    detail: z.string(),
    code: z.enum(ERROR_CODES),
    details: z
      .object({ issues: z.array(z.object({ path: z.string(), message: z.string() })).optional() })
      .loose()
      .describe("INVALID_ARGUMENT carries `issues`; other codes name what they refer to"),
  })
  .partial({ details: true })
  .describe("RFC 9457 problem details (docs/API.md §2).");

/** `POST /v1/compare`: one row per model (docs/API.md §11), plus each run's config and sampled series. */
export const compareResult = z.object({
  description: z.string().optional(),
  models: z.array(
    z.object({
      model: z.enum(MODEL_NAMES),
      slabBytes: bytes,
      slabPageCount: count,
      slabUtilization: z.number().min(0).max(1),
      kmemChargedBytes: bytes,
      memoryChargedBytes: bytes,
      dyingCgroupCount: count,
      chargeFailureCount: count,
      oomKillCount: count,
    }),
  ),
  runs: z.array(z.record(z.string(), z.unknown())),
  series: z.array(z.record(z.string(), z.unknown())),
});

const replayCounters = z.object({
  "memory.kmem.usage_in_bytes": z.number().int(),
  "memory.usage_in_bytes": z.number().int(),
  "memory.failcnt": z.number().int(),
  oom_kill: z.number().int(),
});

/** The answer of POST /v1/instances/{name}/replay: one model's object of `memcg-sim replay --json`. */
export const replayResult = z.object({
  cgroups: z.record(z.string(), z.object({ predicted: replayCounters, real: replayCounters.nullable() })),
  oomKills: z.array(z.object({ pid: z.number().int(), cgroup: z.string(), atLine: z.number().int() })),
  lines: z.object({
    parsed: z.number().int(),
    used: z.number().int(),
    skipped: z.record(z.string(), z.number().int()),
  }),
  notes: z.record(z.string(), z.number().int()).optional(),
});

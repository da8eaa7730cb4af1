import { fail } from "./errors.js";
import { DEFAULT_MODEL, eraOf, isModelName, MODEL_NAMES, type ModelName } from "./models/eras.js";

export { eraOf, MODEL_NAMES, type ModelName } from "./models/eras.js";

/** Instance configuration as a client may send it (docs/API.md §3); every key optional. */
export interface InstanceConfigInput {
  model?: ModelName;
  cgroupVersion?: 1 | 2;
  memoryBytes?: number;
  cpuCount?: number;
  pageSizeBytes?: number;
  kmemIndependentAccounting?: boolean;
  reclaimOnKmemFailure?: boolean;
  chargeBatchPages?: number;
  maxReclaimRetries?: number;
  slubMaxOrder?: number;
  slubMinObjects?: number;
  minPartial?: number | null;
  cacheCreationDelayMs?: number;
  seed?: number;
}

/** Every field resolved; frozen once built. */
export interface InstanceConfig {
  readonly model: ModelName;
  readonly cgroupVersion: 1 | 2;
  readonly memoryBytes: number;
  readonly cpuCount: number;
  readonly pageSizeBytes: 4096;
  readonly kmemIndependentAccounting: boolean;
  readonly reclaimOnKmemFailure: boolean;
  readonly chargeBatchPages: number;
  readonly maxReclaimRetries: number;
  /** SLUB `slub_max_order` (default PAGE_ALLOC_COSTLY_ORDER = 3, docs/DOMAIN.md §5.1). */
  readonly slubMaxOrder: number;
  /** SLUB `slub_min_objects`; 0 = derived from cpuCount (docs/DOMAIN.md §5.1 step 1). */
  readonly slubMinObjects: number;
  /** Override of the per-cache `min_partial`; null = the kernel's clamp(ilog2(size)/2, 5, 10). */
  readonly minPartial: number | null;
  readonly cacheCreationDelayMs: number;
  readonly seed: number;
}

export const CONFIG_KEYS = [
  "model",
  "cgroupVersion",
  "memoryBytes",
  "cpuCount",
  "pageSizeBytes",
  "kmemIndependentAccounting",
  "reclaimOnKmemFailure",
  "chargeBatchPages",
  "maxReclaimRetries",
  "slubMaxOrder",
  "slubMinObjects",
  "minPartial",
  "cacheCreationDelayMs",
  "seed",
] as const;

const MiB = 1024 * 1024;
/** Largest simulated RAM: 1 TiB keeps every byte count an exact JS integer. */
export const MAX_MEMORY_BYTES = 1024 * 1024 * MiB;

function int(v: unknown, key: string, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi)
    fail("INVALID_ARGUMENT", `config.${key} must be an integer in [${lo}, ${hi}]`, {
      issues: [{ path: `config.${key}`, message: `expected an integer in [${lo}, ${hi}]` }],
    });
  return v;
}

function bool(v: unknown, key: string): boolean {
  if (typeof v !== "boolean")
    fail("INVALID_ARGUMENT", `config.${key} must be a boolean`, {
      issues: [{ path: `config.${key}`, message: "expected a boolean" }],
    });
  return v;
}

/**
 * Resolves a client config into a full, frozen InstanceConfig with the per-model defaults of
 * docs/API.md §3. Unknown keys and out-of-range values throw INVALID_ARGUMENT.
 */
export function resolveConfig(input: InstanceConfigInput | undefined): InstanceConfig {
  const c = (input ?? {}) as Record<string, unknown>;
  if (typeof c !== "object" || c === null || Array.isArray(c))
    fail("INVALID_ARGUMENT", "config must be an object");
  for (const k of Object.keys(c)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k))
      fail("INVALID_ARGUMENT", `unknown config key "${k}"`, {
        issues: [{ path: `config.${k}`, message: "unknown key" }],
      });
  }
  const model = c.model ?? DEFAULT_MODEL;
  if (!isModelName(model))
    fail("INVALID_ARGUMENT", `config.model must be one of ${MODEL_NAMES.join(", ")}`, {
      issues: [{ path: "config.model", message: `expected one of ${MODEL_NAMES.join(", ")}` }],
    });
  const era = eraOf(model);
  const cgroupVersion = int(c.cgroupVersion ?? era.defaultCgroupVersion, "cgroupVersion", 1, 2) as 1 | 2;
  if (cgroupVersion === 2 && !era.cgroupV2) {
    const v2Models = MODEL_NAMES.filter((m) => eraOf(m).cgroupV2).join(", ");
    fail(
      "INVALID_ARGUMENT",
      `model ${model} predates the cgroup v2 memory controller (4.5); use cgroupVersion 1`,
      {
        issues: [{ path: "config.cgroupVersion", message: `cgroup v2 needs one of ${v2Models}` }],
      },
    );
  }
  const memoryBytes = int(c.memoryBytes ?? 8589934592, "memoryBytes", 16 * MiB, MAX_MEMORY_BYTES);
  if (memoryBytes % 4096 !== 0)
    fail("INVALID_ARGUMENT", "config.memoryBytes must be a multiple of the page size", {
      issues: [{ path: "config.memoryBytes", message: "expected a multiple of 4096" }],
    });
  const pageSizeBytes = int(c.pageSizeBytes ?? 4096, "pageSizeBytes", 4096, 4096) as 4096;
  const onlyA = (k: string) => {
    if (c[k] !== undefined && era.kmemCounter !== "seed" && c[k] !== false)
      fail("INVALID_ARGUMENT", `config.${k} applies to model rfc-2012 only`, {
        issues: [{ path: `config.${k}`, message: "rfc-2012 only" }],
      });
  };
  onlyA("kmemIndependentAccounting");
  onlyA("reclaimOnKmemFailure");
  const cfg: InstanceConfig = {
    model,
    cgroupVersion,
    memoryBytes,
    cpuCount: int(c.cpuCount ?? 4, "cpuCount", 1, 256),
    pageSizeBytes,
    kmemIndependentAccounting: bool(c.kmemIndependentAccounting ?? false, "kmemIndependentAccounting"),
    reclaimOnKmemFailure: bool(c.reclaimOnKmemFailure ?? false, "reclaimOnKmemFailure"),
    chargeBatchPages: int(c.chargeBatchPages ?? era.defaults.chargeBatchPages, "chargeBatchPages", 1, 64),
    maxReclaimRetries: int(c.maxReclaimRetries ?? era.defaults.maxReclaimRetries, "maxReclaimRetries", 1, 64),
    slubMaxOrder: int(c.slubMaxOrder ?? 3, "slubMaxOrder", 0, 10),
    slubMinObjects: int(c.slubMinObjects ?? 0, "slubMinObjects", 0, 32767),
    minPartial:
      c.minPartial === undefined || c.minPartial === null ? null : int(c.minPartial, "minPartial", 0, 100),
    cacheCreationDelayMs: int(c.cacheCreationDelayMs ?? 0, "cacheCreationDelayMs", 0, 86_400_000),
    seed: int(c.seed ?? 1, "seed", 0, 4294967295),
  };
  return Object.freeze(cfg);
}

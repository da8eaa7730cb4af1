// The engine's front door: what the rest of src/ (transports, persistence, metrics, CLI, compare,
// scenarios) may import from the engine. Everything else in src/engine is internal; the rule is
// checked by dependency-cruiser in `npm run lint` (.dependency-cruiser.cjs, engine-front-door).
// bench/ and test/ may import engine internals directly. Add an export here when a new outer
// module needs it; keep the list to what is used.
export {
  EVENT_KEYS,
  STAT_ANON_PAGES,
  STAT_FILE_PAGES,
  STAT_KERNEL_PAGES,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
  type Cgroup,
} from "./cgroup.js";
export { procMeminfo, procSlabinfo } from "./cgroupfs/proc.js";
export { OPS, type AllocResult, type Command, type Op } from "./commands.js";
export {
  eraOf,
  MODEL_NAMES,
  resolveConfig,
  type InstanceConfig,
  type InstanceConfigInput,
  type ModelName,
} from "./config.js";
export { EngineError, ERROR_CODES, fail, type ErrorCode } from "./errors.js";
export { PAGE_SIZE } from "./page.js";
export type { EventLog, SimEvent } from "./events.js";
export { type CommandRun, DEFAULT_LIMITS, Simulation, type EngineLimits } from "./simulation.js";
export {
  registerCacheAtBoot,
  replayAllocObjects,
  replayFreeObjects,
  type CommandCounted,
} from "./slab-api.js";
export { Prng } from "./prng.js";
export { MAX_SOCK_PAGES } from "./sock-mem.js";
export { captureState, restoreState, type SnapshotGraph, type SnapshotNode } from "./snapshot.js";
export { subtree } from "./reclaim.js";
export { cacheView, cgroupView, instanceView, taskView, usagePages } from "./views.js";

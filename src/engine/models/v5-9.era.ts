// The v5.9 model's era as data (no behaviour: the accounting rules are in v5-9.ts).
import { type Era, LRU_KEYS, V1_FILES_BASE, V2_FILES_BASE, V2_STAT_KEYS_6X } from "./era.js";

/**
 * The object-based slab controller (docs/DOMAIN.md §11 model C), with the later 5.x/6.x file
 * formats the simulator has served under this name (cgroup.stat per subsystem, 6.18 memory.stat).
 */
export const V5_9_ERA: Era = {
  name: "v5.9",
  title: "the object-based slab controller (5.9+)",
  kernelSource: "v5.9",
  modern: true,
  counter: "page_counter",
  cgroupV2: true,
  defaultCgroupVersion: 2,
  hierarchyAlways: true,
  // 5.9 __memcg_kmem_charge enforces the v1 kmem limit (page_counter_try_charge(&memcg->kmem)), and
  // memcg_update_kmem_max sets it (EBUSY below usage) until 5.16 (58056f77502f)
  kmemLimit: "limit",
  kmemCounter: "mirror",
  kmemSlabinfo: "empty",
  oomControlOomKill: true,
  cgroupStatPerSubsys: true,
  anonStartsInactive: true,
  moveChargeRemoved: false,
  cachesNeedRegistration: false,
  kernelPages: "account",
  nrMemcgStock: 1,
  memcgChargeBatch: 32,
  pageStockRule: "batch",
  memcgOom: "sync",
  oomFailedForces: true,
  oomVictimCharge: "force",
  nofailForcesBeforeOom: true,
  memoryHigh: "throttle",
  atomicCharge: "force-silent",
  oomPassedRetry: false,
  peakResetPerFd: false,
  emptyWriteIsNoop: false,
  defaults: { maxReclaimRetries: 16, chargeBatchPages: 32 },
  v1Files: V1_FILES_BASE,
  v2Files: V2_FILES_BASE,
  v1StatKeys: [
    "cache",
    "rss",
    "rss_huge",
    "shmem",
    "mapped_file",
    "dirty",
    "writeback",
    "workingset_refault_anon",
    "workingset_refault_file",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    ...LRU_KEYS,
  ],
  v1StatMemswLimit: false,
  v2StatKeys: V2_STAT_KEYS_6X,
  v2EventKeys: ["low", "high", "max", "oom", "oom_kill", "oom_group_kill"],
};

// The v3.8 model's era as data (no behaviour: the accounting rules are in v3-8.ts).
import { type Era, LRU_KEYS, V1_FILES_BASE, V2_FILES_BASE } from "./era.js";

/** 3.8 kmem accounting (docs/DOMAIN.md §11 model B). */
export const V3_8_ERA: Era = {
  name: "v3.8",
  title: "kmem accounting as merged in 3.8",
  kernelSource: "v3.8",
  modern: false,
  counter: "res_counter",
  cgroupV2: false,
  defaultCgroupVersion: 1,
  hierarchyAlways: false,
  kmemLimit: "activate",
  kmemActivateOnMax: false,
  kmemCounter: "subset",
  kmemSlabinfo: "active-only",
  oomControlOomKill: false,
  cgroupStatPerSubsys: false,
  cgroupEventsFrozen: false,
  slabinfoAggregatesCopies: true,
  cpuPartial: "objects",
  emptySlabDiscard: "above", // nr_partial > min_partial (the off-by-one fix is 3.17)
  anonStartsInactive: false,
  moveChargeRemoved: false,
  cachesNeedRegistration: false,
  kernelPages: "kmemcg",
  threadSizeOrder: 1, // 3.8 arch/x86/include/asm/page_64_types.h: THREAD_SIZE_ORDER 1
  // PGALLOC_GFP without __GFP_KMEMCG: not charged (3e79ec7ddcb2 is 4.8); no PTI before 4.15
  pageTablesAccounted: false,
  // no part of a new cgroup is charged to anyone before 5.9 (3c7be18ac9a0)
  memcgAlloc: null,
  pgdOrder: 0,
  oomBadnessTableLevels: 1,
  nrMemcgStock: 1,
  memcgChargeBatch: 32,
  pageStockRule: "single-page",
  memcgOom: "sync",
  oomFailedForces: false,
  oomVictimCharge: "bypass",
  nofailForcesBeforeOom: false,
  memoryHigh: "reclaim",
  atomicCharge: "nomem",
  oomPassedRetry: false,
  peakResetPerFd: false,
  emptyWriteIsNoop: false,
  // 3.5+: per-cgroup MEMCG_SOCK_ACTIVE (tcp_update_limit), res_counter_charge_nofail; no cgroup v2
  tcpActivation: "own-limit",
  sockCharge: "nofail",
  sockUncharge: "counter",
  sockSoftirqGfp: "GFP_NOWAIT",
  defaults: { maxReclaimRetries: 5, chargeBatchPages: 32 },
  v1Files: V1_FILES_BASE,
  v2Files: V2_FILES_BASE,
  v1StatKeys: ["cache", "rss", "mapped_file", "pgpgin", "pgpgout", "pgfault", "pgmajfault", ...LRU_KEYS],
  v1StatMemswLimit: false,
  v2StatKeys: [],
  v2EventKeys: [],
};

// The rfc-2012 model's era as data (no behaviour: the accounting rules are in rfc-2012.ts).
import { type Era, LRU_KEYS, V1_FILES_BASE, V2_FILES_BASE } from "./era.js";

/** The seed (docs/DOMAIN.md §11 model A): a 3.3-era memcg with the RFC's kmem counter. */
export const RFC_2012_ERA: Era = {
  name: "rfc-2012",
  title: 'the "[PATCH 3/7] per-cgroup slab caches" RFC (Feb 2012)',
  kernelSource: "v3.3 + the RFC series",
  modern: false,
  counter: "res_counter",
  cgroupV2: false,
  defaultCgroupVersion: 1,
  hierarchyAlways: false,
  kmemLimit: "limit",
  kmemActivateOnMax: false,
  kmemCounter: "seed",
  // the seed predates memory.kmem.slabinfo (3.8)
  kmemSlabinfo: "absent",
  oomControlOomKill: false,
  cgroupStatPerSubsys: false,
  cgroupEventsFrozen: false,
  slabinfoAggregatesCopies: false,
  cpuPartial: "objects",
  emptySlabDiscard: "above", // nr_partial > min_partial (the off-by-one fix is 3.17)
  anonStartsInactive: false,
  moveChargeRemoved: false,
  cachesNeedRegistration: true,
  kernelPages: "none",
  threadSizeOrder: 1, // v3.3 arch/x86/include/asm/page_64_types.h: THREAD_ORDER 1
  // page tables charged from 4.8 (3e79ec7ddcb2); no page table isolation before 4.15
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
  // 3.3: one static key for all cgroups (tcp_update_limit), res_counter_charge_nofail; no cgroup v2
  tcpActivation: "any-limit",
  sockCharge: "nofail",
  sockUncharge: "counter",
  sockSoftirqGfp: "GFP_NOWAIT",
  defaults: { maxReclaimRetries: 5, chargeBatchPages: 32 },
  v1Files: V1_FILES_BASE.filter((f) => f !== "memory.kmem.slabinfo"),
  v2Files: V2_FILES_BASE,
  v1StatKeys: ["cache", "rss", "mapped_file", "pgpgin", "pgpgout", "pgfault", "pgmajfault", ...LRU_KEYS],
  v1StatMemswLimit: false,
  v2StatKeys: [],
  v2EventKeys: [],
};

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
  anonStartsInactive: false,
  moveChargeRemoved: false,
  cachesNeedRegistration: true,
  kernelPages: "none",
  nrMemcgStock: 1,
  oomPassedRetry: false,
  peakResetPerFd: false,
  emptyWriteIsNoop: false,
  defaults: { maxReclaimRetries: 5, chargeBatchPages: 1 },
  v1Files: V1_FILES_BASE.filter((f) => f !== "memory.kmem.slabinfo"),
  v2Files: V2_FILES_BASE,
  v1StatKeys: ["cache", "rss", "mapped_file", "pgpgin", "pgpgout", "pgfault", "pgmajfault", ...LRU_KEYS],
  v1StatMemswLimit: false,
  v2StatKeys: [],
  v2EventKeys: [],
};

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
  kmemCounter: "subset",
  kmemSlabinfo: "active-only",
  oomControlOomKill: false,
  cgroupStatPerSubsys: false,
  anonStartsInactive: false,
  moveChargeRemoved: false,
  cachesNeedRegistration: false,
  kernelPages: "kmemcg",
  nrMemcgStock: 1,
  oomPassedRetry: false,
  peakResetPerFd: false,
  emptyWriteIsNoop: false,
  defaults: { maxReclaimRetries: 5, chargeBatchPages: 1 },
  v1Files: V1_FILES_BASE,
  v2Files: V2_FILES_BASE,
  v1StatKeys: ["cache", "rss", "mapped_file", "pgpgin", "pgpgout", "pgfault", "pgmajfault", ...LRU_KEYS],
  v1StatMemswLimit: false,
  v2StatKeys: [],
  v2EventKeys: [],
};

// The v4.5 model's era as data (no behaviour: the accounting rules are in v4-5.ts).
import { type Era, LRU_KEYS, V1_FILES_BASE, V2_FILES_BASE } from "./era.js";

/** Opt-in SLAB_ACCOUNT / __GFP_ACCOUNT, 4.5–5.2 (docs/DOMAIN.md §11 model B′). */
export const V4_5_ERA: Era = {
  name: "v4.5",
  title: "opt-in SLAB_ACCOUNT/__GFP_ACCOUNT, 4.5-5.2",
  kernelSource: "v4.5",
  modern: true,
  counter: "page_counter",
  cgroupV2: true,
  defaultCgroupVersion: 1,
  hierarchyAlways: false,
  // 4.5 legacy hierarchy: kmem accounting off until a kmem.limit_in_bytes write activates it
  // (memcg_update_kmem_limit → memcg_activate_kmem); always on from 4.6 (b313aeee2509)
  kmemLimit: "activate",
  kmemActivateOnMax: true,
  kmemCounter: "subset",
  kmemSlabinfo: "copies",
  // the oom_kill line came with 4.13 (8e675f7af507)
  oomControlOomKill: false,
  cgroupStatPerSubsys: false,
  cgroupEventsFrozen: false,
  slabinfoAggregatesCopies: true,
  cpuPartial: "objects",
  emptySlabDiscard: "atLeast", // nr_partial >= min_partial (3.17+)
  anonStartsInactive: false,
  moveChargeRemoved: false,
  cachesNeedRegistration: false,
  kernelPages: "account",
  threadSizeOrder: 2,
  // 4.5 PGALLOC_GFP has no __GFP_ACCOUNT (3e79ec7ddcb2 "arch: x86: charge page tables to kmemcg" is 4.8); no PTI before 4.15
  pageTablesAccounted: false,
  // no part of a new cgroup is charged to anyone before 5.9 (3c7be18ac9a0)
  memcgAlloc: null,
  pgdOrder: 0,
  oomBadnessTableLevels: 2,
  nrMemcgStock: 1,
  memcgChargeBatch: 32,
  pageStockRule: "batch",
  memcgOom: "deferred",
  oomFailedForces: false,
  oomVictimCharge: "force",
  nofailForcesBeforeOom: true,
  memoryHigh: "reclaim",
  atomicCharge: "nomem",
  oomPassedRetry: false,
  peakResetPerFd: false,
  emptyWriteIsNoop: false,
  // 4.5 mem_cgroup_charge_skmem: forced + false; mem_cgroup_uncharge_skmem: page_counter_uncharge
  tcpActivation: "own-write",
  sockCharge: "force",
  sockUncharge: "counter",
  sockSoftirqGfp: "GFP_NOWAIT",
  defaults: { maxReclaimRetries: 5, chargeBatchPages: 32 },
  v1Files: V1_FILES_BASE,
  // 4.5 mm/memcontrol.c:memory_files[] is current, low, high, max, events, stat (memory.min,
  // oom.group, events.local, peak and reclaim came later, see V2_FILES_BASE); cgroup core:
  // cgroup.procs and cgroup.events (cgroup.stat is 4.14)
  v2Files: V2_FILES_BASE.filter(
    (f) =>
      ![
        "memory.min",
        "memory.peak",
        "memory.events.local",
        "memory.reclaim",
        "memory.oom.group",
        "cgroup.stat",
      ].includes(f),
  ),
  v1StatKeys: [
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    ...LRU_KEYS,
  ],
  v1StatMemswLimit: false,
  // 4.5 mm/memcontrol.c:memory_stat_show (587d9f726aae "mm: memcontrol: basic memory statistics
  // in cgroup2 memory controller", with `sock` from the socket accounting of the same release):
  // no kernel_stack/slab (4.6: 12580e4b54ba, 27ee57c93ff0), no shmem/anon_thp (4.14)
  v2StatKeys: [
    "anon",
    "file",
    "sock",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    ...LRU_KEYS,
    "pgfault",
    "pgmajfault",
  ],
  // 4.5 mm/memcontrol.c:memory_events_show: low, high, max, oom (oom_kill is 4.13, 8e675f7af507)
  v2EventKeys: ["low", "high", "max", "oom"],
};

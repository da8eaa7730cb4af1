// The v5.9 model's era as data (no behaviour: the accounting rules are in v5-9.ts).
import { type Era, LRU_KEYS, V1_FILES_BASE, V2_FILES_BASE } from "./era.js";

/**
 * The object-based slab controller (docs/DOMAIN.md §11 model C), with the files of 5.9/5.10
 * (mm/memcontrol.c at AltafYafai/kernel_common_5.10 @0a5b5efcaaf3, and the 5.9 memory_stat_format
 * shown as removed lines by "mm: memcontrol: Add the missing numa_stat interface for cgroup v2",
 * Sep 2020).
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
  // mem_cgroup_write case _KMEM: memcg_update_kmem_max → page_counter_set_max sets it (EBUSY below
  // usage; stored and read back) until 5.16
  kmemLimit: "limit",
  kmemActivateOnMax: false,
  kmemCounter: "mirror",
  kmemSlabinfo: "empty",
  oomControlOomKill: true,
  // nr_subsys_* came with 6.11 (ab0312526867)
  cgroupStatPerSubsys: false,
  cgroupEventsFrozen: true,
  slabinfoAggregatesCopies: true,
  cpuPartial: "objects",
  emptySlabDiscard: "atLeast", // nr_partial >= min_partial (3.17+)
  anonStartsInactive: true,
  moveChargeRemoved: false,
  cachesNeedRegistration: false,
  kernelPages: "account",
  threadSizeOrder: 2,
  // GFP_PGTABLE_USER page tables (4.8+); CONFIG_PAGE_TABLE_ISOLATION=y: PGD_ALLOCATION_ORDER 1
  pageTablesAccounted: true,
  // 5.9 mm/memcontrol.c:mem_cgroup_css_alloc wraps mem_cgroup_alloc in memalloc_use_memcg(parent):
  // four per-CPU statistics areas are GFP_KERNEL_ACCOUNT; the struct mem_cgroup and
  // mem_cgroup_per_node (kzalloc GFP_KERNEL) are not. Sizes from 5.9's struct definitions
  // (include/linux/memcontrol.h, mmzone.h node_stat_item, vm_event_item.h) under the recorded 6.18
  // host's x86_64 config — the same counting reproduces every size the 6.18 host traced:
  // memcg_vmstats_percpu = MEMCG_NR_STAT 40 + NR_VM_EVENT_ITEMS 96 longs + nr_page_events +
  // targets[2] = 1112 B; lruvec_stat = NR_VM_NODE_STAT_ITEMS 37 longs = 296 B
  memcgAlloc: {
    source: "5.9 struct definitions under the recorded 6.18 host's config",
    percpuObjcgPointers: false,
    items: [
      { kind: "percpu", bytes: 1112, what: "memcg->vmstats_local" },
      { kind: "percpu", bytes: 1112, what: "memcg->vmstats_percpu" },
      { kind: "percpu", bytes: 296, what: "pn->lruvec_stat_local", perNode: true },
      { kind: "percpu", bytes: 296, what: "pn->lruvec_stat_cpu", perNode: true },
    ],
  },
  pgdOrder: 1,
  oomBadnessTableLevels: 3,
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
  // 5.9/5.10 mem_cgroup_charge_skmem: forced + false; uncharge refill_stock
  tcpActivation: "own-write",
  sockCharge: "force",
  sockUncharge: "stock",
  sockSoftirqGfp: "GFP_NOWAIT",
  defaults: { maxReclaimRetries: 16, chargeBatchPages: 32 },
  v1Files: V1_FILES_BASE,
  // 5.10 memory_files[] has no peak and no reclaim (both 5.19)
  v2Files: V2_FILES_BASE.filter((f) => f !== "memory.peak" && f !== "memory.reclaim"),
  // 5.10 memcg_stat_show: memcg1_stat_names[] (no workingset_* yet; `swap` only with swap
  // accounting), memcg1_events[], the LRUs
  v1StatKeys: [
    "cache",
    "rss",
    "rss_huge",
    "shmem",
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
  // 5.9 memory_stat_format: no `kernel` (a8c49af3be5f, 5.18), pagetables, vmalloc, zswap, pgdemote…
  v2StatKeys: [
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "percpu",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    ...LRU_KEYS,
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault_anon",
    "workingset_refault_file",
    "workingset_activate_anon",
    "workingset_activate_file",
    "workingset_restore_anon",
    "workingset_restore_file",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
  ],
  // 5.10 __memory_events_show: five keys, ending at oom_kill (oom_group_kill came after 5.10)
  v2EventKeys: ["low", "high", "max", "oom", "oom_kill"],
};

// The v6.18 model's era as data (no behaviour: the accounting rules are in v6-18.ts).
import { type Era, LRU_KEYS, V2_FILES_BASE, V2_STAT_KEYS_6X } from "./era.js";

/** cgroup v1 files of 6.18: mem_cgroup_legacy_files[], memsw_files[] (swap accounting on), cgroup1_base_files[]. */
const V1_FILES_6_18 = [
  "memory.usage_in_bytes",
  "memory.max_usage_in_bytes",
  "memory.limit_in_bytes",
  "memory.soft_limit_in_bytes",
  "memory.failcnt",
  "memory.stat",
  "memory.force_empty",
  "memory.use_hierarchy",
  "cgroup.event_control",
  "memory.swappiness",
  "memory.move_charge_at_immigrate",
  "memory.oom_control",
  "memory.pressure_level",
  "memory.numa_stat",
  "memory.kmem.limit_in_bytes",
  "memory.kmem.usage_in_bytes",
  "memory.kmem.failcnt",
  "memory.kmem.max_usage_in_bytes",
  "memory.kmem.slabinfo",
  "memory.kmem.tcp.limit_in_bytes",
  "memory.kmem.tcp.usage_in_bytes",
  "memory.kmem.tcp.failcnt",
  "memory.kmem.tcp.max_usage_in_bytes",
  "memory.memsw.usage_in_bytes",
  "memory.memsw.max_usage_in_bytes",
  "memory.memsw.limit_in_bytes",
  "memory.memsw.failcnt",
  "cgroup.procs",
  "cgroup.clone_children",
  "notify_on_release",
  "tasks",
] as const;

export const V6_18_ERA: Era = {
  name: "v6.18",
  title: "today's kernel: Linux 6.18, calibrated against a real 6.18 host",
  kernelSource: "v6.18",
  modern: true,
  counter: "page_counter",
  cgroupV2: true,
  defaultCgroupVersion: 2,
  hierarchyAlways: true,
  kmemLimit: "ignored",
  kmemActivateOnMax: false,
  kmemCounter: "mirror",
  kmemSlabinfo: "empty",
  oomControlOomKill: true,
  cgroupStatPerSubsys: true,
  cgroupEventsFrozen: true,
  slabinfoAggregatesCopies: true,
  cpuPartial: "slabs",
  emptySlabDiscard: "atLeast", // nr_partial >= min_partial (3.17+)
  anonStartsInactive: true,
  moveChargeRemoved: true,
  cachesNeedRegistration: false,
  kernelPages: "account",
  threadSizeOrder: 2,
  // PTI active as on the recorded 6.18 host: pgd_allocation_order() 1 (an order-1 pgd per fork in fork-100)
  pageTablesAccounted: true,
  // mem_cgroup_alloc (mm/memcontrol.c, 6.18) under set_active_memcg(parent), as the real 6.18 host
  // traced it (one mkdir of a v1 child, x86_64, 2 possible CPUs, 1 node; docs/MODELS.md row 22):
  // the struct mem_cgroup itself (kmem_cache "mem_cgroup", GFP_KERNEL) and mem_cgroup_per_node
  // are not accounted
  memcgAlloc: {
    source: "kmem:kmalloc and percpu:percpu_alloc_percpu events of one mkdir on the recorded 6.18 host",
    percpuObjcgPointers: true,
    items: [
      // memcg->vmstats = kzalloc(sizeof(struct memcg_vmstats), GFP_KERNEL_ACCOUNT): bytes_req 1712
      { kind: "kmalloc", bytes: 2048, what: "memcg->vmstats" },
      // alloc_percpu_gfp(struct memcg_vmstats_percpu, GFP_KERNEL_ACCOUNT)
      { kind: "percpu", bytes: 1216, what: "memcg->vmstats_percpu" },
      // mm/memcontrol-v1.c:memcg1_alloc_events, built with CONFIG_MEMCG_V1 (as on the recorded
      // host) and called on either hierarchy
      { kind: "percpu", bytes: 24, what: "memcg->events_percpu" },
      // alloc_mem_cgroup_per_node_info: pn->lruvec_stats (bytes_req 792), pn->lruvec_stats_percpu
      { kind: "kmalloc", bytes: 1024, what: "pn->lruvec_stats", perNode: true },
      { kind: "percpu", bytes: 528, what: "pn->lruvec_stats_percpu", perNode: true },
    ],
  },
  pgdOrder: 1,
  oomBadnessTableLevels: 3,
  nrMemcgStock: 7,
  memcgChargeBatch: 64,
  pageStockRule: "batch",
  memcgOom: "sync",
  oomFailedForces: false,
  oomVictimCharge: "fail",
  nofailForcesBeforeOom: false,
  memoryHigh: "sync",
  atomicCharge: "force",
  oomPassedRetry: true,
  peakResetPerFd: true,
  emptyWriteIsNoop: true,
  // 6.18 memcg1_charge_skmem / mem_cgroup_sk_charge: no force without __GFP_NOFAIL; gfp_memcg_charge GFP_ATOMIC
  tcpActivation: "own-write",
  sockCharge: "fail",
  sockUncharge: "stock",
  sockSoftirqGfp: "GFP_ATOMIC",
  defaults: { maxReclaimRetries: 16, chargeBatchPages: 64 },
  v1Files: V1_FILES_6_18,
  v2Files: V2_FILES_BASE,
  // memcg1_stat_format: memcg1_stats[] (swap and swapcached with swap accounting), memcg1_events[], LRUs
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
    "swap",
    "swapcached",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    ...LRU_KEYS,
  ],
  v1StatMemswLimit: true,
  v2StatKeys: V2_STAT_KEYS_6X,
  // __memory_events_show: no `sock_throttled` in 6.18 — the recorded 6.18 host's BTF
  // (/sys/kernel/btf/vmlinux) has enum memcg_memory_event without MEMCG_SOCK_THROTTLED; the patch
  // ("memcg: net: track network throttling due to memcg memory pressure") was posted 2025-10-16,
  // after 6.18-rc1
  v2EventKeys: ["low", "high", "max", "oom", "oom_kill", "oom_group_kill"],
};

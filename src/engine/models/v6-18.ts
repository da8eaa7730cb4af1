import { refillStock, uncharge } from "../charge.js";
import { type Cgroup, modStat, ROW_KMEM, STAT_KERNEL_PAGES } from "../cgroup.js";
import { unchargeAt } from "../page-counter.js";
import type { SlabSystem } from "../slab/kmem.js";
import { type Era, LRU_KEYS, V2_FILES_BASE, V2_STAT_KEYS_6X } from "./era.js";
import { V59Model } from "./v5-9.js";

/**
 * Linux 6.18 (docs/MODELS.md "v6.18"): the object-based slab controller of 5.9 as today's kernel
 * runs it, calibrated against recordings of a real 6.18 host. What differs from `v5.9`, each rule
 * with its source at v6.18:
 *
 * - Charges go through the per-CPU page stock in batches of MEMCG_CHARGE_BATCH = 64 pages
 *   (include/linux/memcontrol.h; 32 before 6.1), so a cgroup's usage moves by 256 KiB while its
 *   kmem moves by the pages its objects need: the default `chargeBatchPages` is 64.
 * - The page stock caches NR_MEMCG_STOCK = 7 memcgs per CPU (mm/memcontrol.c: consume_stock,
 *   refill_stock, drain_all_stock; 6.16 "memcg: multi-memcg percpu charge cache"): charge.ts.
 * - Pages an objcg gives back refill the page stock instead of leaving the memory counter
 *   (mm/memcontrol.c: obj_cgroup_uncharge_pages → refill_stock), so usage stays while kmem drops.
 * - rmdir: memcg_offline_kmem reparents the objcgs without draining the per-CPU object stocks
 *   (their bytes later go back to the parent), then mem_cgroup_css_offline drains the page stocks
 *   caching the cgroup (drain_all_stock): the recorded parent loses the child's 48 stocked pages.
 * - cgroup v1 (mm/memcontrol-v1.c): kmem limits are gone (memcg1 `kmem.limit_in_bytes` accepts a
 *   valid value and discards it, reads PAGE_COUNTER_MAX); charge moving is gone
 *   (mem_cgroup_move_charge_write: EINVAL for anything but 0); `memory.memsw.*` (swap accounting
 *   on) and `memory.kmem.tcp.*` exist; `memory.swappiness` takes 0..200 (MAX_SWAPPINESS);
 *   `memory.numa_stat`; `memory.pressure_level` and `memory.force_empty` are EINVAL to read.
 * - cgroup v2: `memory.events` ends with `sock_throttled` (6.14); a `memory.peak` write resets the
 *   writer's own per-fd watermark only (6.12 peak_write).
 */
export class V618Model extends V59Model {
  override readonly name: string = "v6.18";

  /** `obj_cgroup_uncharge_pages` (6.18): kmem and the `kernel` stat drop, the memory charge goes to this CPU's stock. */
  protected override unchargePages(memcg: Cgroup, nrPages: number, cpu: number): void {
    if (memcg.isRoot) return;
    unchargeAt(memcg, ROW_KMEM, nrPages);
    memcg.objcgPages -= nrPages;
    modStat(memcg, STAT_KERNEL_PAGES, -nrPages);
    // chargeBatchPages 1 is the simulator's exact-accounting mode: no stock, the pages leave at once
    if (this.sim.config.chargeBatchPages > 1) refillStock(this.sim, memcg, nrPages, cpu);
    else uncharge(memcg, nrPages);
    this.sim.maybeRelease(memcg);
  }

  /** `memcg_offline_kmem` (6.18): the objcgs move to the parent; the per-CPU object stocks are left as they are. */
  override onCgroupOffline(kmem: SlabSystem, cg: Cgroup): void {
    this.reparent(kmem, cg, cg.parent!);
  }
}

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
  kmemCounter: "mirror",
  kmemSlabinfo: "empty",
  oomControlOomKill: true,
  cgroupStatPerSubsys: true,
  anonStartsInactive: true,
  moveChargeRemoved: true,
  nrMemcgStock: 7,
  oomPassedRetry: true,
  peakResetPerFd: true,
  emptyWriteIsNoop: true,
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
  v2EventKeys: ["low", "high", "max", "oom", "oom_kill", "oom_group_kill", "sock_throttled"],
};

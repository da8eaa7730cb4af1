import {
  type Cgroup,
  STAT_ANON_PAGES,
  STAT_FILE_PAGES,
  STAT_KERNEL_PAGES,
  STAT_PGPGIN,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
} from "../cgroup.js";
import type { Instance } from "../instance.js";

const PAGE = 4096;

/**
 * v2 `memory.stat` (DOMAIN §3.2), hierarchical, flat `key value` lines in the kernel's order.
 * v5.9 prints the 6.x `memory_stats[]` order (`kernel` third, `slab` right after
 * `slab_unreclaimable`, slab values in object bytes); v4.5 prints the 5.2-era list, where slab
 * statistics are whole slab pages and there is no `kernel` key.
 */
export function v2MemoryStat(sim: Instance, cg: Cgroup): string {
  const h = cg.statHier;
  const anon = h[STAT_ANON_PAGES] * PAGE;
  const file = h[STAT_FILE_PAGES] * PAGE;
  const kernel = h[STAT_KERNEL_PAGES] * PAGE;
  const srec = h[STAT_SLAB_RECLAIMABLE_BYTES];
  const sunrec = h[STAT_SLAB_UNRECLAIMABLE_BYTES];
  const modernAnonInactive = sim.config.model === "v5.9";
  const lru: [string, number][] = [
    ["inactive_anon", modernAnonInactive ? anon : 0],
    ["active_anon", modernAnonInactive ? 0 : anon],
    ["inactive_file", file],
    ["active_file", 0],
    ["unevictable", 0],
  ];
  let rows: [string, number][];
  if (sim.config.model === "v5.9") {
    // 6.18 `memory_stats[]` then memcg_stat_format's pgscan/pgsteal sums and
    // `memcg_vm_event_stat[]` (pgpgin/pgpgout skipped with CONFIG_MEMCG_V1), for a typical x86-64
    // distribution config: CONFIG_SWAP, CONFIG_ZSWAP, CONFIG_TRANSPARENT_HUGEPAGE on;
    // CONFIG_NUMA_BALANCING off; `hugetlb` hidden (no memory_hugetlb_accounting mount option).
    rows = [
      ["anon", anon],
      ["file", file],
      ["kernel", kernel],
      ["kernel_stack", 0],
      ["pagetables", 0],
      ["sec_pagetables", 0],
      ["percpu", 0],
      ["sock", 0],
      ["vmalloc", 0],
      ["shmem", 0],
      ["zswap", 0],
      ["zswapped", 0],
      ["file_mapped", 0],
      ["file_dirty", 0],
      ["file_writeback", 0],
      ["swapcached", 0],
      ["anon_thp", 0],
      ["file_thp", 0],
      ["shmem_thp", 0],
      ...lru,
      ["slab_reclaimable", srec],
      ["slab_unreclaimable", sunrec],
      ["slab", srec + sunrec],
      ["workingset_refault_anon", 0],
      ["workingset_refault_file", 0],
      ["workingset_activate_anon", 0],
      ["workingset_activate_file", 0],
      ["workingset_restore_anon", 0],
      ["workingset_restore_file", 0],
      ["workingset_nodereclaim", 0],
      ["pgdemote_kswapd", 0],
      ["pgdemote_direct", 0],
      ["pgdemote_khugepaged", 0],
      ["pgdemote_proactive", 0],
      ["pgscan", 0],
      ["pgsteal", 0],
      ["pswpin", 0],
      ["pswpout", 0],
      ["pgscan_kswapd", 0],
      ["pgscan_direct", 0],
      ["pgscan_khugepaged", 0],
      ["pgscan_proactive", 0],
      ["pgsteal_kswapd", 0],
      ["pgsteal_direct", 0],
      ["pgsteal_khugepaged", 0],
      ["pgsteal_proactive", 0],
      ["pgfault", h[STAT_PGPGIN]],
      ["pgmajfault", 0],
      ["pgrefill", 0],
      ["pgactivate", 0],
      ["pgdeactivate", 0],
      ["pglazyfree", 0],
      ["pglazyfreed", 0],
      ["swpin_zero", 0],
      ["swpout_zero", 0],
      ["zswpin", 0],
      ["zswpout", 0],
      ["zswpwb", 0],
      ["thp_fault_alloc", 0],
      ["thp_collapse_alloc", 0],
      ["thp_swpout", 0],
      ["thp_swpout_fallback", 0],
    ];
  } else {
    rows = [
      ["anon", anon],
      ["file", file],
      ["kernel_stack", 0],
      ["slab", srec + sunrec],
      ["sock", 0],
      ["shmem", 0],
      ["file_mapped", 0],
      ["file_dirty", 0],
      ["file_writeback", 0],
      ["anon_thp", 0],
      ...lru,
      ["slab_reclaimable", srec],
      ["slab_unreclaimable", sunrec],
      ["pgfault", h[STAT_PGPGIN]],
      ["pgmajfault", 0],
      ["workingset_refault", 0],
      ["workingset_activate", 0],
      ["workingset_nodereclaim", 0],
      ["pgrefill", 0],
      ["pgscan", 0],
      ["pgsteal", 0],
      ["pgactivate", 0],
      ["pgdeactivate", 0],
      ["pglazyfree", 0],
      ["pglazyfreed", 0],
      ["thp_fault_alloc", 0],
      ["thp_collapse_alloc", 0],
    ];
  }
  return rows.map(([k, v]) => `${k} ${v}\n`).join("");
}

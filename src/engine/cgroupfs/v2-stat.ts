import {
  type Cgroup,
  STAT_ANON_PAGES,
  STAT_FILE_PAGES,
  STAT_KERNEL_PAGES,
  STAT_KERNEL_STACK_PAGES,
  STAT_PAGETABLE_PAGES,
  STAT_PGPGIN,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
} from "../cgroup.js";
import { PAGE_SIZE as PAGE } from "../page.js";
import type { Sim } from "../sim.js";

/** One v2 `memory.stat` value of a hierarchical statistics row, in the file's unit (0: not simulated). */
function v2StatValue(sim: Sim, key: string, h: Float64Array, cg: Cgroup): number {
  switch (key) {
    case "percpu":
      // memory_stat_format: MEMCG_PERCPU_B in bytes (5.9+, 772616b031f0), the per-CPU areas of
      // the cgroup's children charged here at their mkdir (memcg-alloc.ts)
      return cg.percpuBytesHier;
    case "anon":
      return h[STAT_ANON_PAGES] * PAGE;
    case "file":
    case "inactive_file":
      return h[STAT_FILE_PAGES] * PAGE;
    case "kernel":
      return h[STAT_KERNEL_PAGES] * PAGE;
    case "kernel_stack":
      // memory_stat_format: NR_KERNEL_STACK_KB × 1024 (mm/memcontrol.c, 4.6+)
      return h[STAT_KERNEL_STACK_PAGES] * PAGE;
    case "pagetables":
      // memory_stat_format: NR_PAGETABLE pages × PAGE_SIZE (5.11+, f0c0c115fb81)
      return h[STAT_PAGETABLE_PAGES] * PAGE;
    case "inactive_anon":
      return sim.era.anonStartsInactive ? h[STAT_ANON_PAGES] * PAGE : 0;
    case "active_anon":
      return sim.era.anonStartsInactive ? 0 : h[STAT_ANON_PAGES] * PAGE;
    case "slab_reclaimable":
      return h[STAT_SLAB_RECLAIMABLE_BYTES];
    case "slab_unreclaimable":
      return h[STAT_SLAB_UNRECLAIMABLE_BYTES];
    case "slab":
      return h[STAT_SLAB_RECLAIMABLE_BYTES] + h[STAT_SLAB_UNRECLAIMABLE_BYTES];
    case "sock":
      // memory_stat_format: MEMCG_SOCK pages × PAGE_SIZE (4.5+, socket memory: sock-mem.ts)
      return cg.sockPagesHier * PAGE;
    case "pgfault":
      return h[STAT_PGPGIN];
    default:
      return 0;
  }
}

/**
 * v2 `memory.stat` (docs/DOMAIN.md §3.2), hierarchical, flat `key value` lines in the era's order
 * (`Era.v2StatKeys`): the 6.x `memory_stats[]` order (`kernel` third, `slab` right after
 * `slab_unreclaimable`, slab values in object bytes) for the object-charging eras; the 5.2-era
 * list for v4.5, where slab statistics are whole slab pages and there is no `kernel` key.
 */
export function v2MemoryStat(sim: Sim, cg: Cgroup): string {
  const h = cg.statHier;
  let out = "";
  for (const k of sim.era.v2StatKeys) out += `${k} ${v2StatValue(sim, k, h, cg)}\n`;
  return out;
}

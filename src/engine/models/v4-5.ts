import { CHARGE_OK, type ChargeCtx, tryChargeMemcg, uncharge } from "../charge.js";
import { type Cgroup, ROW_KMEM } from "../cgroup.js";
import { chargeAt, tryChargeAt } from "../page-counter.js";
import { GFP_ACCOUNT } from "../gfp.js";
import type { KmemCache } from "../slab/cache.js";
import type { SlabSystem } from "../slab/kmem.js";
import type { Selection } from "./model.js";
import { LazyCopyModel } from "./lazy-copy.js";
import { type Era, LRU_KEYS, V1_FILES_BASE, V2_FILES_BASE } from "./era.js";

/**
 * Model B′ — 4.5 to 5.2 (DOMAIN §11): accounting is opt-in per cache (SLAB_ACCOUNT, or the seed's
 * registration) or per call (`__GFP_ACCOUNT`) and always on for non-root cgroups; per-cgroup
 * copies are lazy and asynchronous, named `dentry(<css serial>:<cgroup>)`; slab pages charged to
 * `memory` through the modern charge path (reclaim, OOM, forced charges) and then to the v1 `kmem`
 * counter, whose limit fails with ENOMEM without reclaim. memcg-aware list_lru. On rmdir the
 * copies are deactivated (no new objects, empty slabs freed at once) and pin the cgroup until empty;
 * its list_lru is spliced into the parent's.
 */
export class V45Model extends LazyCopyModel {
  readonly name = "v4.5" as const;
  readonly modern = true;
  readonly memcgAwareShrinking = true;
  readonly reparentsLruChargesOnOffline = false;

  selectInstance(kmem: SlabSystem, cache: KmemCache, memcg: Cgroup, gfp: number): Selection {
    if (memcg.isRoot || !(cache.accounted || gfp & GFP_ACCOUNT)) return this.pick(cache.base);
    return this.lazyCopy(kmem, cache, memcg, `${cache.name}(${memcg.id}:${memcg.name})`);
  }

  protected chargePages(memcg: Cgroup, pages: number, ctx: ChargeCtx): boolean {
    if (tryChargeMemcg(this.sim, memcg, pages, ctx) !== CHARGE_OK) return false;
    if (this.sim.config.cgroupVersion === 1) {
      const failed = tryChargeAt(memcg, ROW_KMEM, pages);
      if (failed !== null) {
        uncharge(memcg, pages);
        ctx.out.failedAt = failed;
        return false;
      }
    } else chargeAt(memcg, ROW_KMEM, pages);
    return true;
  }

  override onCgroupOffline(kmem: SlabSystem, cg: Cgroup): void {
    super.onCgroupOffline(kmem, cg);
    // 4.x memcg-aware list_lru: the removed cgroup's lists are spliced into the parent's
    if (cg.parent !== null) kmem.spliceLists(cg, cg.parent, false, true);
  }
}

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
  kmemLimit: "limit",
  kmemCounter: "subset",
  kmemSlabinfo: "copies",
  oomControlOomKill: true,
  cgroupStatPerSubsys: false,
  anonStartsInactive: false,
  moveChargeRemoved: false,
  nrMemcgStock: 1,
  oomPassedRetry: false,
  peakResetPerFd: false,
  emptyWriteIsNoop: false,
  defaults: { maxReclaimRetries: 16, chargeBatchPages: 1 },
  v1Files: V1_FILES_BASE,
  v2Files: V2_FILES_BASE,
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
  // the 5.2-era memory_stat_format: slab in whole slab pages, no `kernel` key
  v2StatKeys: [
    "anon",
    "file",
    "kernel_stack",
    "slab",
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
    "workingset_refault",
    "workingset_activate",
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
  v2EventKeys: ["low", "high", "max", "oom", "oom_kill", "oom_group_kill"],
};

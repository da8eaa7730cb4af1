import { CHARGE_OK, type ChargeCtx, tryChargeMemcg, uncharge } from "../charge.js";
import { type Cgroup, ROW_KMEM } from "../cgroup.js";
import { chargeAt, tryChargeAt } from "../page-counter.js";
import { GFP_ACCOUNT } from "../gfp.js";
import { kmemAccountingActive } from "../kernel-pages.js";
import type { KmemCache } from "../slab/cache.js";
import type { SlabSystem } from "../slab/kmem.js";
import type { Selection } from "./model.js";
import { LazyCopyModel } from "./lazy-copy.js";

/**
 * Model B′ — 4.5 to 5.2 (docs/DOMAIN.md §11): accounting is opt-in per cache (SLAB_ACCOUNT, or the seed's
 * registration) or per call (`__GFP_ACCOUNT`), on cgroup v1 only once `memory.kmem.limit_in_bytes`
 * was written (on v2 always) for non-root cgroups; per-cgroup
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
    // 4.5 memcg_kmem_get_cache: only a kmem-active cgroup gets a copy (v1: after a
    // kmem.limit_in_bytes write, kmemAccountingActive)
    if (memcg.isRoot || !kmemAccountingActive(this.sim, memcg) || !(cache.accounted || gfp & GFP_ACCOUNT))
      return this.pick(cache.base);
    return this.lazyCopy(kmem, cache, memcg, `${cache.name}(${memcg.id}:${memcg.name})`);
  }

  protected chargePages(memcg: Cgroup, pages: number, ctx: ChargeCtx): boolean {
    // a kmem charge from a syscall: 4.5's deferred memcg OOM fails it with ENOMEM (models/era.ts memcgOom)
    if (tryChargeMemcg(this.sim, memcg, pages, ctx, true) !== CHARGE_OK) return false;
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

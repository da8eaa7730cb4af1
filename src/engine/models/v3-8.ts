import { CHARGE_BYPASS, CHARGE_OK, type ChargeCtx, tryChargeMemcg } from "../charge.js";
import { type Cgroup, ROW_KMEM, ROW_MEMORY } from "../cgroup.js";
import { chargeAt, tryChargeAt, unchargeAt } from "../page-counter.js";
import { GFP_NOFAIL } from "../gfp.js";
import type { KmemCache } from "../slab/cache.js";
import type { SlabSystem } from "../slab/kmem.js";
import type { Selection } from "./model.js";
import { LazyCopyModel } from "./lazy-copy.js";

/**
 * Model B — kmem accounting as merged in 3.8 (docs/DOMAIN.md §6, §11): nothing is accounted in a cgroup
 * until its `memory.kmem.limit_in_bytes` is first written with a finite value (children of an
 * active cgroup are born active); then every cache gets a per-cgroup copy, created lazily and
 * asynchronously (`dentry(<kmemcg_id>:<cgroup>)`); slab pages are charged to `kmem` first (a
 * failure there is ENOMEM without reclaim) and then to `res` through the 3.x charge path (reclaim,
 * OOM). `__GFP_NOFAIL` allocations are not accounted at all. Shrinkers are global only. A removed
 * cgroup's copies are shrunk and destroyed once they hold no page; until then they pin it.
 */
export class V38Model extends LazyCopyModel {
  readonly name = "v3.8" as const;
  readonly modern = false;
  readonly memcgAwareShrinking = false;
  readonly reparentsLruChargesOnOffline = true;

  selectInstance(kmem: SlabSystem, cache: KmemCache, memcg: Cgroup, gfp: number): Selection {
    if (memcg.isRoot || !memcg.kmemActive || gfp & GFP_NOFAIL) return this.pick(cache.base);
    return this.lazyCopy(kmem, cache, memcg, `${cache.name}(${memcg.kmemcgId}:${memcg.name})`);
  }

  protected chargePages(memcg: Cgroup, pages: number, ctx: ChargeCtx): boolean {
    // memcg_charge_kmem (docs/DOMAIN.md §4.4): kmem first, no reclaim on its failure
    const failed = tryChargeAt(memcg, ROW_KMEM, pages);
    if (failed !== null) {
      ctx.out.failedAt = failed;
      return false;
    }
    const r = tryChargeMemcg(this.sim, memcg, pages, ctx, true);
    if (r === CHARGE_BYPASS) {
      // 3.8 mm/memcontrol.c:memcg_charge_kmem: `if (ret == -EINTR)` — __mem_cgroup_try_charge
      // bypassed because the charger was OOM-killed during it; the slab cache is already chosen, so
      // `res` is charged anyway with res_counter_charge_nofail, over the limit
      chargeAt(memcg, ROW_MEMORY, pages);
      ctx.out.failedAt = null;
      return true;
    }
    if (r !== CHARGE_OK) {
      unchargeAt(memcg, ROW_KMEM, pages);
      return false;
    }
    return true;
  }
}

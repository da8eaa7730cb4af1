import { uncharge } from "../charge.js";
import { type Cgroup, ROW_KMEM } from "../cgroup.js";
import { unchargeAt } from "../page-counter.js";
import type { CacheCopy } from "../slab/cache.js";
import type { SlabSystem } from "../slab/kmem.js";
import { PageChargedModel } from "./page-charged.js";

/**
 * What 3.8 and 4.5–5.2 share (docs/DOMAIN.md §6.4): per-cgroup copies created lazily (nothing to do when a
 * cgroup or a cache appears), slab pages uncharged from `memory` and `kmem` together, and on rmdir
 * the copies deactivated and destroyed once they hold no slab, pinning the cgroup until then.
 */
export abstract class LazyCopyModel extends PageChargedModel {
  protected unchargePages(memcg: Cgroup, pages: number): void {
    uncharge(memcg, pages);
    unchargeAt(memcg, ROW_KMEM, pages);
  }

  onCgroupCreated(): void {}

  onCgroupCreatedWithCache(): void {}

  onCacheAccounted(): void {}

  onCgroupOffline(kmem: SlabSystem, cg: Cgroup): void {
    this.deactivateCopies(kmem, cg);
  }

  afterDyingFree(kmem: SlabSystem, inst: CacheCopy): void {
    if (inst.slabCount === 0) kmem.destroyCopy(inst);
  }
}

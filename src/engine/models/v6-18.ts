import { type Cgroup, ROW_KMEM } from "../cgroup.js";
import { PAGE_SIZE as PAGE } from "../page.js";
import { chargeAt } from "../page-counter.js";
import type { SlabSystem } from "../slab/kmem.js";
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
 * - cgroup v2: `memory.events` ends with `oom_group_kill` (no `sock_throttled` yet); a `memory.peak` write resets the
 *   writer's own per-fd watermark only (6.12 peak_write).
 */
export class V618Model extends V59Model {
  override readonly name: string = "v6.18";

  /** 6.4+ ("mm: vmscan: ignore non-LRU-based reclaim in memcg reclaim"): shrinker-freed slab pages count for global reclaim only. */
  override readonly creditsSlabPagesInMemcgReclaim: boolean = false;

  /** 6.x `refill_obj_stock`: switching objcg drains the old one; above a page, whole pages go back unless just charged. */
  protected override refill(
    kmem: SlabSystem,
    objcg: number,
    bytes: number,
    allowUncharge: boolean,
    cpu: number,
  ): void {
    const s = this.stocks[cpu];
    if (s.objcg !== objcg) {
      this.drain(kmem, s, cpu);
      s.objcg = objcg;
      s.bytes = kmem.objcgChargedBytes[objcg];
      kmem.objcgChargedBytes[objcg] = 0;
      allowUncharge = true;
    }
    s.bytes += bytes;
    if (allowUncharge && s.bytes > PAGE) {
      const pages = Math.floor(s.bytes / PAGE);
      s.bytes %= PAGE;
      this.unchargePages(kmem.objcgMemcg[objcg], pages, cpu);
    }
  }

  /** `n` frees as `n` calls of the 6.x `refill_obj_stock`: whole pages go back together. */
  override unchargeObjects(kmem: SlabSystem, objcg: number, bytes: number, n: number, cpu: number): void {
    if (n <= 0) return;
    const s = this.stocks[cpu];
    if (s.objcg !== objcg) {
      // the first one switches the stock (drain, take the parked bytes)
      this.refill(kmem, objcg, bytes, true, cpu);
      n--;
    }
    let b = s.bytes;
    let pages = 0;
    for (let i = 0; i < n; i++) {
      b += bytes;
      if (b > PAGE) {
        pages += Math.floor(b / PAGE);
        b %= PAGE;
      }
    }
    s.bytes = b;
    if (pages > 0) this.unchargePages(kmem.objcgMemcg[objcg], pages, cpu);
  }

  /** 6.x: the v1 `kmem` counter mirrors the memory charge, never limits it (memcg1_account_kmem). */
  protected override chargeKmemCounter(memcg: Cgroup, nrPages: number): boolean {
    chargeAt(memcg, ROW_KMEM, nrPages);
    return true;
  }

  /** `memcg_offline_kmem` (6.18): the objcgs move to the parent; the per-CPU object stocks are left as they are. */
  override onCgroupOffline(kmem: SlabSystem, cg: Cgroup): void {
    this.reparent(kmem, cg, cg.parent!);
  }
}

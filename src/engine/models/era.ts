/**
 * What one kernel era shows and decides, as data (the role of a kernel version's
 * `mm/memcontrol*.c` file tables and constants). Every model file exports one `Era`; the
 * `MODELS` table in `models/index.ts` is the only list of models, and everything outside
 * `src/engine/models/` asks the era instead of comparing model names (lint:
 * scripts/check-model-branches.mjs). Data only: no imports but types.
 */

/** How the era's counters parse and print limits (docs/DOMAIN.md §2.1, §2.2). */
export type CounterKind = "res_counter" | "page_counter";

/**
 * v1 `memory.kmem.limit_in_bytes` write, by era:
 * - `limit`: sets the kmem counter's limit, EBUSY below usage (the seed; 4.6–5.15
 *   mm/memcontrol.c:memcg_update_kmem_max → page_counter_set_max, e.g. 5.10);
 * - `activate`: 3.8–4.5 on cgroup v1 — kmem accounting is off until the first write activates it
 *   (EBUSY with tasks or, under use_hierarchy, children), then as `limit`; see `kmemActivateOnMax`.
 *   On cgroup v2 (4.5) every cgroup is active from creation;
 * - `unenforced`: stored and printed, never enforced (no era uses it now);
 * - `ignored`: 6.1+ — accepted and discarded, reads the maximum (memcg1_write: "kmem.limit_in_bytes is deprecated").
 */
export type KmemLimitRule = "limit" | "activate" | "unenforced" | "ignored";

/** v1 `memory.kmem.slabinfo`: absent (the seed), EIO until kmem is active (3.8), the copies (4.x), empty (5.9+). */
export type KmemSlabinfoRule = "absent" | "active-only" | "copies" | "empty";

/**
 * One allocation a new memory cgroup makes with `__GFP_ACCOUNT`, charged to its parent:
 * `kmalloc` — a slab object of `bytes` (the kmalloc-cg size class it lands in, `bytes_alloc`),
 * charged `obj_full_size` = bytes + 8 (the obj_cgroup pointer) and counted in `slab_unreclaimable`;
 * `percpu` — a per-CPU area of `bytes` per CPU, charged bytes × num_possible_cpus() (plus
 * `percpuObjcgPointers`) and counted in `percpu`.
 * `perNode`: once per NUMA node (one node here; it orders the frees).
 */
export interface MemcgAllocItem {
  readonly kind: "kmalloc" | "percpu";
  readonly bytes: number;
  /** What it is in the kernel (the field the allocation is stored in). */
  readonly what: string;
  readonly perNode?: boolean;
}

export interface MemcgAllocEra {
  readonly items: readonly MemcgAllocItem[];
  /** Where the sizes come from (a real host's trace, or the era's struct definitions). */
  readonly source: string;
  /**
   * A per-CPU area is also charged an objcg pointer per 4 bytes (mm/percpu-internal.h
   * pcpu_obj_full_size, 8c57c07741bf "mm: memcg/percpu: account extra objcg space to memory
   * cgroups", posted Nov 2021); before it, `size × num_possible_cpus()` (5.9 pcpu_memcg_pre_alloc_hook).
   */
  readonly percpuObjcgPointers: boolean;
}

export interface Era {
  /** The model's name as clients send it. */
  readonly name: string;
  /** One line for tables and `--help`. */
  readonly title: string;
  /** The kernel source the model follows (tag), for docs. */
  readonly kernelSource: string;
  /** 4.5+ charge path (docs/DOMAIN.md §4.1) rather than 3.x (§4.3). */
  readonly modern: boolean;
  readonly counter: CounterKind;
  /** The cgroup v2 memory controller exists (4.5+). */
  readonly cgroupV2: boolean;
  readonly defaultCgroupVersion: 1 | 2;
  /** use_hierarchy is always 1 and writing 0 is EINVAL (5.11+ mem_cgroup_hierarchy_write). */
  readonly hierarchyAlways: boolean;
  readonly kmemLimit: KmemLimitRule;
  /**
   * With `kmemLimit: "activate"`, a write of the maximum ("-1") activates too: 4.x
   * mm/memcontrol.c:memcg_update_kmem_limit calls memcg_activate_kmem for any value (4.0–4.5),
   * where 3.8 memcg_update_kmem_limit activates only when `val != RESOURCE_MAX`.
   */
  readonly kmemActivateOnMax: boolean;
  /**
   * What the v1 `kmem` counter holds: `seed` — the RFC's own counter, charged only with
   * `kmemIndependentAccounting` (the seed's knobs exist only here); `subset` — kmem pages charged
   * to both counters, so kmem ≤ memory (3.8–5.2); `mirror` — kernel pages mirrored from the
   * memory charge (5.9+ obj_cgroup charging, memcg_account_kmem).
   */
  readonly kmemCounter: "seed" | "subset" | "mirror";
  readonly kmemSlabinfo: KmemSlabinfoRule;
  /**
   * v1 `memory.oom_control` prints `oom_kill N` (4.13+: 8e675f7af507 "mm/oom_kill: count global
   * and memory cgroup oom kills" added it to mm/memcontrol.c:mem_cgroup_oom_control_read).
   */
  readonly oomControlOomKill: boolean;
  /**
   * `cgroup.stat` prints nr_subsys_<controller> / nr_dying_subsys_<controller> (6.11+:
   * ab0312526867 "cgroup: Show # of subsystem CSSes in cgroup.stat", kernel/cgroup/cgroup.c:cgroup_stat_show).
   */
  readonly cgroupStatPerSubsys: boolean;
  /**
   * `cgroup.events` prints `frozen N` after `populated N` (5.2+: 76f969e8948d "cgroup: cgroup v2
   * freezer", kernel/cgroup/cgroup.c:cgroup_events_show).
   */
  readonly cgroupEventsFrozen: boolean;
  /**
   * `/proc/slabinfo` lists root caches only, each with its per-cgroup copies' numbers added in
   * (3.8+: Glauber Costa, "[PATCH v6 26/29] Aggregate memcg cache values in slabinfo", Nov 2012:
   * mm/slab_common.c:s_show skips `!is_root_cache(s)`, memcg_accumulate_slabinfo). Before it (the
   * seed) the copies were ordinary caches on `slab_caches`, each printed on its own line.
   */
  readonly slabinfoAggregatesCopies: boolean;
  /**
   * How SLUB bounds a CPU's per-CPU partial list (CONFIG_SLUB_CPU_PARTIAL, docs/DOMAIN.md §5.3):
   * - `objects`: `s->cpu_partial` free objects (3.2+ 49e2258586b4 "slub: per cpu cache for partial
   *   pages" until 5.15; mm/slub.c:set_cpu_partial 2 / 6 / 13 / 30 by object size,
   *   put_cpu_partial drains the list when the head's `pobjects` exceed it);
   * - `slabs`: `s->cpu_partial_slabs` slabs (5.16+ b47291ef02b0 "mm, slub: change percpu partial
   *   accounting from objects to pages", with 23e98ad1ce89's 6 / 24 / 52 / 120 objects,
   *   slub_set_cpu_partial: DIV_ROUND_UP(nr_objects × 2, oo_objects(s->oo)) slabs).
   */
  readonly cpuPartial: "objects" | "slabs";
  /**
   * When an emptied slab is discarded rather than kept on the node's partial list (mm/slub.c
   * `__slab_free`, `unfreeze_partials`, `deactivate_slab`): `above` — only when the node already
   * holds more than `min_partial` (`n->nr_partial > s->min_partial`, so a `min_partial` of 0 still
   * keeps one slab); `atLeast` — when it holds `min_partial` or more (`>=`, Joonsoo Kim, "slub: fix
   * off by one in number of slab tests", posted to linux-mm 2014-06-24, merged for 3.17, written
   * for the kmemcg destroy path, which sets `min_partial` 0).
   */
  readonly emptySlabDiscard: "above" | "atLeast";
  /** New anon pages start on the inactive list (5.9+ lru_cache_add_inactive_or_unevictable). */
  readonly anonStartsInactive: boolean;
  /**
   * `move_charge_at_immigrate` accepts only 0 (6.x after charge moving was deprecated; writes of
   * a non-zero value are EINVAL from 6.8, memcg1: mem_cgroup_move_charge_write).
   */
  readonly moveChargeRemoved: boolean;
  /**
   * After the OOM killer made progress, the charge retries with fresh reclaim retries and fails
   * if the charging task is dying (5.16+ try_charge_memcg `passed_oom`); before, the charge of a
   * task the killer chose failed at once (the simulator's older eras).
   */
  readonly oomPassedRetry: boolean;
  /** A cache's objects are accounted only once the cache is registered (the seed's register_memcg_cache). */
  readonly cachesNeedRegistration: boolean;
  /**
   * Whole-page kernel allocations the era charges (kernel-pages.ts): `none` — only slab pages (the
   * seed); `kmemcg` — `__GFP_KMEMCG` kernel stacks and large kmalloc once kmem is active (3.8);
   * `account` — kernel stacks and every `__GFP_ACCOUNT` page (4.5+).
   */
  readonly kernelPages: "none" | "kmemcg" | "account";
  /**
   * x86_64 `THREAD_SIZE_ORDER` (arch/x86/include/asm/page_64_types.h): a kernel stack is
   * `4096 << order` bytes — 1 (8 KiB) before 3.15, 2 (16 KiB) from 3.15 (6538b8ea886e "x86_64:
   * expand kernel stack to 16K"). A fork charges it where `kernelPages` accounts stacks.
   */
  readonly threadSizeOrder: number;
  /**
   * A task's user page tables (x86_64 pgd, pud, pmd and pte pages of its mm) are allocated with
   * `__GFP_ACCOUNT` and charged to the faulting task's memcg: 4.8+ (3e79ec7ddcb2 "arch: x86:
   * charge page tables to kmemcg": arch/x86/mm/pgtable.c PGALLOC_GFP = GFP_KERNEL_ACCOUNT | …,
   * the flag cleared for init_mm; GFP_PGTABLE_USER in today's pte_alloc_one, preallocate_pmds,
   * __pgd_alloc). Before 4.8 they are allocated (physical memory) and charged to no one — 3.8's
   * `__GFP_KMEMCG` had only stacks and kmalloc_order, 4.5's PGALLOC_GFP had no `__GFP_ACCOUNT`.
   */
  readonly pageTablesAccounted: boolean;
  /**
   * What creating a memory cgroup allocates with `__GFP_ACCOUNT` and charges to its parent
   * (mm/memcontrol.c:mem_cgroup_css_alloc → mem_cgroup_alloc under `set_active_memcg(parent)`):
   * its statistics structures, in allocation order (memcg-alloc.ts). null: the era charges none of
   * a new cgroup's own memory (before 5.9, 3c7be18ac9a0 "mm: memcg/percpu: account percpu memory
   * to memory cgroups" and the series' "charge memcg percpu memory to the parent cgroup").
   */
  readonly memcgAlloc: MemcgAllocEra | null;
  /**
   * x86_64 `PGD_ALLOCATION_ORDER` (arch/x86/include/asm/pgalloc.h): the pgd a fork allocates
   * (kernel/fork.c:mm_init → mm_alloc_pgd → pgd_alloc) is `4096 << order` bytes — 0 before page
   * table isolation; 1 (a kernel and a user pgd, 8 KiB) with CONFIG_PAGE_TABLE_ISOLATION from 4.15
   * (d9e9a6418065 "x86/mm/pti: Allocate a separate user PGD"), and in 6.x when PTI is active
   * (pgd_allocation_order(); the recorded 6.18 host: one order-1 GFP_KERNEL_ACCOUNT|__GFP_ZERO
   * page per fork in fork-100).
   */
  readonly pgdOrder: number;
  /**
   * Page-table levels a task's OOM badness counts besides its rss (mm/oom_kill.c:oom_badness):
   * 1 — `nr_ptes` (2.6.36 to 3.19); 2 — plus `mm_nr_pmds` (4.0, dc6c9a35b66b "mm: account pmd page
   * tables to the process"); 3 — plus the pud pages (4.15, b4e98d9ac775 "mm: account pud page
   * tables", then af5b0f6a09e4 "mm: consolidate page table accounting": mm_pgtables_bytes / PAGE_SIZE,
   * as in 6.18). The pgd is never counted.
   */
  readonly oomBadnessTableLevels: 1 | 2 | 3;
  /** Memcgs one CPU's page charge stock caches: 1 up to 6.15, NR_MEMCG_STOCK = 7 from 6.16. */
  readonly nrMemcgStock: number;
  /**
   * The charge batch, `MEMCG_CHARGE_BATCH` (3.x `CHARGE_BATCH`): 32 up to 6.0, 64 from 6.1
   * (1813e51eece0 "memcg: increase MEMCG_CHARGE_BATCH to 64"). It is the default
   * `chargeBatchPages`, the `high_work` reclaim size (high_work_func: reclaim_high(memcg,
   * MEMCG_CHARGE_BATCH)), the mid-charge memory.high threshold (6.x) and the divisor of the
   * memory.high penalty (calculate_high_delay).
   */
  readonly memcgChargeBatch: number;
  /**
   * The single-slot page stock (`memcg_stock_pcp`, up to 6.15):
   * - `single-page`: 3.x — `if (nr_pages == 1 && consume_stock(memcg))`, and refill_stock only adds;
   * - `batch`: 4.x+ — consume_stock serves up to MEMCG_CHARGE_BATCH pages, and refill_stock drains
   *   a stock that grew above MEMCG_CHARGE_BATCH (kmem uncharges refill it from 5.9).
   */
  readonly pageStockRule: "single-page" | "batch";
  /**
   * Where the memcg OOM killer runs when a kmem charge from a syscall fails after its retries:
   * - `sync`: in the charge (3.8 `mem_cgroup_handle_oom`; again from 4.19, 29ef680ae7c2 "memcg,
   *   oom: move out_of_memory back to the charge path");
   * - `deferred`: 3.12–4.18 (3812c8c8f395 "mm: memcg: do not trap chargers with full callstack on
   *   OOM"): `mem_cgroup_oom` only records it when `current->memcg_may_oom` (page faults), so the
   *   kmem charge fails with ENOMEM; MEMCG_OOM is still counted (v2 `oom`).
   */
  readonly memcgOom: "sync" | "deferred";
  /** The OOM killer found no victim (OOM_FAILED): the charge is forced (4.19–5.15), else ENOMEM. */
  readonly oomFailedForces: boolean;
  /**
   * The kmem charge of a task the OOM killer chose during that very charge:
   * - `bypass`: 3.x — CHARGE_OOM_DIE bypasses with -EINTR and memcg_charge_kmem then charges `res`
   *   with res_counter_charge_nofail (over the limit);
   * - `force`: 4.x–5.15 — the retry sees a dying task and goes to `force` (should_force_charge);
   * - `fail`: 5.16+ — `if (passed_oom && task_is_dying()) goto nomem` (a4ebf1b6ca1e).
   */
  readonly oomVictimCharge: "bypass" | "force" | "fail";
  /**
   * A `__GFP_NOFAIL` charge that exhausted its retries is forced before the OOM killer runs
   * (4.x–5.17 try_charge: `if (gfp_mask & __GFP_NOFAIL) goto force;`); 6.x runs the OOM killer
   * first and forces at `nomem` (1461e8c2b6af "memcg: unify force charging conditions").
   */
  readonly nofailForcesBeforeOom: boolean;
  /**
   * memory.high (cgroup v2):
   * - `reclaim`: 4.x — try_charge notes the overage, mem_cgroup_handle_over_high reclaims it on
   *   the return to user (reclaim_high), no sleep;
   * - `throttle`: 5.4–5.17 — the same plus the penalty sleep (calculate_high_delay; 0e4b01df8659
   *   "mm, memcg: throttle allocators when failing reclaim over memory.high"), still only on the
   *   return to user;
   * - `sync`: 5.18+ — also handled inside the charge once the overage passes MEMCG_CHARGE_BATCH
   *   (c9afe31ec443 "memcg: synchronously enforce memory.high for large overcharges").
   */
  readonly memoryHigh: "reclaim" | "throttle" | "sync";
  /**
   * A GFP_ATOMIC / __GFP_HIGH charge over the limit:
   * - `nomem`: 3.x, 4.x — `if (!gfpflags_allow_blocking(gfp_mask)) goto nomem` (ENOMEM);
   * - `force-silent`: 5.x up to 5.17 — `if (gfp_mask & __GFP_ATOMIC) goto force` before any
   *   reclaim, no MEMCG_MAX event;
   * - `force`: 5.18+ — `nomem` forces `__GFP_NOFAIL | __GFP_HIGH`, raising MEMCG_MAX at `force`
   *   (1461e8c2b6af).
   */
  readonly atomicCharge: "nomem" | "force-silent" | "force";
  /**
   * A `memory.peak` write resets only the writing file descriptor's own watermark (6.12+:
   * c6f53ed8f213 "mm, memcg: cg2 memory{.swap,}.peak write handlers", mm/memcontrol.c:peak_write
   * `ofp->value = usage`), which dies with the descriptor — so through this facade, where every
   * request opens the file anew, a write changes nothing any reader sees. No era resets the
   * global watermark: before 6.12 (5.19–6.11) `memory.peak` has no write handler (EINVAL), and
   * before 5.19 (8e20d4b33266 "mm/memcontrol: export memcg->watermark via sysfs for v2 memcg")
   * there is no `memory.peak` (the era's `v2Files` leave it out).
   */
  readonly peakResetPerFd: boolean;
  /**
   * A zero-length write is accepted and changes nothing (calibrated: the recorded 6.18 host
   * answered so for `memory.limit_in_bytes`, v1-files.json). Older eras keep each handler's answer.
   */
  readonly emptyWriteIsNoop: boolean;
  /**
   * Which cgroups' sockets the v1 `tcpmem` counter (`memory.kmem.tcp.*`) charges, decided when a
   * socket is created (its memcg is bound then and kept, as `sk->sk_cgrp` / `sk->sk_memcg`):
   * - `any-limit`: 3.3/3.4 — every non-root cgroup's, once some cgroup's tcp limit is below the
   *   maximum (one global static key: net/ipv4/tcp_memcontrol.c:tcp_update_limit
   *   `static_key_slow_inc(&memcg_socket_limit_enabled)` when the old limit was RESOURCE_MAX;
   *   mm/memcontrol.c:sock_update_memcg binds any `!mem_cgroup_is_root(memcg)`);
   * - `own-limit`: 3.5–4.4 — the cgroup's own limit is below the maximum (MEMCG_SOCK_ACTIVE, set by
   *   tcp_update_limit for a value below RESOURCE_MAX, cleared by writing it; sock_update_memcg
   *   binds only `memcg_proto_active(cg_proto)`; Glauber Costa, "net: fix race in the memcg
   *   static key", 2012);
   * - `own-write`: 4.5+ — any write of the cgroup's tcp limit, never undone
   *   (memcg_update_tcp_limit, 6.x memcontrol-v1.c:memcg1_update_tcp_max: `tcpmem_active = true`;
   *   mem_cgroup_sk_alloc binds `memcg1_tcpmem_active(memcg)` on v1, every non-root cgroup on v2).
   */
  readonly tcpActivation: "any-limit" | "own-limit" | "own-write";
  /**
   * What a socket-memory charge does over a limit (docs/MODELS.md row 23):
   * - `nofail`: 3.3–3.18 include/net/sock.h:memcg_memory_allocated_add —
   *   res_counter_charge_nofail on the tcp counter (every level charged, failcnt at each level over
   *   its limit), OVER_LIMIT → the socket enters memory pressure; the root's counter is not in the
   *   chain (tcp_proto_cgroup(root) is NULL) and its files show the global tcp_memory_allocated;
   * - `force`: 4.5–5.14 mm/memcontrol.c:mem_cgroup_charge_skmem — v1: page_counter_try_charge on
   *   tcpmem, else page_counter_charge anyway, `tcpmem_pressure = 1`, return false; v2: MEMCG_SOCK
   *   counted first, try_charge, else try_charge with __GFP_NOFAIL (forced) and return false;
   * - `fail`: 5.15+ (4b1327be9fe5 "net-memcg: pass in gfp_t mask to mem_cgroup_charge_skmem"; 6.x
   *   memcontrol-v1.c:memcg1_charge_skmem, memcontrol.c:mem_cgroup_sk_charge) — over the limit
   *   nothing is charged and false returned, unless the caller passed __GFP_NOFAIL (v1: tcpmem
   *   forced, true; v2: try_charge_memcg forces it); MEMCG_SOCK counted only for a charge made.
   * In every era a false return is "the socket is under pressure": __sk_mem_raise_allocated then
   * suppresses the allocation and gives back what was charged (mem_cgroup_uncharge_skmem).
   */
  readonly sockCharge: "nofail" | "force" | "fail";
  /**
   * v2 socket uncharge: `counter` — page_counter_uncharge on `memory` (4.5 mem_cgroup_uncharge_skmem);
   * `stock` — refill_stock, the pages go to the CPU's page stock (4.13+, 475d0487a2ad "mm:
   * memcontrol: use per-cpu stocks for socket memory uncharging"; 5.9, 6.18).
   */
  readonly sockUncharge: "counter" | "stock";
  /**
   * The gfp of a socket charge from the packet receive path (softirq): GFP_NOWAIT (4.5–6.0:
   * mem_cgroup_charge_skmem `if (in_softirq()) gfp_mask = GFP_NOWAIT`, 5.15 gfp_memcg_charge) or
   * GFP_ATOMIC (6.1+, 720ca52bcef2 "net-memcg: avoid stalls when under memory pressure":
   * include/net/sock.h:gfp_memcg_charge `in_softirq() ? GFP_ATOMIC : GFP_KERNEL`). Process context
   * is GFP_KERNEL in every era.
   */
  readonly sockSoftirqGfp: "GFP_NOWAIT" | "GFP_ATOMIC";
  /** Defaults of the instance config fields the era decides. */
  readonly defaults: {
    readonly maxReclaimRetries: number;
    readonly chargeBatchPages: number;
  };
  /** v1 files of a non-root cgroup, in the kernel's table order (mem_cgroup_legacy_files[] + cgroup core). */
  readonly v1Files: readonly string[];
  /** v2 files of a non-root cgroup (memory_files[] + cgroup core). */
  readonly v2Files: readonly string[];
  /** v1 `memory.stat` local keys in the kernel's order (memcg1_stat_format). */
  readonly v1StatKeys: readonly string[];
  /** After the local keys: `hierarchical_memory_limit` and (swap accounting on) `hierarchical_memsw_limit`. */
  readonly v1StatMemswLimit: boolean;
  /** v2 `memory.stat` keys in the kernel's order (memory_stat_format). */
  readonly v2StatKeys: readonly string[];
  /** v2 `memory.events` keys in the kernel's order. */
  readonly v2EventKeys: readonly string[];
}

/** The LRU lists, in the order every era prints them. */
export const LRU_KEYS = [
  "inactive_anon",
  "active_anon",
  "inactive_file",
  "active_file",
  "unevictable",
] as const;

/**
 * The cgroup v2 files of 6.x as the simulator serves them (memory_files[] and cgroup core, the
 * ones simulated). Older eras list their own (`v2Files`), each file dated:
 * - `memory.min` 4.18 (bf8d5d52ffe8 "memcg: introduce memory.min");
 * - `memory.oom.group` 4.19 (3d8b38eb81ca "mm, oom: introduce memory.oom.group");
 * - `memory.events.local` 5.2 (1e577f970f66 "mm, memcg: introduce memory.events.local");
 * - `memory.peak` 5.19 (8e20d4b33266), `memory.reclaim` 5.19 (94968384dde1 "memcg: introduce
 *   per-memcg reclaim interface") — neither is in 5.10's mm/memcontrol.c:memory_files[];
 * - `cgroup.stat` 4.14 (ec39225cca42 "cgroup: add cgroup.stat interface with basic hierarchy stats").
 */
export const V2_FILES_BASE = [
  "memory.current",
  "memory.max",
  "memory.high",
  "memory.low",
  "memory.min",
  "memory.peak",
  "memory.events",
  "memory.events.local",
  "memory.stat",
  "memory.reclaim",
  "memory.oom.group",
  "cgroup.procs",
  "cgroup.stat",
  "cgroup.events",
] as const;

/** v1 files of the seed through 5.x as the simulator serves them. */
export const V1_FILES_BASE = [
  "memory.usage_in_bytes",
  "memory.max_usage_in_bytes",
  "memory.limit_in_bytes",
  "memory.soft_limit_in_bytes",
  "memory.failcnt",
  "memory.stat",
  "memory.use_hierarchy",
  "memory.force_empty",
  "memory.move_charge_at_immigrate",
  "memory.oom_control",
  "memory.kmem.usage_in_bytes",
  "memory.kmem.max_usage_in_bytes",
  "memory.kmem.limit_in_bytes",
  "memory.kmem.failcnt",
  "memory.kmem.slabinfo",
  // the tcp files: 3.3+ net/ipv4/tcp_memcontrol.c:tcp_files[] (kmem.tcp.limit_in_bytes,
  // usage_in_bytes, failcnt, max_usage_in_bytes), 4.5+ in mm/memcontrol.c:mem_cgroup_legacy_files[]
  "memory.kmem.tcp.limit_in_bytes",
  "memory.kmem.tcp.usage_in_bytes",
  "memory.kmem.tcp.failcnt",
  "memory.kmem.tcp.max_usage_in_bytes",
  "cgroup.procs",
  "tasks",
] as const;

/** The v2 `memory.stat` keys of 6.18 (`memory_stats[]`, memcg_stat_format, `memcg_vm_event_stat[]`). */
export const V2_STAT_KEYS_6X = [
  "anon",
  "file",
  "kernel",
  "kernel_stack",
  "pagetables",
  "sec_pagetables",
  "percpu",
  "sock",
  "vmalloc",
  "shmem",
  "zswap",
  "zswapped",
  "file_mapped",
  "file_dirty",
  "file_writeback",
  "swapcached",
  "anon_thp",
  "file_thp",
  "shmem_thp",
  ...LRU_KEYS,
  "slab_reclaimable",
  "slab_unreclaimable",
  "slab",
  "workingset_refault_anon",
  "workingset_refault_file",
  "workingset_activate_anon",
  "workingset_activate_file",
  "workingset_restore_anon",
  "workingset_restore_file",
  "workingset_nodereclaim",
  "pgdemote_kswapd",
  "pgdemote_direct",
  "pgdemote_khugepaged",
  "pgdemote_proactive",
  "pgscan",
  "pgsteal",
  "pswpin",
  "pswpout",
  "pgscan_kswapd",
  "pgscan_direct",
  "pgscan_khugepaged",
  "pgscan_proactive",
  "pgsteal_kswapd",
  "pgsteal_direct",
  "pgsteal_khugepaged",
  "pgsteal_proactive",
  "pgfault",
  "pgmajfault",
  "pgrefill",
  "pgactivate",
  "pgdeactivate",
  "pglazyfree",
  "pglazyfreed",
  "swpin_zero",
  "swpout_zero",
  "zswpin",
  "zswpout",
  "zswpwb",
  "thp_fault_alloc",
  "thp_collapse_alloc",
  "thp_swpout",
  "thp_swpout_fallback",
] as const;

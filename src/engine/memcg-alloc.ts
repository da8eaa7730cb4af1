import { type Cgroup, modPercpu, modStat, STAT_SLAB_UNRECLAIMABLE_BYTES } from "./cgroup.js";
import { type ChargeCtx, newOutcome, runPendingHighWork } from "./charge.js";
import { fail } from "./errors.js";
import { parseGfp } from "./gfp.js";
import type { MemcgAllocItem } from "./models/era.js";
import type { Sim } from "./sim.js";
import { RCU_GRACE_PERIOD_MS } from "./slab/rcu.js";

// What a new memory cgroup costs its parent (docs/MODELS.md, audit row 22): mkdir allocates the
// cgroup's statistics structures with GFP_KERNEL_ACCOUNT while the parent is the active memcg
// (mm/memcontrol.c:mem_cgroup_css_alloc → set_active_memcg(parent); mem_cgroup_alloc;
// set_active_memcg(old), 5.9+: "mm: memcg: charge memcg percpu memory to the parent cgroup"), so
// they are charged to the parent's objcg, byte by byte through the obj stock like any slab object
// (obj_cgroup_charge), and given back when the cgroup is freed (mem_cgroup_free, after its last
// reference: the release here). `Era.memcgAlloc` lists them; eras before 5.9 have none.

/** `sizeof(struct obj_cgroup *)`: the per-object (slab) or per-4-bytes (percpu) objcg pointer. */
const OBJCG_PTR_BYTES = 8;
/** mm/percpu-internal.h `PCPU_MIN_ALLOC_SIZE`: the percpu allocator's unit. */
const PCPU_MIN_ALLOC_SIZE = 4;

/**
 * Bytes one allocation charges: a slab object's `obj_full_size` (mm/slab.h: `s->size + sizeof(struct
 * obj_cgroup *)`), a per-CPU area's `size × num_possible_cpus()` (5.9 pcpu_memcg_pre_alloc_hook;
 * the simulated CPUs are the possible ones), plus an objcg pointer per PCPU_MIN_ALLOC_SIZE unit
 * where the era has pcpu_obj_full_size (mm/percpu-internal.h, `MemcgAllocEra.percpuObjcgPointers`).
 */
export function memcgAllocChargeBytes(item: MemcgAllocItem, cpus: number, objcgPointers: boolean): number {
  if (item.kind === "kmalloc") return item.bytes + OBJCG_PTR_BYTES;
  return item.bytes * cpus + (objcgPointers ? (item.bytes / PCPU_MIN_ALLOC_SIZE) * OBJCG_PTR_BYTES : 0);
}

/** The era's allocations of one new cgroup, in the kernel's order (one NUMA node), with the bytes each charges. */
function charges(sim: Sim): { item: MemcgAllocItem; bytes: number }[] {
  const era = sim.era.memcgAlloc;
  if (era === null) return [];
  return era.items.map((item) => ({
    item,
    bytes: memcgAllocChargeBytes(item, sim.config.cpuCount, era.percpuObjcgPointers),
  }));
}

/**
 * What one cgroup's creation holds charged, by statistic: the same for every cgroup of an
 * instance (the era's structures, the instance's CPUs), so the cgroups keep only which objcg pays.
 */
export function memcgAllocBytes(sim: Sim): { slab: number; percpu: number } {
  let slab = 0;
  let percpu = 0;
  for (const { item, bytes } of charges(sim))
    if (item.kind === "kmalloc") slab += bytes;
    else percpu += bytes;
  return { slab, percpu };
}

/**
 * Charges a cgroup about to be created under `parent` for its statistics structures, on CPU 0
 * (the mkdir runs outside the simulated tasks), and returns the objcg charged (-1: none). Nothing
 * is charged under the root (the root memcg has no objcg: `current_obj_cgroup` is NULL there) or
 * by eras without `memcgAlloc`. A charge that fails gives back what was charged and fails the
 * mkdir with ENOMEM, as mem_cgroup_css_alloc returns -ENOMEM and creates nothing.
 */
export function chargeMemcgAlloc(sim: Sim, parent: Cgroup, path: string): number {
  const list = charges(sim);
  if (list.length === 0 || parent.isRoot || parent.objcgId < 0) return -1;
  const objcg = parent.objcgId;
  const out = newOutcome();
  const ctx: ChargeCtx = { task: null, cpu: 0, gfp: parseGfp("GFP_KERNEL_ACCOUNT"), out };
  for (let i = 0; i < list.length; i++)
    if (!sim.model.chargeObject(sim.slab, objcg, list[i].bytes, ctx)) {
      for (let j = i - 1; j >= 0; j--) sim.model.unchargeObject(sim.slab, objcg, list[j].bytes, 0);
      runPendingHighWork(sim, out);
      fail("ENOMEM", `cannot charge the statistics of the new cgroup ${path} to ${parent.path}`, {
        path,
        failedAt: out.failedAt?.path ?? parent.path,
      });
    }
  runPendingHighWork(sim, out);
  // mod_objcg_state(NR_SLAB_UNRECLAIMABLE_B, obj_full_size) for the kmalloc objects;
  // pcpu_memcg_post_alloc_hook → mod_memcg_state(MEMCG_PERCPU_B, size) for the areas
  const { slab, percpu } = memcgAllocBytes(sim);
  modStat(parent, STAT_SLAB_UNRECLAIMABLE_BYTES, slab);
  modPercpu(parent, percpu);
  return objcg;
}

/**
 * mem_cgroup_free of a released cgroup: its areas and objects are freed in the kernel's order
 * (free_mem_cgroup_per_node_info first, then memcg1_free_events, vmstats_percpu, vmstats), each an
 * obj_cgroup_uncharge of the objcg charged at mkdir — the parent's, or whichever cgroup it was
 * reparented to since — on CPU 0; the statistics leave that cgroup.
 */
export function unchargeMemcgAlloc(sim: Sim, cg: Cgroup): void {
  const objcg = cg.memcgAllocObjcg;
  if (objcg < 0) return;
  cg.memcgAllocObjcg = -1;
  const owner = sim.slab.objcgMemcg[objcg];
  const list = charges(sim);
  const order = [
    ...list.filter((c) => c.item.perNode === true),
    ...list.filter((c) => c.item.perNode !== true).reverse(),
  ];
  for (const { bytes } of order) sim.model.unchargeObject(sim.slab, objcg, bytes, 0);
  // the statistics leave whichever cgroup holds them, the root too (kept there at reparenting)
  const { slab, percpu } = memcgAllocBytes(sim);
  modStat(owner, STAT_SLAB_UNRECLAIMABLE_BYTES, -slab);
  modPercpu(owner, -percpu);
}

/**
 * A released cgroup is freed (mem_cgroup_css_free → mem_cgroup_free) from css_free_rwork_fn, which
 * css_release queues with queue_rcu_work (kernel/cgroup/cgroup.c): one RCU grace period later on
 * the simulated clock (RCU_GRACE_PERIOD_MS, as SLAB_TYPESAFE_BY_RCU slabs wait). Until then its
 * structures stay charged — the recorded 6.18 host read its parent's kmem unchanged right after the
 * rmdir of a cgroup nothing pinned (rmdir-reparent `after_rmdir`).
 */
export function queueMemcgFree(sim: Sim, cg: Cgroup): void {
  if (cg.memcgAllocObjcg < 0) return;
  sim.memcgFreePending.push({ dueMs: sim.clockMs + RCU_GRACE_PERIOD_MS, cg });
}

/** The cgroup frees whose grace period ended by now (the simulated clock moved), oldest first. */
export function completeMemcgFrees(sim: Sim): void {
  const q = sim.memcgFreePending;
  let i = 0;
  for (; i < q.length && q[i].dueMs <= sim.clockMs; i++) unchargeMemcgAlloc(sim, q[i].cg);
  if (i > 0) q.splice(0, i);
}

/** Σ bytes the cgroups' creations hold charged to non-root cgroups (for the invariants). */
export function memcgAllocHeld(sim: Sim, all: Iterable<Cgroup>): { slab: number; percpu: number } {
  let n = 0;
  for (const cg of [...all, ...sim.memcgFreePending.map((p) => p.cg)])
    if (cg.memcgAllocObjcg >= 0 && !sim.slab.objcgMemcg[cg.memcgAllocObjcg].isRoot) n++;
  const each = memcgAllocBytes(sim);
  return { slab: n * each.slab, percpu: n * each.percpu };
}

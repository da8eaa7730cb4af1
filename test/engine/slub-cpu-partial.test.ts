import { describe, expect, it } from "vitest";
import { slabinfoLine } from "../../src/engine/cgroupfs/slabinfo.js";
import { MODEL_NAMES, type ModelName } from "../../src/engine/config.js";
import { dumpState } from "../../src/engine/dump.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { Prng } from "../../src/engine/prng.js";
import { cpuPartialLimit } from "../../src/engine/slab/geometry.js";
import { PAGE, Sim } from "./helpers.js";

// Audit row 36, SLUB per-CPU partial lists (docs/DOMAIN.md §5.3, src/engine/slab/cpu-partial.ts):
// mm/slub.c __slab_free parks a full slab that a free opens on the freeing CPU's partial list
// (put_cpu_partial); ___slab_alloc takes that list's head before the node partial list, and
// get_partial_node moves more node slabs onto it; when the list is at its bound a free unfreezes
// it to the node (unfreeze_partials / __put_partials), discarding the empty slabs once the node
// keeps min_partial (5 for 192 B) partial slabs. The bound: s->cpu_partial = 30 objects for 192 B
// up to 5.15 (rfc-2012 … v5.9), s->cpu_partial_slabs = ⌈2 × 120 / 21⌉ = 12 slabs from 5.16 (v6.18).
//
// A cache of 192-byte objects, 21 a slab (order 0 with 2 CPUs), in the root cgroup (the base
// cache in every model).

const PER_SLAB = 21;
const objectsEra = (m: ModelName) => m !== "v6.18";
/** The put at which the list drains: ≤ 5.15 when the old head's pobjects (one free object per slab here) exceed 30; 5.16+ when it holds 12 slabs. */
const drainAt = (m: ModelName) => (objectsEra(m) ? 32 : 13);

function rootDentry(model: ModelName, slabs: number) {
  const s = new Sim({ model, cpuCount: 2 });
  s.dentry();
  const pid = s.spawn("/", { cpu: 0 });
  const ids: number[] = slabs > 0 ? s.alloc("dentry", { pid }, slabs * PER_SLAB).objectIds : [];
  const cache = s.sim.slab.caches.get("dentry")!;
  const inst = cache.base;
  const line = () => slabinfoLine("dentry", [inst]);
  const free = (objectIds: number[], cpu = 0) =>
    s.ex({ op: "freeObjects", objectIds, cpu }).freedSlabCount as number;
  return { s, pid, ids, cache, inst, line, free };
}

const slabinfo = (active: number, num: number, slabs: number) =>
  `dentry            ${String(active).padStart(6)} ${String(num).padStart(6)}    192   21    1 : tunables    0    0    0 : slabdata ${String(slabs).padStart(6)} ${String(slabs).padStart(6)}      0\n`;

describe("the per-CPU partial bound (set_cpu_partial, slub_set_cpu_partial)", () => {
  it("objects up to 5.15: 2 / 6 / 13 / 30 by slot size", () => {
    expect([4096, 1024, 256, 192, 64].map((size) => cpuPartialLimit(size, 8, "objects"))).toEqual([
      2, 6, 13, 30, 30,
    ]);
  });

  it("slabs from 5.16: ⌈2 × (6 / 24 / 52 / 120) / objects per slab⌉", () => {
    expect(cpuPartialLimit(192, 21, "slabs")).toBe(12); // ⌈240 / 21⌉
    expect(cpuPartialLimit(256, 16, "slabs")).toBe(7); // ⌈104 / 16⌉
    expect(cpuPartialLimit(1024, 8, "slabs")).toBe(6); // ⌈48 / 8⌉
    expect(cpuPartialLimit(4096, 8, "slabs")).toBe(2); // ⌈12 / 8⌉
    expect(cpuPartialLimit(64, 64, "slabs")).toBe(4); // ⌈240 / 64⌉
  });

  it.each(MODEL_NAMES)("%s: a 192-byte cache's copies get the era's bound", (model) => {
    const { inst } = rootDentry(model, 0);
    expect(inst.root.geometry.objectsPerSlab).toBe(21);
    expect(inst.cpuPartialLimit).toBe(objectsEra(model) ? 30 : 12);
  });
});

describe.each(MODEL_NAMES)("%s: frees into full slabs", (model) => {
  it("park the slabs on the freeing CPU's partial list: num_slabs and active_objs stay, until the list drains to the node", () => {
    const { s, ids, inst, line, free } = rootDentry(model, 40); // slabs 0..38 full, 39 the CPU slab
    expect(line()).toBe(slabinfo(840, 840, 40));
    const at = drainAt(model);
    // one object from each of the first `at - 1` full slabs: all parked on CPU 0's list
    for (let k = 0; k < at - 1; k++) expect(free([ids[PER_SLAB * k]])).toBe(0);
    expect(inst.nrCpuPartial).toBe(at - 1);
    expect(s.sim.slab.cpuPartialLength(inst.cpuPartialHead[0])).toBe(at - 1);
    expect(inst.cpuPartialHead[1]).toBe(-1);
    expect(inst.nrPartial).toBe(0);
    // SLUB's slabinfo subtracts only the node partial list's free objects: parked ones count active
    expect(line()).toBe(slabinfo(840, 840, 40));
    // the debug view (dumpState) shows the list per CPU
    expect(dumpState(s.sim).caches.find((c) => c.name === "dentry")!.instances[0].cpuPartial).toEqual([
      at - 1,
      0,
    ]);
    // the next one drains them to the node partial list (none empty: all kept) and starts a new list
    expect(free([ids[PER_SLAB * (at - 1)]])).toBe(0);
    expect(inst.nrPartial).toBe(at - 1);
    expect(inst.partialFreeObjects).toBe(at - 1);
    expect(inst.nrCpuPartial).toBe(1);
    expect(line()).toBe(slabinfo(840 - (at - 1), 840, 40));
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("keep emptied slabs parked; the drain discards the empty ones beyond min_partial (5)", () => {
    const { s, ids, inst, free } = rootDentry(model, 40);
    let discarded = 0;
    // every object of slabs 0..38, slab by slab, on CPU 0
    for (let k = 0; k < 39; k++) discarded += free(ids.slice(PER_SLAB * k, PER_SLAB * (k + 1)));
    if (objectsEra(model)) {
      // the 32nd park drains 31 empty slabs: 5 stay on the node, 26 go (6 and 25 before 3.17,
      // whose test was nr_partial > min_partial); slabs 31..38 stay parked
      const keep = model === "rfc-2012" || model === "v3.8" ? 6 : 5;
      expect({ discarded, node: inst.nrPartial, parked: inst.nrCpuPartial, slabs: inst.slabCount }).toEqual({
        discarded: 31 - keep,
        node: keep,
        parked: 8,
        slabs: 8 + keep + 1,
      });
    } else {
      // drains at the 13th, 25th and 37th park: 12 empty slabs each; the first keeps 5 (7 go),
      // the next two find 5 on the node (12 go each); slabs 36..38 stay parked
      expect({ discarded, node: inst.nrPartial, parked: inst.nrCpuPartial, slabs: inst.slabCount }).toEqual({
        discarded: 31,
        node: 5,
        parked: 3,
        slabs: 9,
      });
    }
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("allocate from the CPU's parked slabs first (the newest), then from the node with a refill of the CPU's list", () => {
    const { s, pid, ids, inst, free } = rootDentry(model, 40);
    free([ids[0]]);
    free([ids[PER_SLAB]]); // CPU 0's list: slab of ids[21], then slab of ids[0]
    // the CPU slab is full: the next object is the freed slot of the newest parked slab
    const a = s.alloc("dentry", { pid }, 1).objectIds[0];
    const slotOf = (id: number) => s.sim.slab.liveSlot(id);
    expect(slotOf(a)).toBe(ids[PER_SLAB] % 2 ** 31);
    const b = s.alloc("dentry", { pid }, 1).objectIds[0];
    expect(slotOf(b)).toBe(ids[0] % 2 ** 31);
    expect(inst.slabCount).toBe(40);
    expect(inst.nrCpuPartial).toBe(0);

    // a list drained to the node: the node's slabs are taken with a refill of the CPU list
    const { s: s2, pid: pid2, ids: ids2, inst: i2, free: free2 } = rootDentry(model, 40);
    const at = drainAt(model);
    for (let k = 0; k < at; k++) free2([ids2[PER_SLAB * k]]);
    expect([i2.nrPartial, i2.nrCpuPartial]).toEqual([at - 1, 1]);
    s2.alloc("dentry", { pid: pid2 }, 2); // the parked slab's one free object, then the node
    // get_partial_node: ≤ 5.15 until the free objects taken exceed cpu_partial / 2 = 15 (1 each:
    // the CPU slab and 15 parked), 6.8+ until more than cpu_partial_slabs / 2 = 6 were parked (7)
    const moved = objectsEra(model) ? 15 : 7;
    expect([i2.nrPartial, i2.nrCpuPartial]).toEqual([at - 1 - 1 - moved, moved]);
    expect(i2.slabCount).toBe(40);
    expect(checkInvariants(s2.sim)).toEqual([]);
  });

  it("on another CPU go to that CPU's list", () => {
    const { s, ids, inst, free } = rootDentry(model, 4);
    free([ids[0]], 1);
    free([ids[PER_SLAB]], 0);
    expect([
      s.sim.slab.cpuPartialLength(inst.cpuPartialHead[0]),
      s.sim.slab.cpuPartialLength(inst.cpuPartialHead[1]),
    ]).toEqual([1, 1]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });
});

describe("flushes", () => {
  it.each(MODEL_NAMES)(
    "%s: kmem_cache_shrink (flush_all) unfreezes every CPU's list and frees every empty slab",
    (model) => {
      const { s, ids, inst, free } = rootDentry(model, 10);
      free(ids.slice(0, PER_SLAB), 0); // slab 0 emptied, parked on CPU 0
      free(ids.slice(PER_SLAB, PER_SLAB + 1), 1); // slab 1 parked on CPU 1, 20 in use
      expect([inst.nrCpuPartial, inst.slabCount]).toEqual([2, 10]);
      expect(s.sim.slab.shrinkInstance(inst)).toBe(1);
      expect([inst.nrCpuPartial, inst.nrPartial, inst.slabCount]).toEqual([0, 1, 9]);
      expect(checkInvariants(s.sim)).toEqual([]);
    },
  );

  it("removeCache discards parked slabs too", () => {
    const { s, ids, free } = rootDentry("v6.18", 3);
    free(ids.slice(0, PER_SLAB));
    free(ids.slice(PER_SLAB));
    s.ex({ op: "removeCache", name: "dentry" });
    expect(s.sim.slab.reclaimablePages).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });
});

// Per-cgroup copies (rfc-2012, v3.8, v4.5) charge slab pages: a parked empty slab stays charged
// until it is discarded. v5.9/v6.18 charge objects: the kmem charge follows the frees, only the
// slab counts move.
describe("charges", () => {
  function inCgroup(model: ModelName) {
    const s = new Sim({ model, cpuCount: 2, chargeBatchPages: 1 });
    s.dentry();
    if (model === "rfc-2012") s.ex({ op: "registerCache", name: "dentry" });
    s.mkdir("/a");
    if (model === "v3.8" || model === "v4.5") s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    const pid = s.spawn("/a", { cpu: 0 });
    if (model === "v3.8" || model === "v4.5") {
      // 3.8 and 4.5 create the copy asynchronously: the first object goes to the root cache
      s.alloc("dentry", { pid }, 1);
      s.ex({ op: "advanceClock", ms: 1000 });
    }
    const ids: number[] = s.alloc("dentry", { pid }, 40 * PER_SLAB).objectIds;
    const cache = s.sim.slab.caches.get("dentry")!;
    const inst = cache.children.get(s.cg("/a").id) ?? cache.base;
    const kmemFile = {
      "rfc-2012": "memory.usage_in_bytes",
      "v3.8": "memory.kmem.usage_in_bytes",
      "v4.5": "memory.kmem.usage_in_bytes",
    }[model as string];
    return { s, ids, inst, kmem: () => s.num("/a", kmemFile ?? "memory.current") };
  }

  it.each(["rfc-2012", "v3.8", "v4.5"] as ModelName[])(
    "%s: parked empty slabs stay charged; the drain uncharges exactly the discarded slabs",
    (model) => {
      const { s, ids, inst, kmem } = inCgroup(model);
      expect(inst.memcg).not.toBeNull();
      const slabs0 = inst.slabCount;
      const k0 = kmem();
      expect(k0).toBe(slabs0 * PAGE);
      for (let k = 0; k < 31; k++)
        s.ex({ op: "freeObjects", objectIds: ids.slice(PER_SLAB * k, PER_SLAB * (k + 1)), cpu: 0 });
      // 31 emptied slabs parked (pobjects 31, not yet > 30): nothing uncharged
      expect([inst.nrCpuPartial, inst.slabCount, kmem()]).toEqual([31, slabs0, k0]);
      s.ex({ op: "freeObjects", objectIds: ids.slice(PER_SLAB * 31, PER_SLAB * 32), cpu: 0 });
      // the 32nd drains: 5 kept for min_partial, 26 discarded and uncharged (before 3.17, whose
      // test was nr_partial > min_partial: 6 kept, 25 discarded)
      const keep = model === "v4.5" ? 5 : 6;
      expect([inst.nrPartial, inst.slabCount, kmem()]).toEqual([
        keep,
        slabs0 - (31 - keep),
        k0 - (31 - keep) * PAGE,
      ]);
      expect(checkInvariants(s.sim)).toEqual([]);
      // rmdir deactivates the copy (cpu_partial 0, min_partial 0, flush_all): the parked and
      // node slabs that are empty go at once
      s.ex({ op: "freeObjects", objectIds: ids.slice(PER_SLAB * 32), cpu: 0 });
      expect(inst.slabCount).toBeGreaterThan(0);
      for (const pid of [...s.cg("/a").tasks]) s.ex({ op: "exitTask", pid });
      s.rmdir("/a");
      expect(inst.state).toBe("destroyed");
      expect(checkInvariants(s.sim)).toEqual([]);
    },
  );

  it.each(["v5.9", "v6.18"] as ModelName[])(
    "%s: objects are charged: parking changes slab counts, not the charge",
    (model) => {
      const { s, ids, inst, kmem } = inCgroup(model);
      expect(inst.memcg).toBeNull(); // one shared cache
      const k0 = kmem();
      const slabs0 = inst.slabCount;
      s.ex({ op: "freeObjects", objectIds: ids.slice(0, PER_SLAB * 10), cpu: 0 });
      // 10 emptied slabs parked, still in the cache; the charge fell with the 210 objects (200 B each)
      expect([inst.nrCpuPartial, inst.slabCount]).toEqual([10, slabs0]);
      expect(k0 - kmem()).toBeGreaterThanOrEqual(Math.floor((210 * 200) / PAGE) * PAGE - 2 * PAGE);
      expect(checkInvariants(s.sim)).toEqual([]);
    },
  );
});

describe("invariants after every step of a random alloc/free workload on 2 CPUs", () => {
  // two caches (192 B: bound 30 objects / 12 slabs; 1 KiB: 6 objects / 6 slabs), tasks of /a, /b and
  // / on both CPUs, frees on a random CPU; /b is removed half-way (its copies deactivated in
  // rfc-2012/v3.8/v4.5 — cpu_partial 0, lists flushed — while its objects are freed later)
  it.each(MODEL_NAMES)("%s", (model) => {
    const s = new Sim({ model, cpuCount: 2, seed: 7 });
    s.dentry();
    s.cache("kmalloc-cg-1k", 1024, { flags: { account: true } });
    if (model === "rfc-2012") {
      s.ex({ op: "registerCache", name: "dentry" });
      s.ex({ op: "registerCache", name: "kmalloc-cg-1k" });
    }
    s.mkdir("/a", "/b");
    if (model === "v3.8" || model === "v4.5")
      for (const cg of ["/a", "/b"]) s.write(cg, "memory.kmem.limit_in_bytes", "1G");
    const pids = [
      s.spawn("/a", { cpu: 0 }),
      s.spawn("/a", { cpu: 1 }),
      s.spawn("/", { cpu: 0 }),
      s.spawn("/b", { cpu: 1 }),
    ];
    const prng = new Prng(36);
    const rnd = (n: number) => prng.below(n);
    const live: number[] = [];
    let maxParked = 0;
    let maxNode = 0;
    let discarded = 0;
    for (let step = 0; step < 400; step++) {
      if (step === 200) {
        s.ex({ op: "exitTask", pid: pids.pop()! });
        s.rmdir("/b");
      }
      if (step % 100 === 99) s.ex({ op: "advanceClock", ms: 1000 });
      const cache = rnd(10) < 7 ? "dentry" : "kmalloc-cg-1k";
      if (live.length < 200 || rnd(100) < 45) {
        const r = s.alloc(cache, { pid: pids[rnd(pids.length)] }, 1 + rnd(60));
        live.push(...r.objectIds);
      } else {
        const n = 1 + rnd(50);
        const picked: number[] = [];
        for (let i = 0; i < n && live.length > 0; i++) {
          const j = rnd(live.length);
          picked.push(live[j]);
          live[j] = live[live.length - 1];
          live.pop();
        }
        discarded += s.ex({ op: "freeObjects", objectIds: picked, cpu: rnd(2) }).freedSlabCount;
      }
      for (const c of s.sim.slab.caches.values())
        for (const i of [c.base, ...c.children.values()]) {
          maxParked = Math.max(maxParked, i.nrCpuPartial);
          maxNode = Math.max(maxNode, i.nrPartial);
        }
      const bad = checkInvariants(s.sim);
      if (bad.length > 0) throw new Error(`step ${step}: ${bad.join("; ")}`);
    }
    // the lists were used, drained to the node, and slabs were discarded
    expect(maxParked).toBeGreaterThan(0);
    expect(maxNode).toBeGreaterThan(0);
    expect(discarded).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from "vitest";
import { STAT_KERNEL_PAGES } from "../../src/engine/cgroup.js";
import { procSlabinfo } from "../../src/engine/cgroupfs/proc.js";
import { EngineError } from "../../src/engine/errors.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { Sim } from "./helpers.js";

// Every scenario here runs with exact accounting (`chargeBatchPages: 1`, no per-CPU page stock):
// they are about which pages and objects each era charges; the kernel's batched usage (32/64-page
// stock slack) is tested in era-charge.test.ts.

const P = 4096;

describe("S1 — v3.8, kmem-active cgroup (docs/DOMAIN.md §12)", () => {
  it("serves the first dentry from the root cache, then charges one page per 21 to kmem and memory", () => {
    const s = new Sim({ model: "v3.8", cpuCount: 8, chargeBatchPages: 1 });
    s.mkdir("/A");
    s.write("/A", "memory.kmem.limit_in_bytes", "100M");
    s.dentry();
    const pid = s.spawn("/A", { cpu: 0 });
    const first = s.alloc("dentry", { pid }, 1);
    expect(first.chargedBytes).toBe(0);
    expect(s.num("/A", "memory.kmem.usage_in_bytes")).toBe(0);
    const ids: number[] = [];
    for (let i = 1; i <= 21; i++) ids.push(...s.alloc("dentry", { pid }, 1).objectIds);
    expect([s.num("/A", "memory.kmem.usage_in_bytes"), s.num("/A", "memory.usage_in_bytes")]).toEqual([P, P]);
    ids.push(...s.alloc("dentry", { pid }, 1).objectIds);
    expect([s.num("/A", "memory.kmem.usage_in_bytes"), s.num("/A", "memory.usage_in_bytes")]).toEqual([
      2 * P,
      2 * P,
    ]);
    const r = s.ex({ op: "freeObjects", objectIds: ids });
    expect(r).toMatchObject({ freedCount: 22, freedSlabCount: 0, unchargedBytes: 0 });
    // both slabs are empty but retained (nr_partial < min_partial 5; one is the CPU slab)
    expect([s.num("/A", "memory.kmem.usage_in_bytes"), s.num("/A", "memory.usage_in_bytes")]).toEqual([
      2 * P,
      2 * P,
    ]);
    // offline runs kmem_cache_shrink: the empty copy is destroyed and the cgroup released
    s.ex({ op: "exitTask", pid });
    s.rmdir("/A");
    expect(s.sim.dyingCount).toBe(0);
  });
});

describe("S2 — §7.2 worked example (v5.9, one CPU)", () => {
  it("charges 8192 after 21 dentries with slab_reclaimable 4200, and 4096 after freeing one", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/A");
    s.dentry();
    const pid = s.spawn("/A");
    const r1 = s.alloc("dentry", { pid }, 1);
    expect(r1.chargedBytes).toBe(P);
    expect(s.num("/A", "memory.current")).toBe(P);
    const r2 = s.alloc("dentry", { pid }, 19);
    expect(r2.chargedBytes).toBe(0);
    const r3 = s.alloc("dentry", { pid }, 1);
    expect(r3.chargedBytes).toBe(P);
    expect(s.num("/A", "memory.current")).toBe(8192);
    expect(s.read("/A", "memory.stat")).toContain("\nslab_reclaimable 4200\n");
    // 5.9 has no `kernel` key (5.18); the counter behind it
    expect(s.cg("/A").statHier[STAT_KERNEL_PAGES]).toBe(2);
    const f = s.ex({ op: "freeObjects", objectIds: r3.objectIds });
    expect(f.unchargedBytes).toBe(P);
    expect(s.num("/A", "memory.current")).toBe(4096);
    expect(s.read("/A", "memory.stat")).toContain("\nslab_reclaimable 4000\n");
  });
});

describe("S3 — one dentry in each of 100 cgroups", () => {
  function run(model: "rfc-2012" | "v3.8" | "v5.9") {
    const s = new Sim({ model, cpuCount: 4, chargeBatchPages: 1 });
    s.dentry();
    if (model === "rfc-2012") s.ex({ op: "registerCache", name: "dentry" });
    for (let i = 0; i < 100; i++) {
      const p = `/c${i}`;
      s.mkdir(p);
      if (model === "v3.8") {
        s.write(p, "memory.kmem.limit_in_bytes", "1G");
        // lazy creation: a first allocation (served by the root cache) makes the copy exist
        s.ex({ op: "freeObjects", objectIds: s.alloc("dentry", { cgroup: p }, 1).objectIds });
      }
      s.alloc("dentry", { cgroup: p }, 1);
    }
    return s;
  }

  it.each(["rfc-2012", "v3.8"] as const)(
    "%s: 100 per-cgroup slab pages, each cgroup charged 4096 B",
    (model) => {
      const s = run(model);
      for (let i = 0; i < 100; i += 33) expect(s.num(`/c${i}`, "memory.usage_in_bytes")).toBe(P);
      const t = s.sim.slab.caches.get("dentry")!.totals();
      // v3.8 also keeps the root cache's slab that served the warm-up allocations
      expect(t.slabs - s.sim.slab.caches.get("dentry")!.base.slabCount).toBe(100);
      expect(t.activeObjects).toBe(100);
    },
  );

  it("v5.9: each cgroup still charged 4096 B, but only 5 shared slab pages exist", () => {
    const s = run("v5.9");
    for (let i = 0; i < 100; i += 33) expect(s.num(`/c${i}`, "memory.current")).toBe(P);
    expect(s.sim.slab.caches.get("dentry")!.totals().slabs).toBe(5);
    expect(procSlabinfo(s.sim)).toContain("dentry               105    105    192   21    1 :");
  });
});

describe("S4 — fragmentation: 2100 dentries, free every other", () => {
  it.each(["rfc-2012", "v3.8"] as const)(
    "%s: 1050 live, 0 pages freed, charge unchanged at 100 pages",
    (model) => {
      const s = new Sim({ model, cpuCount: 1, chargeBatchPages: 1 });
      s.dentry();
      // the seed copies registered caches into cgroups created afterwards only
      if (model === "rfc-2012") s.ex({ op: "registerCache", name: "dentry" });
      s.mkdir("/a");
      if (model === "v3.8") {
        s.write("/a", "memory.kmem.limit_in_bytes", "1G");
        s.ex({ op: "freeObjects", objectIds: s.alloc("dentry", { cgroup: "/a" }, 1).objectIds });
      }
      s.alloc("dentry", { cgroup: "/a" }, 2100);
      expect(s.num("/a", "memory.usage_in_bytes")).toBe(100 * P);
      const r = s.ex({ op: "freeObjects", cache: "dentry", cgroup: "/a", count: 1050, order: "every-other" });
      expect(r).toEqual({ freedCount: 1050, missingCount: 0, unchargedBytes: 0, freedSlabCount: 0 });
      expect(s.num("/a", "memory.usage_in_bytes")).toBe(100 * P);
    },
  );

  it("v5.9: the charge drops by 1050 × 200 B rounded through the stock (51 pages)", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    s.dentry();
    s.alloc("dentry", { cgroup: "/a" }, 2100);
    // 2100 × 200 = 420000 B → 103 pages charged, 1888 B parked in the stock
    expect(s.num("/a", "memory.current")).toBe(103 * P);
    const r = s.ex({ op: "freeObjects", cache: "dentry", cgroup: "/a", count: 1050, order: "every-other" });
    // 1888 + 210000 = 211888 B back in the stock: 51 whole pages uncharged, 2992 B kept
    expect(r).toEqual({ freedCount: 1050, missingCount: 0, unchargedBytes: 51 * P, freedSlabCount: 0 });
    expect(s.num("/a", "memory.current")).toBe(52 * P);
    expect(s.sim.slab.caches.get("dentry")!.base.slabCount).toBe(100);
  });
});

describe("S6 — dying cgroups pinned by one leftover dentry", () => {
  function churn(model: "v3.8" | "v4.5" | "v5.9", rounds: number) {
    const s = new Sim({ model, cgroupVersion: model === "v5.9" ? 2 : 1, chargeBatchPages: 1 });
    s.dentry();
    for (let i = 0; i < rounds; i++) {
      const p = `/job${i}`;
      s.mkdir(p);
      // 3.8 and 4.5 on v1 account kmem once kmem.limit_in_bytes was written
      if (model !== "v5.9") s.write(p, "memory.kmem.limit_in_bytes", "1G");
      const pid = s.spawn(p);
      s.alloc("dentry", { pid }, 2); // the first may be served unaccounted while the copy is created
      s.ex({ op: "exitTask", pid });
      s.rmdir(p);
      s.ex({ op: "advanceClock", ms: 60_000 });
    }
    return s;
  }

  it.each([
    ["v3.8", 10],
    ["v4.5", 10],
    ["v5.9", 0],
  ] as const)("%s: %i dying cgroups after 10 rounds", (model, dying) => {
    const s = churn(model, 10);
    expect(s.sim.dyingCount).toBe(dying);
    expect(s.ex({ op: "createCgroup", path: "/probe" }).dyingDescendantCount).toBe(0);
  });

  it("grows linearly in B and stays flat in C", () => {
    expect([5, 20].map((n) => churn("v3.8", n).sim.dyingCount)).toEqual([5, 20]);
    expect([5, 20].map((n) => churn("v5.9", n).sim.dyingCount)).toEqual([0, 0]);
  });
});

describe("seed model (rfc-2012)", () => {
  it("duplicates registered caches at cgroup creation only, named dentry-<index> (fidelity-audit row 31)", () => {
    const s = new Sim({ model: "rfc-2012", chargeBatchPages: 1 });
    s.dentry({ flags: { reclaimAccount: true } });
    s.mkdir("/a", "/b");
    expect(s.ex({ op: "createCgroup", path: "/c" }).caches).toEqual([]);
    // register_memcg_cache only fills kmem_avail_caches[]: the existing cgroups get no copy
    const view = s.ex({ op: "registerCache", name: "dentry" });
    expect(view.children).toEqual([]);
    // …and keep allocating from the base cache, unaccounted (audit probe P7: kmem.usage 0)
    s.alloc("dentry", { cgroup: "/a" }, 1);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(0);
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(0);
    // mem_cgroup_create → memcg_create_kmem_caches copies every registered cache
    const d = s.ex({ op: "createCgroup", path: "/d" });
    expect(d.caches).toEqual([
      {
        name: "dentry",
        displayName: "dentry-4",
        activeObjectCount: 0,
        objectCount: 0,
        slabCount: 0,
        state: "active",
      },
    ]);
    // no page is charged by the duplication itself (chargeOnDup dropped in review)
    expect(s.num("/d", "memory.usage_in_bytes")).toBe(0);
  });

  it("charges slab pages to memory, or to kmem with kmemIndependentAccounting", () => {
    for (const indep of [false, true]) {
      const s = new Sim({ model: "rfc-2012", kmemIndependentAccounting: indep, chargeBatchPages: 1 });
      s.dentry();
      s.mkdir("/a");
      s.alloc("dentry", { cgroup: "/a" }, 1);
      expect([s.num("/a", "memory.usage_in_bytes"), s.num("/a", "memory.kmem.usage_in_bytes")]).toEqual(
        indep ? [0, P] : [P, 0],
      );
    }
  });

  it("fails a slab charge at the limit without reclaim, and reclaims first with reclaimOnKmemFailure", () => {
    for (const reclaim of [false, true]) {
      const s = new Sim({ model: "rfc-2012", reclaimOnKmemFailure: reclaim, chargeBatchPages: 1 });
      s.dentry();
      s.mkdir("/a");
      s.write("/a", "memory.limit_in_bytes", "64K");
      const pid = s.spawn("/a");
      s.pages(pid, "file", 16 * P);
      const r = s.alloc("dentry", { pid }, 1);
      if (reclaim) {
        expect(r.error).toBeNull();
        expect(r.reclaimedBytes).toBeGreaterThan(0);
      } else {
        expect(r).toMatchObject({ error: "ENOMEM", failedAt: "/a", reclaimedBytes: 0 });
        expect(s.num("/a", "memory.usage_in_bytes")).toBe(16 * P);
        expect(s.read("/a", "memory.failcnt")).toBe("1\n");
      }
    }
  });

  it("bills first touch: objects stay with the old cgroup after a task move", () => {
    const s = new Sim({ model: "rfc-2012", chargeBatchPages: 1 });
    s.dentry();
    s.mkdir("/a", "/b");
    const pid = s.spawn("/a", { cpu: 0 });
    s.alloc("dentry", { pid }, 1);
    s.ex({ op: "moveTask", pid, cgroup: "/b" });
    s.alloc("dentry", { pid }, 1);
    expect([s.num("/a", "memory.usage_in_bytes"), s.num("/b", "memory.usage_in_bytes")]).toEqual([P, P]);
  });

  it("keeps a removed cgroup's copy alive until its last object is freed", () => {
    const s = new Sim({ model: "rfc-2012", chargeBatchPages: 1 });
    s.dentry();
    s.mkdir("/a");
    const ids = s.alloc("dentry", { cgroup: "/a" }, 2).objectIds;
    s.rmdir("/a");
    expect(s.cg("/a").state).toBe("dying");
    expect(s.sim.slab.caches.get("dentry")!.children.get(s.cg("/a").id)!.state).toBe("dying");
    s.ex({ op: "freeObjects", objectIds: [ids[0]] });
    expect(s.sim.dyingCount).toBe(1);
    s.ex({ op: "freeObjects", objectIds: [ids[1]] });
    expect(s.sim.dyingCount).toBe(0);
    expect(s.sim.slab.caches.get("dentry")!.children.size).toBe(0);
  });
});

describe("v3.8 model", () => {
  it("activates kmem accounting on the first kmem.limit_in_bytes write, EBUSY with tasks or hierarchical children", () => {
    const s = new Sim({ model: "v3.8", chargeBatchPages: 1 });
    s.mkdir("/a", "/h");
    const pid = s.spawn("/a");
    expect(() => s.write("/a", "memory.kmem.limit_in_bytes", "1M")).toThrowError(EngineError);
    s.ex({ op: "moveTask", pid, cgroup: "/" });
    s.write("/h", "memory.use_hierarchy", "1");
    s.mkdir("/h/k");
    expect(() => s.write("/h", "memory.kmem.limit_in_bytes", "1M")).toThrowError(/without tasks or children/);
    s.write("/a", "memory.kmem.limit_in_bytes", "1M");
    expect(s.cg("/a").kmemActive).toBe(true);
    // children inherit activation only under use_hierarchy (3.8 mem_cgroup_create → memcg_propagate_kmem)
    s.mkdir("/a/flat");
    expect(s.cg("/a/flat").kmemActive).toBe(false);
    s.rmdir("/a/flat");
    s.write("/a", "memory.use_hierarchy", "1");
    s.mkdir("/a/child");
    expect(s.cg("/a/child").kmemActive).toBe(true);
    expect(s.read("/a/child", "memory.kmem.limit_in_bytes")).toBe("9223372036854775807\n");
  });

  it("activates only on a finite value: `echo -1` leaves an inactive cgroup inactive (decision on docs/DOMAIN.md §6.2)", () => {
    const s = new Sim({ model: "v3.8", chargeBatchPages: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "-1");
    expect(s.cg("/a").kmemActive).toBe(false);
    s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    s.write("/a", "memory.kmem.limit_in_bytes", "-1");
    expect(s.cg("/a").kmemActive).toBe(true);
  });

  it("accounts nothing in a cgroup that never wrote kmem.limit_in_bytes", () => {
    const s = new Sim({ model: "v3.8", chargeBatchPages: 1 });
    s.mkdir("/a");
    s.dentry();
    s.alloc("dentry", { cgroup: "/a" }, 50);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(0);
    expect(s.sim.slab.caches.get("dentry")!.children.size).toBe(0);
  });

  it("creates copies lazily after cacheCreationDelayMs, named dentry(<kmemcg_id>:<cgroup>)", () => {
    const s = new Sim({ model: "v3.8", cacheCreationDelayMs: 100, chargeBatchPages: 1 });
    s.mkdir("/a", "/b");
    s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    s.write("/b", "memory.kmem.limit_in_bytes", "1G");
    s.dentry();
    s.alloc("dentry", { cgroup: "/b" }, 3);
    s.ex({ op: "advanceClock", ms: 99 });
    s.alloc("dentry", { cgroup: "/b" }, 1);
    expect(s.num("/b", "memory.kmem.usage_in_bytes")).toBe(0);
    s.ex({ op: "advanceClock", ms: 1 });
    s.alloc("dentry", { cgroup: "/b" }, 1);
    expect(s.num("/b", "memory.kmem.usage_in_bytes")).toBe(P);
    const copy = s.sim.slab.caches.get("dentry")!.children.get(s.cg("/b").id)!;
    expect(copy.displayName).toBe("dentry(1:b)");
  });

  it("fails at the kmem limit with ENOMEM and no reclaim, counting kmem failcnt", () => {
    const s = new Sim({ model: "v3.8", chargeBatchPages: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "4K");
    s.dentry();
    const pid = s.spawn("/a");
    s.pages(pid, "file", 8 * P);
    s.alloc("dentry", { pid }, 22); // 1 unaccounted (creation) + 21 in the first slab
    const r = s.alloc("dentry", { pid }, 1);
    expect(r).toMatchObject({ error: "ENOMEM", failedAt: "/a", reclaimedBytes: 0 });
    expect(s.read("/a", "memory.kmem.failcnt")).toBe("1\n");
    expect(s.read("/a", "memory.failcnt")).toBe("0\n");
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(9 * P);
  });
});

describe("v4.5 model", () => {
  it("accounts only SLAB_ACCOUNT caches or __GFP_ACCOUNT calls, with copies named by css serial", () => {
    const s = new Sim({ model: "v4.5", chargeBatchPages: 1 });
    s.mkdir("/x", "/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "-1"); // 4.5 v1: any write activates kmem accounting
    s.cache("kmalloc-64", 64);
    s.alloc("kmalloc-64", { cgroup: "/a" }, 2);
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(0);
    s.alloc("kmalloc-64", { cgroup: "/a" }, 2, "GFP_KERNEL_ACCOUNT");
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(P);
    expect(s.sim.slab.caches.get("kmalloc-64")!.children.get(s.cg("/a").id)!.displayName).toBe(
      `kmalloc-64(${s.cg("/a").id}:a)`,
    );
  });

  it("deactivates copies on rmdir: empty slabs freed at once, objects pin the cgroup until freed", () => {
    const s = new Sim({ model: "v4.5", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.kmem.limit_in_bytes", "1G"); // 4.5 v1: activates kmem accounting
    s.dentry();
    const ids = s.alloc("dentry", { cgroup: "/a" }, 43).objectIds; // 1 root + 42 in two slabs
    s.ex({ op: "freeObjects", objectIds: ids.slice(1, 22) });
    s.rmdir("/a");
    const copy = s.sim.slab.caches.get("dentry")!.children.get(s.cg("/a").id)!;
    expect([copy.state, copy.minPartial, copy.slabCount]).toEqual(["dying", 0, 1]);
    expect(s.sim.dyingCount).toBe(1);
    s.ex({ op: "freeObjects", objectIds: ids.slice(22) });
    expect(s.sim.dyingCount).toBe(0);
  });
});

describe("v5.9 model", () => {
  it("reparents on rmdir: later frees uncharge the parent and slab never pins", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/p", "/p/c");
    s.dentry();
    const ids = s.alloc("dentry", { cgroup: "/p/c" }, 41).objectIds; // 8200 B → 3 pages, 4088 B in the stock
    // and the page /p pays for /p/c's statistics (2816 B; its 1280 spare bytes parked in /p's
    // nr_charged_bytes when the stock switched to /p/c's objcg)
    expect(s.num("/p", "memory.current")).toBe(4 * P);
    s.rmdir("/p/c");
    expect(s.sim.dyingCount).toBe(0);
    // offline drained the stock: no whole page, the 4088 B wait in the objcg's nr_charged_bytes
    expect([...s.sim.slab.objcgChargedBytes].slice(-2)).toEqual([1280, 4088]);
    expect(s.num("/p", "memory.current")).toBe(4 * P);
    expect(s.read("/p", "memory.stat")).toContain("\nslab_reclaimable 8200\n");
    const f = s.ex({ op: "freeObjects", objectIds: ids });
    // 4088 + 8200 = 12288 B flow back through the stock; refill_obj_stock uncharges only above a
    // page (`nr_bytes > PAGE_SIZE`), so the last 4096 B stay stocked — charged to the parent
    expect(f.unchargedBytes).toBe(2 * P);
    expect(s.num("/p", "memory.current")).toBe(2 * P);
    expect(s.read("/p", "memory.stat")).toContain("\nslab_reclaimable 0\n");
    // /p/c is freed a grace period after its release: its 2816 B go back to /p's objcg, whose
    // stock then holds 1280 + 2816 = 4096 B (the other objcg's page drained on the switch)
    s.ex({ op: "advanceClock", ms: 10 });
    expect(s.num("/p", "memory.current")).toBe(P);
    expect(s.read("/p", "memory.stat")).toContain("\npercpu 0\n");
  });

  it("uncharges every level at once when a top-level cgroup's objcg is reparented to the root; the root's statistics keep the objects until they are freed (audit row 29)", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    s.dentry();
    const ids = s.alloc("dentry", { cgroup: "/a" }, 30).objectIds;
    expect(s.sim.root.memory.usage).toBe(2);
    s.rmdir("/a");
    expect(s.sim.dyingCount).toBe(0);
    // memcg_reparent_objcgs moves the objcg, not the statistics: the root's kernel (2 pages) and
    // slab_reclaimable (30 × 200 B) still count the live dentries, as meminfo's Slab does
    expect([s.sim.root.memory.usage, s.sim.root.statHier[2], s.sim.root.statHier[3]]).toEqual([0, 2, 6000]);
    expect(s.read("/", "memory.stat")).toContain("\nslab_reclaimable 6000\n");
    s.ex({ op: "freeObjects", objectIds: ids });
    // freed: mod_objcg_mlstate takes the slab bytes off the root; the 8192 B of the two pages flow
    // back through the obj stock (2192 B stocked + 6000 B), one page uncharged, 4096 B kept stocked
    expect([s.sim.root.memory.usage, s.sim.root.statHier[2], s.sim.root.statHier[3]]).toEqual([0, 1, 0]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("charges a remote allocation for a dying cgroup to its nearest online ancestor", () => {
    const s = new Sim({ model: "v5.9", chargeBatchPages: 1 });
    s.mkdir("/p", "/p/c");
    const pid = s.spawn("/p/c");
    s.pages(pid, "file", P);
    s.ex({ op: "moveTask", pid, cgroup: "/p" });
    s.rmdir("/p/c");
    s.dentry();
    s.alloc("dentry", { cgroup: "/p/c" }, 1);
    expect(s.num("/p/c", "memory.current")).toBe(P);
    // /p/c's file page, and 3 pages for /p/c's statistics (4 CPUs × 2816 B = 11264 B) whose spare
    // bytes take the dentry's 208 B without another page
    expect(s.num("/p", "memory.current")).toBe(4 * P);
    expect(s.read("/p", "memory.stat")).toContain("\npercpu 11264\n");
  });
});

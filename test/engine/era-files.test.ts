import { describe, expect, it } from "vitest";
import { listCgroupFiles } from "../../src/engine/cgroupfs/files.js";
import { procSlabinfo } from "../../src/engine/cgroupfs/proc.js";
import { EngineError } from "../../src/engine/errors.js";
import { MiB, PAGE, Sim } from "./helpers.js";

/**
 * Each model's cgroupfs files as its own kernel prints them (fidelity audit rows 40–43): key lists
 * of memory.stat and memory.events, which files exist, cgroup.stat, cgroup.events and the v1
 * oom_control line. Sources are cited in each era file (src/engine/models/*.era.ts).
 */

const errno = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof EngineError) return e.code;
    throw e;
  }
  return "ok";
};

/** /a with task 42: 10 anon pages and 22 dentries (192 B, SLAB_ACCOUNT | SLAB_RECLAIM_ACCOUNT). */
function small(model: "v4.5" | "v5.9" | "v6.18") {
  const batch = model === "v6.18" ? { chargeBatchPages: 1 } : {};
  const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1, memoryBytes: 64 * MiB, ...batch });
  s.mkdir("/a");
  s.dentry();
  s.spawn("/a", { pid: 42 });
  s.pages(42, "anon", 10 * PAGE);
  s.alloc("dentry", { pid: 42 }, 22);
  return s;
}

describe("v5.9 (5.9/5.10 mm/memcontrol.c)", () => {
  const s = small("v5.9");

  it("prints memory.stat as 5.9 memory_stat_format: 36 keys, slab fourth, percpu, no kernel/pagetables/zswap", () => {
    expect(s.read("/a", "memory.stat")).toBe(
      [
        "anon 40960",
        "file 0",
        "kernel_stack 0",
        "slab 4400",
        "percpu 0",
        "sock 0",
        "shmem 0",
        "file_mapped 0",
        "file_dirty 0",
        "file_writeback 0",
        "anon_thp 0",
        "inactive_anon 40960",
        "active_anon 0",
        "inactive_file 0",
        "active_file 0",
        "unevictable 0",
        "slab_reclaimable 4400",
        "slab_unreclaimable 0",
        "pgfault 10",
        "pgmajfault 0",
        "workingset_refault_anon 0",
        "workingset_refault_file 0",
        "workingset_activate_anon 0",
        "workingset_activate_file 0",
        "workingset_restore_anon 0",
        "workingset_restore_file 0",
        "workingset_nodereclaim 0",
        "pgrefill 0",
        "pgscan 0",
        "pgsteal 0",
        "pgactivate 0",
        "pgdeactivate 0",
        "pglazyfree 0",
        "pglazyfreed 0",
        "thp_fault_alloc 0",
        "thp_collapse_alloc 0",
        "",
      ].join("\n"),
    );
  });

  it("prints memory.events with the five keys of __memory_events_show, ending at oom_kill", () => {
    expect(s.read("/a", "memory.events")).toBe("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    expect(s.read("/a", "memory.events.local")).toBe("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  });

  it("has no memory.peak and no memory.reclaim (both 5.19): P8 reads ENOENT, not a reset watermark", () => {
    expect(errno(() => s.read("/a", "memory.peak"))).toBe("ENOENT");
    expect(errno(() => s.write("/a", "memory.peak", "reset"))).toBe("ENOENT");
    expect(errno(() => s.write("/a", "memory.reclaim", "4096"))).toBe("ENOENT");
    expect(listCgroupFiles(s.sim, s.cg("/a"))).toEqual([
      "memory.current",
      "memory.max",
      "memory.high",
      "memory.low",
      "memory.min",
      "memory.events",
      "memory.events.local",
      "memory.stat",
      "memory.oom.group",
      "cgroup.procs",
      "cgroup.stat",
      "cgroup.events",
    ]);
  });

  it("prints cgroup.stat without nr_subsys_* (6.11) and cgroup.events with frozen (5.2)", () => {
    s.mkdir("/a/b");
    expect(s.read("/a", "cgroup.stat")).toBe("nr_descendants 1\nnr_dying_descendants 0\n");
    expect(s.read("/a", "cgroup.events")).toBe("populated 1\nfrozen 0\n");
  });

  it("prints the v1 memory.stat of memcg_stat_show (no workingset_* keys) and oom_control with oom_kill", () => {
    const t = new Sim({ model: "v5.9", cgroupVersion: 1, cpuCount: 1 });
    t.mkdir("/a");
    const keys = [
      "cache 0",
      "rss 0",
      "rss_huge 0",
      "shmem 0",
      "mapped_file 0",
      "dirty 0",
      "writeback 0",
      "pgpgin 0",
      "pgpgout 0",
      "pgfault 0",
      "pgmajfault 0",
      "inactive_anon 0",
      "active_anon 0",
      "inactive_file 0",
      "active_file 0",
      "unevictable 0",
    ];
    expect(t.read("/a", "memory.stat")).toBe(
      `${keys.join("\n")}\nhierarchical_memory_limit 9223372036854771712\n${keys.map((k) => `total_${k}`).join("\n")}\n`,
    );
    expect(t.read("/a", "memory.oom_control")).toBe("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  });
});

describe("v4.5 (4.5 mm/memcontrol.c)", () => {
  const s = small("v4.5");

  it("prints the 4.5 memory_stat_show: 13 keys, no slab, kernel_stack, shmem or anon_thp", () => {
    expect(s.read("/a", "memory.stat")).toBe(
      "anon 40960\nfile 0\nsock 0\nfile_mapped 0\nfile_dirty 0\nfile_writeback 0\n" +
        "inactive_anon 0\nactive_anon 40960\ninactive_file 0\nactive_file 0\nunevictable 0\n" +
        "pgfault 10\npgmajfault 0\n",
    );
  });

  it("prints memory.events with low, high, max, oom only (oom_kill is 4.13)", () => {
    expect(s.read("/a", "memory.events")).toBe("low 0\nhigh 0\nmax 0\noom 0\n");
  });

  it("serves only 4.5's memory_files[] and cgroup core files; cgroup.events has no frozen line", () => {
    expect(listCgroupFiles(s.sim, s.cg("/a"))).toEqual([
      "memory.current",
      "memory.max",
      "memory.high",
      "memory.low",
      "memory.events",
      "memory.stat",
      "cgroup.procs",
      "cgroup.events",
    ]);
    for (const f of [
      "memory.min",
      "memory.peak",
      "memory.events.local",
      "memory.reclaim",
      "memory.oom.group",
      "cgroup.stat",
    ])
      expect(errno(() => s.read("/a", f))).toBe("ENOENT");
    expect(s.read("/a", "cgroup.events")).toBe("populated 1\n");
  });
});

describe("v6.18 memory.peak (6.12+ peak_write)", () => {
  it("P8: after a write, a fresh read still shows the global watermark 49152", () => {
    const s = new Sim({ model: "v6.18", cgroupVersion: 2, cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    const p = s.spawn("/a", { pid: 42 });
    const r = s.pages(p, "anon", 12 * PAGE);
    s.ex({ op: "freePages", pid: p, kind: "anon", bytes: 12 * PAGE });
    expect(r.error).toBeNull();
    expect(s.read("/a", "memory.peak")).toBe("49152\n");
    s.write("/a", "memory.peak", "reset");
    expect(s.read("/a", "memory.peak")).toBe("49152\n");
    expect(s.read("/a", "memory.current")).toBe("0\n");
  });
});

describe("v1 memory.kmem.limit_in_bytes writes per era (audit rows 18, 19)", () => {
  const v1 = (model: "rfc-2012" | "v3.8" | "v4.5" | "v5.9" | "v6.18") => {
    const batch = model === "v6.18" ? { chargeBatchPages: 1 } : {};
    const s = new Sim({ model, cgroupVersion: 1, cpuCount: 1, ...batch });
    s.mkdir("/a");
    return s;
  };

  it("rfc-2012 and v5.9 store the limit (5.10 memcg_update_kmem_max → page_counter_set_max)", () => {
    for (const model of ["rfc-2012", "v5.9"] as const) {
      const s = v1(model);
      s.write("/a", "memory.kmem.limit_in_bytes", "8K");
      expect(s.read("/a", "memory.kmem.limit_in_bytes")).toBe("8192\n");
    }
  });

  it("v5.9: EBUSY below the kmem usage (page_counter_set_max), the limit unchanged", () => {
    const s = v1("v5.9");
    s.dentry();
    s.spawn("/a", { pid: 42 });
    s.alloc("dentry", { pid: 42 }, 21); // 21 × 200 B: two pages through the obj stock
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(8192);
    expect(errno(() => s.write("/a", "memory.kmem.limit_in_bytes", "4K"))).toBe("EBUSY");
    expect(s.read("/a", "memory.kmem.limit_in_bytes")).toBe("9223372036854771712\n");
  });

  it("v6.18 accepts the write and keeps reading the maximum", () => {
    const s = v1("v6.18");
    s.write("/a", "memory.kmem.limit_in_bytes", "8K");
    expect(s.read("/a", "memory.kmem.limit_in_bytes")).toBe("9223372036854771712\n");
  });

  it("v3.8: -1 does not activate (val != RESOURCE_MAX); a finite write does", () => {
    const s = v1("v3.8");
    s.write("/a", "memory.kmem.limit_in_bytes", "-1");
    expect(errno(() => s.read("/a", "memory.kmem.slabinfo"))).toBe("EIO");
    s.write("/a", "memory.kmem.limit_in_bytes", "1G");
    expect(s.read("/a", "memory.kmem.slabinfo")).toMatch(/^slabinfo - version: 2.1\n/);
  });

  it("v4.5: -1 activates; a cgroup with a task in its subtree cannot be activated (EBUSY)", () => {
    const s = v1("v4.5");
    s.dentry();
    s.write("/a", "memory.use_hierarchy", "1");
    s.mkdir("/b");
    s.spawn("/b", { pid: 42 });
    expect(errno(() => s.write("/b", "memory.kmem.limit_in_bytes", "-1"))).toBe("EBUSY");
    s.alloc("dentry", { pid: 42 }, 21);
    expect(s.num("/b", "memory.kmem.usage_in_bytes")).toBe(0);
    s.write("/a", "memory.kmem.limit_in_bytes", "-1");
    s.ex({ op: "moveTask", pid: 42, cgroup: "/a" });
    s.alloc("dentry", { pid: 42 }, 22); // the first from the root cache while the copy is created
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(4096);
  });
});

describe("v1 memory.kmem.slabinfo per era (audit row 34)", () => {
  it("v3.8: EIO on the root (memcg_can_account_kmem is false there) as on an inactive cgroup", () => {
    const s = new Sim({ model: "v3.8", cpuCount: 1 });
    s.dentry();
    expect(errno(() => s.read("/", "memory.kmem.slabinfo"))).toBe("EIO");
  });

  it("v4.5: the root prints the header only (no cache copy belongs to it)", () => {
    const s = new Sim({ model: "v4.5", cpuCount: 1 });
    s.dentry();
    expect(s.read("/", "memory.kmem.slabinfo")).toBe(
      "slabinfo - version: 2.1\n" +
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n",
    );
  });

  it("rfc-2012 has no such file; v5.9 and v6.18 print nothing", () => {
    expect(errno(() => new Sim({ model: "rfc-2012" }).read("/", "memory.kmem.slabinfo"))).toBe("ENOENT");
    for (const model of ["v5.9", "v6.18"] as const) {
      const s = new Sim({ model, cgroupVersion: 1 });
      s.mkdir("/a");
      expect(s.read("/a", "memory.kmem.slabinfo")).toBe("");
    }
  });
});

describe("rfc-2012 /proc/slabinfo (audit row 33)", () => {
  it("lists each cgroup's copy on its own line, newest first, as ordinary caches of the seed", () => {
    const s = new Sim({ model: "rfc-2012", cpuCount: 1 });
    s.dentry();
    s.ex({ op: "registerCache", name: "dentry" });
    s.mkdir("/a");
    s.spawn("/a", { pid: 42 });
    s.alloc("dentry", { pid: 42 }, 22);
    s.spawn("/", { pid: 7 });
    s.alloc("dentry", { pid: 7 }, 1);
    const copy = s.sim.slab.caches.get("dentry")!.children.get(s.cg("/a").id)!.displayName;
    expect(copy).toBe("dentry-1");
    expect(procSlabinfo(s.sim)).toBe(
      "slabinfo - version: 2.1\n" +
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n" +
        "dentry-1              42     42    192   21    1 : tunables    0    0    0 : slabdata      2      2      0\n" +
        "dentry                21     21    192   21    1 : tunables    0    0    0 : slabdata      1      1      0\n",
    );
  });
});

describe("kmem activation inherited only under use_hierarchy (audit row 21)", () => {
  it.each(["v3.8", "v4.5"] as const)(
    "%s: a child of an active cgroup is active only with use_hierarchy 1",
    (model) => {
      const s = new Sim({ model, cgroupVersion: 1, cpuCount: 1 });
      s.mkdir("/flat", "/tree");
      s.write("/tree", "memory.use_hierarchy", "1");
      for (const p of ["/flat", "/tree"]) s.write(p, "memory.kmem.limit_in_bytes", "1G");
      s.mkdir("/flat/c", "/tree/c");
      expect(s.cg("/flat/c").kmemActive).toBe(false);
      expect(s.cg("/tree/c").kmemActive).toBe(true);
      s.dentry();
      s.spawn("/flat/c", { pid: 41 });
      s.spawn("/tree/c", { pid: 42 });
      for (const pid of [41, 42]) s.alloc("dentry", { pid }, 22); // the first from the root cache
      expect(s.num("/flat/c", "memory.kmem.usage_in_bytes")).toBe(0);
      expect(s.num("/tree/c", "memory.kmem.usage_in_bytes")).toBe(4096);
    },
  );
});

import { describe, expect, it } from "vitest";
import { procMeminfo, procSlabinfo } from "../../src/engine/cgroupfs/proc.js";
import { slabinfoLine } from "../../src/engine/cgroupfs/slabinfo.js";
import { MiB, Sim } from "./helpers.js";

/**
 * A small known state: /a (task 42) with 10 anon pages, 5 page-cache pages, 22 dentries (192 B,
 * SLAB_ACCOUNT | SLAB_RECLAIM_ACCOUNT) and 3 kmalloc-256 objects (not accounted from 4.5 on);
 * /a/b idle; /a/c created and removed (nothing pins it, so it is released at once).
 */
function known(model: "v6.18" | "v5.9" | "v4.5" | "v3.8") {
  // exact accounting (no per-CPU page stock): these tests are about the files' formats
  const s = new Sim({ model, cpuCount: 1, memoryBytes: 64 * MiB, chargeBatchPages: 1 });
  s.mkdir("/a", "/a/b");
  // 3.8 and 4.5 (cgroup v1) account kmem only once kmem.limit_in_bytes was written
  if (model === "v3.8" || model === "v4.5") s.write("/a", "memory.kmem.limit_in_bytes", "64M");
  s.dentry();
  s.cache("kmalloc-256", 256);
  s.spawn("/a", { pid: 42 });
  s.pages(42, "anon", 10 * 4096);
  s.pages(42, "file", 5 * 4096);
  s.alloc("dentry", { pid: 42 }, 22);
  s.alloc("kmalloc-256", { pid: 42 }, 3);
  s.mkdir("/a/c");
  s.rmdir("/a/c");
  return s;
}

const HEADER =
  "slabinfo - version: 2.1\n" +
  "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";
const DENTRY_2 =
  "dentry                42     42    192   21    1 : tunables    0    0    0 : slabdata      2      2      0\n";

describe("cgroup v2 files (v6.18 formats)", () => {
  const s = known("v6.18");

  it("prints memory.current and memory.peak in bytes", () => {
    // 10 anon + 5 file + 6 kernel pages: 22 × 200 B of dentries and the statistics of /a/b and of
    // the removed /a/c (not freed yet: no grace period has passed), 2 × 8392 B on one CPU — 21184 B
    // through the obj stock
    expect(s.read("/a", "memory.current")).toBe("86016\n");
    expect(s.read("/a", "memory.peak")).toBe("86016\n");
  });

  it("prints memory.stat in the 6.18 memory_stats[] order with slab after slab_unreclaimable", () => {
    // percpu and slab_unreclaimable: /a/b's and /a/c's statistics, each 5304 B of per-CPU areas
    // (one CPU: 1216, 24 and 528 B, each + an objcg pointer per 4 B) and 3088 B of kmalloc objects
    // (2048 + 8 and 1024 + 8)
    expect(s.read("/a", "memory.stat")).toBe(
      [
        "anon 40960",
        "file 20480",
        "kernel 24576",
        "kernel_stack 0",
        "pagetables 0",
        "sec_pagetables 0",
        "percpu 10608",
        "sock 0",
        "vmalloc 0",
        "shmem 0",
        "zswap 0",
        "zswapped 0",
        "file_mapped 0",
        "file_dirty 0",
        "file_writeback 0",
        "swapcached 0",
        "anon_thp 0",
        "file_thp 0",
        "shmem_thp 0",
        "inactive_anon 40960",
        "active_anon 0",
        "inactive_file 20480",
        "active_file 0",
        "unevictable 0",
        "slab_reclaimable 4400",
        "slab_unreclaimable 6176",
        "slab 10576",
        "workingset_refault_anon 0",
        "workingset_refault_file 0",
        "workingset_activate_anon 0",
        "workingset_activate_file 0",
        "workingset_restore_anon 0",
        "workingset_restore_file 0",
        "workingset_nodereclaim 0",
        "pgdemote_kswapd 0",
        "pgdemote_direct 0",
        "pgdemote_khugepaged 0",
        "pgdemote_proactive 0",
        "pgscan 0",
        "pgsteal 0",
        "pswpin 0",
        "pswpout 0",
        "pgscan_kswapd 0",
        "pgscan_direct 0",
        "pgscan_khugepaged 0",
        "pgscan_proactive 0",
        "pgsteal_kswapd 0",
        "pgsteal_direct 0",
        "pgsteal_khugepaged 0",
        "pgsteal_proactive 0",
        "pgfault 15",
        "pgmajfault 0",
        "pgrefill 0",
        "pgactivate 0",
        "pgdeactivate 0",
        "pglazyfree 0",
        "pglazyfreed 0",
        "swpin_zero 0",
        "swpout_zero 0",
        "zswpin 0",
        "zswpout 0",
        "zswpwb 0",
        "thp_fault_alloc 0",
        "thp_collapse_alloc 0",
        "thp_swpout 0",
        "thp_swpout_fallback 0",
        "",
      ].join("\n"),
    );
  });

  it("prints memory.events and memory.events.local in kernel key order", () => {
    const text = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";
    expect(s.read("/a", "memory.events")).toBe(text);
    expect(s.read("/a", "memory.events.local")).toBe(text);
  });

  it("prints cgroup.stat as 6.x cgroup_stat_show: nr_descendants, nr_subsys_*, nr_dying_descendants, nr_dying_subsys_*", () => {
    expect(s.read("/a", "cgroup.stat")).toBe(
      "nr_descendants 1\nnr_subsys_memory 2\nnr_dying_descendants 0\nnr_dying_subsys_memory 0\n",
    );
    const t = known("v6.18");
    t.mkdir("/a/d");
    const p = t.spawn("/a/d");
    t.pages(p, "file", 4096);
    t.ex({ op: "moveTask", pid: p, cgroup: "/a" });
    t.rmdir("/a/d");
    expect(t.read("/a", "cgroup.stat")).toBe(
      "nr_descendants 1\nnr_subsys_memory 2\nnr_dying_descendants 1\nnr_dying_subsys_memory 1\n",
    );
    expect(t.read("/", "cgroup.stat")).toBe(
      "nr_descendants 2\nnr_subsys_memory 3\nnr_dying_descendants 1\nnr_dying_subsys_memory 1\n",
    );
  });

  it("prints cgroup.procs sorted, cgroup.events and write-only files refuse reads", () => {
    expect(s.read("/a", "cgroup.procs")).toBe("42\n");
    expect(s.read("/a", "cgroup.events")).toBe("populated 1\nfrozen 0\n");
    expect(s.read("/a/b", "cgroup.events")).toBe("populated 0\nfrozen 0\n");
    expect(() => s.read("/a", "memory.reclaim")).toThrowError(/write-only/);
  });

  it("prints the pre-6.11 cgroup.stat (two lines) for the v5.9 model", () => {
    const t = new Sim({ model: "v5.9" });
    t.mkdir("/a", "/a/b");
    expect(t.read("/a", "cgroup.stat")).toBe("nr_descendants 1\nnr_dying_descendants 0\n");
  });
});

describe("cgroup v1 files", () => {
  it("prints v4.5 memory.stat with rss_huge/dirty/writeback, the page_counter unlimited text and total_*", () => {
    const s = known("v4.5");
    // the first dentry went to the root cache while the copy was being created: 21 in one charged slab
    expect(s.read("/a", "memory.usage_in_bytes")).toBe("65536\n");
    expect(s.read("/a", "memory.kmem.usage_in_bytes")).toBe("4096\n");
    const keys = [
      "cache 20480",
      "rss 40960",
      "rss_huge 0",
      "mapped_file 0",
      "dirty 0",
      "writeback 0",
      "pgpgin 15",
      "pgpgout 0",
      "pgfault 0",
      "pgmajfault 0",
      "inactive_anon 0",
      "active_anon 40960",
      "inactive_file 20480",
      "active_file 0",
      "unevictable 0",
    ];
    expect(s.read("/a", "memory.stat")).toBe(
      `${keys.join("\n")}\nhierarchical_memory_limit 9223372036854771712\n${keys.map((k) => `total_${k}`).join("\n")}\n`,
    );
    // 4.5 mem_cgroup_oom_control_read: no oom_kill line (4.13+)
    expect(s.read("/a", "memory.oom_control")).toBe("oom_kill_disable 0\nunder_oom 0\n");
    expect(s.read("/a", "memory.kmem.slabinfo")).toBe(
      `${HEADER}dentry                21     21    192   21    1 : tunables    0    0    0 : slabdata      1      1      0\n`,
    );
  });

  it("prints v3.8 memory.stat without rss_huge/dirty/writeback and the res_counter unlimited text", () => {
    const s = known("v3.8");
    expect(s.read("/a", "memory.usage_in_bytes")).toBe("69632\n");
    expect(s.read("/a", "memory.kmem.usage_in_bytes")).toBe("8192\n");
    const keys = [
      "cache 20480",
      "rss 40960",
      "mapped_file 0",
      "pgpgin 15",
      "pgpgout 0",
      "pgfault 0",
      "pgmajfault 0",
      "inactive_anon 0",
      "active_anon 40960",
      "inactive_file 20480",
      "active_file 0",
      "unevictable 0",
    ];
    expect(s.read("/a", "memory.stat")).toBe(
      `${keys.join("\n")}\nhierarchical_memory_limit 9223372036854775807\n${keys.map((k) => `total_${k}`).join("\n")}\n`,
    );
    expect(s.read("/a", "memory.oom_control")).toBe("oom_kill_disable 0\nunder_oom 0\n");
    // memcg caches print under the root cache's name, newest cache first
    expect(s.read("/a", "memory.kmem.slabinfo")).toBe(
      HEADER +
        "kmalloc-256           16     16    256   16    1 : tunables    0    0    0 : slabdata      1      1      0\n" +
        "dentry                21     21    192   21    1 : tunables    0    0    0 : slabdata      1      1      0\n",
    );
    expect(() => s.read("/a/b", "memory.kmem.slabinfo")).toThrowError(/not active/);
  });

  it("computes the root's usage_in_bytes from cache + rss, without kernel memory", () => {
    for (const model of ["v4.5", "v3.8"] as const)
      expect(known(model).read("/", "memory.usage_in_bytes")).toBe("61440\n");
  });

  it("prints hierarchical_memory_limit as the smallest limit up the hierarchy", () => {
    const s = new Sim({ model: "v4.5" });
    s.mkdir("/a");
    s.write("/a", "memory.use_hierarchy", "1");
    s.mkdir("/a/b");
    s.write("/a", "memory.limit_in_bytes", "8M");
    s.write("/a/b", "memory.limit_in_bytes", "16M");
    expect(s.read("/a/b", "memory.stat")).toContain("\nhierarchical_memory_limit 8388608\n");
  });

  it("prints an empty memory.kmem.slabinfo from 5.9 on", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1 });
    s.mkdir("/a");
    expect(s.read("/a", "memory.kmem.slabinfo")).toBe("");
  });
});

describe("/proc files", () => {
  it("prints /proc/slabinfo with copies summed into their root cache, newest cache first", () => {
    expect(procSlabinfo(known("v5.9").sim)).toBe(
      `${HEADER}kmalloc-256           16     16    256   16    1 : tunables    0    0    0 : slabdata      1      1      0\n${DENTRY_2}`,
    );
    expect(procSlabinfo(known("v3.8").sim)).toBe(
      `${HEADER}kmalloc-256           32     32    256   16    1 : tunables    0    0    0 : slabdata      2      2      0\n${DENTRY_2}`,
    );
  });

  it("subtracts only the node-partial free objects from active_objs, as SLUB's get_slabinfo", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1 });
    s.dentry();
    s.spawn("/", { pid: 7, cpu: 0 });
    const ids: number[] = s.alloc("dentry", { pid: 7 }, 63).objectIds;
    // free 5 from the first (full) slab: it is parked on the CPU partial list (put_cpu_partial),
    // whose free objects count_partial(n, count_free) does not see — still all active
    s.ex({ op: "freeObjects", objectIds: ids.slice(0, 5) });
    const dentry = s.sim.slab.caches.get("dentry")!;
    expect(slabinfoLine("dentry", [dentry.base])).toBe(
      "dentry                63     63    192   21    1 : tunables    0    0    0 : slabdata      3      3      0\n",
    );
    // unfrozen to the node partial list (flush_all of kmem_cache_shrink): its 5 free objects leave active_objs
    s.sim.slab.shrinkInstance(dentry.base);
    expect(slabinfoLine("dentry", [dentry.base])).toBe(
      "dentry                58     63    192   21    1 : tunables    0    0    0 : slabdata      3      3      0\n",
    );
  });

  it("prints the /proc/meminfo lines with 16-wide labels and 8-wide kB values", () => {
    expect(procMeminfo(known("v3.8").sim)).toBe(
      [
        "MemTotal:          65536 kB",
        "MemFree:           65460 kB",
        "MemAvailable:      65488 kB",
        "Buffers:               0 kB",
        "Cached:               20 kB",
        "SwapCached:            0 kB",
        "Active:               40 kB",
        "Inactive:             20 kB",
        "Active(anon):         40 kB",
        "Inactive(anon):        0 kB",
        "Active(file):          0 kB",
        "Inactive(file):       20 kB",
        "Unevictable:           0 kB",
        "Mlocked:               0 kB",
        "SwapTotal:             0 kB",
        "SwapFree:              0 kB",
        "Dirty:                 0 kB",
        "Writeback:             0 kB",
        "AnonPages:            40 kB",
        "Mapped:                0 kB",
        "Shmem:                 0 kB",
        "KReclaimable:          8 kB",
        "Slab:                 16 kB",
        "SReclaimable:          8 kB",
        "SUnreclaim:            8 kB",
        "",
      ].join("\n"),
    );
  });
});

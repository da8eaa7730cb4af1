import { memcgAllocChargeBytes } from "../memcg-alloc.js";
import type { Era } from "./era.js";
import { ERAS, MODEL_NAMES } from "./eras.js";

/** One row per era property shown in docs/MODELS.md; the text comes from the eras' own data. */
const ROWS: [string, (e: Era) => string][] = [
  ["what it is", (e) => e.title],
  ["kernel source followed", (e) => e.kernelSource],
  [
    "charge path",
    (e) => (e.modern ? "4.5+ try_charge (try_charge_memcg from 5.13)" : "3.x mem_cgroup_do_charge"),
  ],
  ["limit counter", (e) => e.counter],
  [
    "v1 `kmem` counter",
    (e) =>
      ({
        seed: "the RFC's own (kmemIndependentAccounting)",
        subset: "kmem pages, also charged to memory",
        mirror: "mirror of kernel pages charged to memory",
      })[e.kmemCounter],
  ],
  [
    "v1 `memory.kmem.limit_in_bytes` write",
    (e) =>
      ({
        limit: "sets the kmem limit",
        activate: e.kmemActivateOnMax
          ? "first write (even -1) activates kmem accounting"
          : "first finite write activates kmem accounting",
        unenforced: "stored, not enforced",
        ignored: "accepted and dropped",
      })[e.kmemLimit],
  ],
  [
    "v1 `memory.kmem.slabinfo`",
    (e) =>
      ({
        absent: "no such file",
        "active-only": "EIO until kmem is active",
        copies: "the cgroup's cache copies",
        empty: "empty",
      })[e.kmemSlabinfo],
  ],
  ["cgroup v2", (e) => (e.cgroupV2 ? "yes" : "no")],
  ["default cgroup version", (e) => `v${e.defaultCgroupVersion}`],
  ["`use_hierarchy`", (e) => (e.hierarchyAlways ? "always 1" : "0 or 1")],
  ["default `chargeBatchPages`", (e) => String(e.defaults.chargeBatchPages)],
  ["default `maxReclaimRetries`", (e) => String(e.defaults.maxReclaimRetries)],
  ["memcgs per CPU page stock", (e) => String(e.nrMemcgStock)],
  [
    "v1 `memory.oom_control` `oom_kill` line (4.13, 8e675f7af507)",
    (e) => (e.oomControlOomKill ? "yes" : "no"),
  ],
  ["v2 `memory.events` keys (`__memory_events_show`)", (e) => (e.cgroupV2 ? e.v2EventKeys.join(", ") : "—")],
  [
    "v2 `memory.peak` (5.19, 8e20d4b33266) / write (6.12, c6f53ed8f213)",
    (e) =>
      !e.cgroupV2 || !e.v2Files.includes("memory.peak")
        ? "no such file"
        : e.peakResetPerFd
          ? "per-descriptor watermark"
          : "read-only",
  ],
  [
    "v2 `memory.reclaim` (5.19, 94968384dde1)",
    (e) => (e.cgroupV2 && e.v2Files.includes("memory.reclaim") ? "yes" : "no"),
  ],
  [
    "`cgroup.stat` (4.14, ec39225cca42)",
    (e) =>
      !e.cgroupV2 || !e.v2Files.includes("cgroup.stat")
        ? "no such file"
        : e.cgroupStatPerSubsys
          ? "with nr_subsys_* (6.11, ab0312526867)"
          : "nr_descendants, nr_dying_descendants",
  ],
  [
    "`/proc/slabinfo` copies ([PATCH v6 26/29] Aggregate memcg cache values in slabinfo, 3.8)",
    (e) => (e.slabinfoAggregatesCopies ? "summed into the root cache's line" : "a line per copy"),
  ],
  [
    "SLUB per-CPU partial list bound (b47291ef02b0, 5.16)",
    (e) =>
      e.cpuPartial === "objects"
        ? "`cpu_partial` objects (30 for 192 B)"
        : "`cpu_partial_slabs` slabs (12 for 192 B, 21 a slab)",
  ],
  [
    "user page tables charged (4.8, 3e79ec7ddcb2) / pgd of a fork",
    (e) => `${e.pageTablesAccounted ? "yes" : "no"} / ${4 << e.pgdOrder} KiB`,
  ],
  [
    "a new cgroup's statistics charged to its parent (3c7be18ac9a0, 5.9), bytes on 2 CPUs: percpu + slab",
    (e) => {
      if (e.memcgAlloc === null) return "none";
      let percpu = 0;
      let slab = 0;
      for (const i of e.memcgAlloc.items) {
        const bytes = memcgAllocChargeBytes(i, 2, e.memcgAlloc.percpuObjcgPointers);
        if (i.kind === "kmalloc") slab += bytes;
        else percpu += bytes;
      }
      return `${percpu} + ${slab}`;
    },
  ],
  [
    "page tables in the OOM badness (dc6c9a35b66b 4.0, b4e98d9ac775 4.15)",
    (e) => ["pte", "pte + pmd", "pte + pmd + pud"][e.oomBadnessTableLevels - 1],
  ],
  [
    "v1 socket memory (`kmem.tcp.*`) accounted once (row 23)",
    (e) =>
      ({
        "any-limit": "any cgroup's tcp limit < max",
        "own-limit": "its own tcp limit < max",
        "own-write": "its tcp limit is written",
      })[e.tcpActivation],
  ],
  [
    "socket charge over a limit (row 23)",
    (e) =>
      ({
        nofail: "charged, pressure (res_counter_charge_nofail)",
        force: "charged, returns false",
        fail: "not charged, returns false (`__GFP_NOFAIL`: charged)",
      })[e.sockCharge] +
      (e.cgroupV2 ? `; v2 uncharge to the ${e.sockUncharge === "stock" ? "page stock" : "counter"}` : ""),
  ],
  ["v1 files", (e) => String(e.v1Files.length)],
  ["v2 files", (e) => (e.cgroupV2 ? String(e.v2Files.length) : "—")],
  ["v1 `memory.stat` keys (local)", (e) => String(e.v1StatKeys.length)],
  ["v2 `memory.stat` keys", (e) => (e.cgroupV2 ? String(e.v2StatKeys.length) : "—")],
];

/** The markdown table of every model's era, generated from the MODELS table (docs/MODELS.md embeds it). */
export function eraTableMarkdown(): string {
  const head = `| | ${MODEL_NAMES.map((n) => `\`${n}\``).join(" | ")} |`;
  const rule = `|---|${MODEL_NAMES.map(() => "---").join("|")}|`;
  const body = ROWS.map(([label, f]) => `| ${label} | ${MODEL_NAMES.map((n) => f(ERAS[n])).join(" | ")} |`);
  return [head, rule, ...body].join("\n");
}

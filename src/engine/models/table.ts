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

import { drainAllStock, newOutcome } from "../charge.js";
import {
  type Cgroup,
  EVENT_KEYS,
  STAT_ANON_PAGES,
  STAT_FILE_PAGES,
  STAT_PGPGIN,
  STAT_PGPGOUT,
} from "../cgroup.js";
import { fail } from "../errors.js";
import type { Instance } from "../instance.js";
import { outOfMemory } from "../oom.js";
import { UNLIMITED } from "../page-counter.js";
import { memoryReclaim, newReclaimStats, subtree, tryToFreeMemcgPages } from "../reclaim.js";
import { usagePages } from "../views.js";
import { memparse, parseLimitPages, parseUint, v1LimitText, v2LimitText } from "./parse.js";
import { SLABINFO_HEADER, slabinfoLine } from "./slabinfo.js";
import { v2MemoryStat } from "./v2-stat.js";

const PAGE = 4096;

export const V1_FILES = [
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
  "cgroup.procs",
  "tasks",
] as const;

export const V2_FILES = [
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

/** v2 files present on the root cgroup (DOMAIN §3.2: all memory files but stat/reclaim are absent there). */
const V2_ROOT_FILES = new Set(["memory.stat", "memory.reclaim", "cgroup.procs", "cgroup.stat"]);

/** Files of this instance's cgroup version that exist on `cg`; ENOENT otherwise. */
function checkExists(sim: Instance, cg: Cgroup, file: string): void {
  if (sim.config.cgroupVersion === 1) {
    if (!(V1_FILES as readonly string[]).includes(file)) fail("ENOENT", `${file}: no such file in cgroup v1`, { file });
    // the seed predates memory.kmem.slabinfo (3.8)
    if (file === "memory.kmem.slabinfo" && sim.config.model === "rfc-2012") fail("ENOENT", `${file}: no such file before 3.8`, { file });
  } else {
    if (!(V2_FILES as readonly string[]).includes(file)) fail("ENOENT", `${file}: no such file in cgroup v2`, { file });
    if (cg.isRoot && !V2_ROOT_FILES.has(file)) fail("ENOENT", `${file}: not present on the root cgroup`, { file });
  }
}

const resEra = (sim: Instance) => sim.config.model === "rfc-2012" || sim.config.model === "v3.8";

// ===== reads ======================================================================================

/** Reads a cgroupfs file byte-for-byte as the era's kernel prints it (API.md §7, DOMAIN §3). */
export function readCgroupFile(sim: Instance, cg: Cgroup, file: string): string {
  checkExists(sim, cg, file);
  const res = resEra(sim);
  switch (file) {
    case "memory.usage_in_bytes":
      return `${usagePages(cg) * PAGE}\n`;
    case "memory.max_usage_in_bytes":
      return `${cg.memory.watermark * PAGE}\n`;
    case "memory.limit_in_bytes":
      return `${v1LimitText(cg.memory.max, res)}\n`;
    case "memory.soft_limit_in_bytes":
      return `${v1LimitText(cg.softLimitPages, res)}\n`;
    case "memory.failcnt":
      return `${cg.memory.failcnt}\n`;
    case "memory.use_hierarchy":
      return `${cg.useHierarchy ? 1 : 0}\n`;
    case "memory.move_charge_at_immigrate":
      return `${cg.moveChargeAtImmigrate}\n`;
    case "memory.oom_control":
      return `oom_kill_disable ${cg.oomKillDisable ? 1 : 0}\nunder_oom 0\n${sim.modern ? `oom_kill ${cg.eventsLocal[4]}\n` : ""}`;
    case "memory.kmem.usage_in_bytes":
      return `${cg.kmem.usage * PAGE}\n`;
    case "memory.kmem.max_usage_in_bytes":
      return `${cg.kmem.watermark * PAGE}\n`;
    case "memory.kmem.limit_in_bytes":
      return `${v1LimitText(cg.kmem.max, res)}\n`;
    case "memory.kmem.failcnt":
      return `${cg.kmem.failcnt}\n`;
    case "memory.kmem.slabinfo":
      return kmemSlabinfo(sim, cg);
    case "memory.stat":
      return sim.config.cgroupVersion === 1 ? v1MemoryStat(sim, cg) : v2MemoryStat(sim, cg);
    case "cgroup.procs":
    case "tasks":
      return [...cg.tasks].sort((a, b) => a - b).map((p) => `${p}\n`).join("");
    case "memory.force_empty":
    case "memory.reclaim":
      return fail("EINVAL", `${file} is write-only`, { file });
    case "memory.current":
      return `${cg.memory.usage * PAGE}\n`;
    case "memory.max":
      return `${v2LimitText(cg.memory.max)}\n`;
    case "memory.high":
      return `${v2LimitText(cg.highPages)}\n`;
    case "memory.low":
      return `${v2LimitText(cg.lowPages)}\n`;
    case "memory.min":
      return `${v2LimitText(cg.minPages)}\n`;
    case "memory.peak":
      return `${cg.memory.watermark * PAGE}\n`;
    case "memory.events":
      return EVENT_KEYS.map((k, i) => `${k} ${cg.events[i]}\n`).join("");
    case "memory.events.local":
      return EVENT_KEYS.map((k, i) => `${k} ${cg.eventsLocal[i]}\n`).join("");
    case "memory.oom.group":
      return `${cg.oomGroup ? 1 : 0}\n`;
    case "cgroup.stat":
      return cgroupStat(sim, cg);
    case "cgroup.events": {
      const populated = subtree(cg).some((c) => c.tasks.size > 0) ? 1 : 0;
      return `populated ${populated}\nfrozen 0\n`;
    }
  }
  return fail("ENOENT", `${file}: no such file`, { file });
}

function cgroupStat(sim: Instance, cg: Cgroup): string {
  let live = 0;
  let dying = 0;
  for (const c of subtree(cg)) {
    if (c === cg) continue;
    if (c.state === "online") live++;
    else dying++;
  }
  if (sim.config.model !== "v5.9") return `nr_descendants ${live}\nnr_dying_descendants ${dying}\n`;
  // 6.11+: per-controller live/dying css counts follow (memory is the only controller simulated);
  // nr_subsys_memory counts this cgroup's own css too
  const self = cg.state === "online" ? 1 : 0;
  return `nr_descendants ${live}\nnr_subsys_memory ${live + self}\nnr_dying_descendants ${dying}\nnr_dying_subsys_memory ${dying}\n`;
}

function kmemSlabinfo(sim: Instance, cg: Cgroup): string {
  if (sim.config.model === "v5.9") return ""; // 5.9: deprecated, prints nothing
  if (sim.config.model === "v3.8" && !cg.kmemActive) fail("EIO", "kmem accounting is not active in this cgroup", { file: "memory.kmem.slabinfo" });
  let out = SLABINFO_HEADER;
  const caches = [...sim.slab.caches.values()].reverse();
  for (const cache of caches) {
    if (cg.isRoot) {
      out += slabinfoLine(cache.name, [cache.base]);
      continue;
    }
    const inst = cache.children.get(cg.id);
    if (inst !== undefined && inst.state !== "pending") out += slabinfoLine(cache.name, [inst]);
  }
  return out;
}

/** v1 `memory.stat` (DOMAIN §3.1): the era's keys, hierarchical_memory_limit, then total_* sums. */
function v1MemoryStat(sim: Instance, cg: Cgroup): string {
  const model = sim.config.model;
  const anonFirstInactive = model === "v5.9";
  const rows = (a: Float64Array): [string, number][] => {
    const anon = a[STAT_ANON_PAGES] * PAGE;
    const file = a[STAT_FILE_PAGES] * PAGE;
    const stats: [string, number][] = [["cache", file], ["rss", anon]];
    if (model === "v4.5" || model === "v5.9") stats.push(["rss_huge", 0]);
    if (model === "v5.9") stats.push(["shmem", 0]);
    stats.push(["mapped_file", 0]);
    if (model === "v4.5" || model === "v5.9") stats.push(["dirty", 0], ["writeback", 0]);
    if (model === "v5.9") stats.push(["workingset_refault_anon", 0], ["workingset_refault_file", 0]);
    stats.push(["pgpgin", a[STAT_PGPGIN]], ["pgpgout", a[STAT_PGPGOUT]], ["pgfault", 0], ["pgmajfault", 0]);
    stats.push(
      ["inactive_anon", anonFirstInactive ? anon : 0],
      ["active_anon", anonFirstInactive ? 0 : anon],
      ["inactive_file", file],
      ["active_file", 0],
      ["unevictable", 0],
    );
    return stats;
  };
  let limit = Number.POSITIVE_INFINITY;
  for (let c: Cgroup | null = cg; c !== null; c = c.parent) {
    if (!c.isRoot) limit = Math.min(limit, c.memory.max);
    if (!c.useHierarchy && c !== cg) break;
    if (c.memory.parent === null) break;
  }
  let out = "";
  for (const [k, v] of rows(cg.statLocal)) out += `${k} ${v}\n`;
  out += `hierarchical_memory_limit ${v1LimitText(limit, resEra(sim))}\n`;
  for (const [k, v] of rows(cg.statHier)) out += `total_${k} ${v}\n`;
  return out;
}

// ===== writes =====================================================================================

/**
 * `echo value > file` on `cg` (API.md §7) with the era's parsing and errnos. With `dryRun` only
 * validates (file exists, value parses, the write is allowed now) and changes nothing, so a
 * multi-field PATCH is all-or-nothing.
 */
export function writeCgroupFile(sim: Instance, cg: Cgroup, file: string, raw: string, dryRun: boolean): void {
  checkExists(sim, cg, file);
  const value = raw.trim();
  const res = resEra(sim);
  const notRoot = () => {
    if (cg.isRoot) fail("EINVAL", `${file} cannot be written on the root cgroup`, { file });
  };
  switch (file) {
    case "memory.limit_in_bytes": {
      notRoot();
      const p = parseLimitPages(value, res, "-1");
      if (!dryRun) v1SetLimit(sim, cg, p);
      return;
    }
    case "memory.soft_limit_in_bytes": {
      const p = parseLimitPages(value, res, "-1");
      if (!dryRun) cg.softLimitPages = p;
      return;
    }
    case "memory.kmem.limit_in_bytes": {
      notRoot();
      const p = parseLimitPages(value, res, "-1");
      v1SetKmemLimit(sim, cg, p, dryRun);
      return;
    }
    case "memory.max_usage_in_bytes":
      if (!dryRun) cg.memory.watermark = cg.memory.usage;
      return;
    case "memory.kmem.max_usage_in_bytes":
      if (!dryRun) cg.kmem.watermark = cg.kmem.usage;
      return;
    case "memory.failcnt":
      if (!dryRun) cg.memory.failcnt = 0;
      return;
    case "memory.kmem.failcnt":
      if (!dryRun) cg.kmem.failcnt = 0;
      return;
    case "memory.use_hierarchy": {
      const v = parseUint(value);
      if (v > 1) fail("EINVAL", "use_hierarchy takes 0 or 1", { file });
      setUseHierarchy(sim, cg, v === 1, dryRun);
      return;
    }
    case "memory.move_charge_at_immigrate": {
      const v = parseUint(value);
      if (v >= 4) fail("EINVAL", "move_charge_at_immigrate takes a bitmask below 4", { file });
      if (!dryRun) cg.moveChargeAtImmigrate = v;
      return;
    }
    case "memory.oom_control": {
      const v = parseUint(value);
      if (cg.isRoot || v > 1) fail("EINVAL", "oom_control takes 0 or 1, not on the root", { file });
      if (!dryRun) cg.oomKillDisable = v === 1;
      return;
    }
    case "memory.force_empty":
      notRoot();
      if (!sim.modern && (cg.tasks.size > 0 || cg.children.size > 0)) fail("EBUSY", "force_empty needs a cgroup without tasks or children", { file });
      if (!dryRun) forceEmpty(sim, cg);
      return;
    case "cgroup.procs":
    case "tasks": {
      const pid = parseUint(value);
      if (!sim.tasks.has(pid)) fail("EINVAL", `no task ${pid}`, { file });
      if (cg.state !== "online") fail("ENOENT", "cgroup is being removed", { file });
      if (!dryRun) sim.moveTask(pid, cg.path);
      return;
    }
    case "memory.max": {
      const p = parseLimitPages(value, false, "max");
      if (!dryRun) v2SetMax(sim, cg, p);
      return;
    }
    case "memory.high": {
      const p = parseLimitPages(value, false, "max");
      if (!dryRun) v2SetHigh(sim, cg, p);
      return;
    }
    case "memory.low": {
      const p = parseLimitPages(value, false, "max");
      if (!dryRun) cg.lowPages = p;
      return;
    }
    case "memory.min": {
      const p = parseLimitPages(value, false, "max");
      if (!dryRun) cg.minPages = p;
      return;
    }
    case "memory.peak":
      if (value === "") fail("EINVAL", "memory.peak needs a non-empty write", { file });
      if (!dryRun) cg.memory.watermark = cg.memory.usage;
      return;
    case "memory.oom.group": {
      const v = parseUint(value);
      if (v > 1) fail("EINVAL", "memory.oom.group takes 0 or 1", { file });
      if (!dryRun) cg.oomGroup = v === 1;
      return;
    }
    case "memory.reclaim": {
      const m = /^(\S+)(?:\s+swappiness=(\d+|max))?$/.exec(value);
      if (m === null) fail("EINVAL", `invalid memory.reclaim request "${value}"`, { file });
      if (m[2] !== undefined && m[2] !== "max" && Number(m[2]) > 200) fail("EINVAL", "swappiness must be 0..200 or max", { file });
      const nr = Number(memparse(m[1]) / 4096n);
      if (!dryRun) {
        const r = memoryReclaim(sim, cg, nr, newReclaimStats());
        if (r.eagain) fail("EAGAIN", `memory.reclaim reclaimed ${r.reclaimed * PAGE} of ${nr * PAGE} bytes`, { file, reclaimedBytes: r.reclaimed * PAGE });
      }
      return;
    }
  }
  fail("EINVAL", `${file} is read-only`, { file });
}

/**
 * v1 `limit_in_bytes` (DOMAIN §9.4): set_limit fails with EBUSY while usage is above it; the
 * kernel then reclaims and retries — 3.x up to 5 × (cgroups in the subtree) rounds that made no
 * progress, 4.x+ until a reclaim pass frees nothing.
 */
function v1SetLimit(sim: Instance, cg: Cgroup, p: number): void {
  if (cg.memory.setMax(p)) return;
  drainAllStock(sim, cg);
  if (cg.memory.setMax(p)) return;
  if (resEra(sim)) {
    let retries = 5 * subtree(cg).length;
    let old = cg.memory.usage;
    while (retries > 0) {
      tryToFreeMemcgPages(sim, cg, 1, null);
      if (cg.memory.setMax(p)) return;
      const cur = cg.memory.usage;
      if (cur >= old) retries--;
      else old = cur;
    }
    fail("EBUSY", `usage ${cg.memory.usage * PAGE} cannot be reclaimed below the new limit`, { file: "memory.limit_in_bytes" });
  }
  for (;;) {
    if (tryToFreeMemcgPages(sim, cg, 1, null) === 0)
      fail("EBUSY", `usage ${cg.memory.usage * PAGE} cannot be reclaimed below the new limit`, { file: "memory.limit_in_bytes" });
    if (cg.memory.setMax(p)) return;
  }
}

/**
 * v1 `kmem.limit_in_bytes` by era (DOMAIN §3.1, §6.2): the seed sets the kmem counter's limit;
 * 3.8 activates accounting on the first finite write (EBUSY with tasks or, hierarchically,
 * children) and children of an active cgroup are born active; 4.x sets the limit (EBUSY below
 * usage, no reclaim); 5.16+ (our v5.9) accepts the value without enforcing it.
 */
function v1SetKmemLimit(sim: Instance, cg: Cgroup, p: number, dryRun: boolean): void {
  const model = sim.config.model;
  if (model === "v5.9") {
    if (!dryRun) cg.kmem.max = p; // stored and printed; the C model's kmem mirror never enforces it
    return;
  }
  // DOMAIN §6.2 marks "only a finite value activates" as unverified. Decision: follow the 3.8
  // code as remembered (memcg_update_kmem_limit activates only when `val != RESOURCE_MAX`), so
  // `echo -1` on an inactive cgroup is accepted and changes nothing.
  if (model === "v3.8" && !cg.kmemActive && p !== Number.POSITIVE_INFINITY) {
    if (cg.tasks.size > 0 || (cg.useHierarchy && cg.children.size > 0))
      fail("EBUSY", "kmem accounting can only be activated in a cgroup without tasks or children", { file: "memory.kmem.limit_in_bytes" });
    if (dryRun) return;
    sim.activateKmem(cg);
  }
  if (cg.kmem.usage > p) fail("EBUSY", "kmem usage is above the new limit", { file: "memory.kmem.limit_in_bytes" });
  if (!dryRun) cg.kmem.setMax(p);
}

/** 2.3: `use_hierarchy` may change only while the parent does not have it and there are no children. */
function setUseHierarchy(sim: Instance, cg: Cgroup, on: boolean, dryRun: boolean): void {
  if (sim.config.model === "v5.9") {
    // 5.11+: the non-hierarchical mode is gone; writing 1 is accepted, 0 refused
    if (!on) fail("EINVAL", "non-hierarchical mode is not supported (5.11+)", { file: "memory.use_hierarchy" });
    return;
  }
  if (cg.useHierarchy === on) return;
  if (cg.parent !== null && cg.parent.useHierarchy) fail("EINVAL", "the parent has use_hierarchy set", { file: "memory.use_hierarchy" });
  if (cg.children.size > 0 || cg.dyingChildren.length > 0) fail("EBUSY", "use_hierarchy cannot change with children", { file: "memory.use_hierarchy" });
  if (!dryRun) cg.useHierarchy = on;
}

/** `memory.force_empty` (DOMAIN §9.3): reclaim until empty or 5 fruitless rounds; 3.x then moves LRU charges up. */
function forceEmpty(sim: Instance, cg: Cgroup): void {
  drainAllStock(sim, cg);
  let retries = 5;
  while (retries > 0 && cg.memory.usage > 0) {
    if (tryToFreeMemcgPages(sim, cg, 1, null) === 0) retries--;
  }
}

/** v2 `memory.max` write (DOMAIN §3.2): install, drain, 16 reclaim failures, then OOM-kill until under. */
function v2SetMax(sim: Instance, cg: Cgroup, p: number): void {
  if (cg.memory.usage > p) cg.memory.maxSetBelowUsage = true;
  cg.memory.max = p;
  let drained = false;
  let reclaims = 16;
  for (let guard = 0; guard < 100_000; guard++) {
    if (cg.memory.usage <= p) return;
    if (!drained) {
      drainAllStock(sim, cg);
      drained = true;
      continue;
    }
    if (reclaims > 0) {
      if (tryToFreeMemcgPages(sim, cg, cg.memory.usage - p, null) === 0) reclaims--;
      continue;
    }
    if (!outOfMemory(sim, cg, { task: null, cpu: 0, gfp: 1, out: newOutcome() })) return;
  }
}

/** v2 `memory.high` write: install, then reclaim down to it (never OOM), 16 fruitless tries. */
function v2SetHigh(sim: Instance, cg: Cgroup, p: number): void {
  cg.highPages = p;
  if (p !== UNLIMITED) sim.highLimitSet = true;
  let drained = false;
  let retries = 16;
  for (let guard = 0; guard < 100_000; guard++) {
    const usage = cg.memory.usage;
    if (usage <= p) return;
    if (!drained) {
      drainAllStock(sim, cg);
      drained = true;
      continue;
    }
    if (tryToFreeMemcgPages(sim, cg, usage - p, null) === 0 && retries-- === 0) return;
  }
}

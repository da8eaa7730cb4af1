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
import type { Era } from "../models/era.js";
import type { Sim } from "../sim.js";
import { outOfMemory } from "../oom.js";
import { UNLIMITED } from "../page-counter.js";
import { memoryReclaim, newReclaimStats, subtree, tryToFreeMemcgPages } from "../reclaim.js";
import { usagePages } from "../views.js";
import { memparse, parseLimitPages, parseUint, v1LimitText, v2LimitText } from "./parse.js";
import { SLABINFO_HEADER, slabinfoLine } from "./slabinfo.js";
import { v2MemoryStat } from "./v2-stat.js";
import { PAGE_SIZE as PAGE } from "../page.js";

/**
 * One cgroupfs file, as the kernel's `struct cftype` rows of `mem_cgroup_legacy_files[]` (v1) and
 * `memory_files[]` (v2): its name, where it exists, how it reads, and how a write is validated.
 * `write` validates the value against the current state and returns the write's effect (run it to
 * apply; a dry run — one field of an all-or-nothing PATCH — drops it). A missing `read` is EINVAL
 * on read (write-only files), a missing `write` EINVAL on write (read-only files).
 */
export interface Cftype {
  readonly name: string;
  /** CFTYPE_NOT_ON_ROOT: the root cgroup has no such file. */
  readonly notOnRoot?: boolean;
  readonly read?: (sim: Sim, cg: Cgroup) => string;
  readonly write?: (sim: Sim, cg: Cgroup, value: string) => () => void;
}

const none = () => {};

const notRoot = (cg: Cgroup, file: string) => {
  if (cg.isRoot) fail("EINVAL", `${file} cannot be written on the root cgroup`, { file });
};

const resCounter = (sim: Sim) => sim.era.counter === "res_counter";

/** The v1 files of every era; `Era.v1Files` says which exist in which era. */
const V1_TABLE: readonly Cftype[] = [
  {
    name: "memory.usage_in_bytes",
    read: (_sim, cg) => `${usagePages(cg) * PAGE}\n`,
  },
  {
    name: "memory.max_usage_in_bytes",
    read: (_sim, cg) => `${cg.memory.watermark * PAGE}\n`,
    write: (_sim, cg) => () => {
      cg.memory.watermark = cg.memory.usage;
    },
  },
  {
    name: "memory.limit_in_bytes",
    read: (sim, cg) => `${v1LimitText(cg.memory.max, resCounter(sim))}\n`,
    write: (sim, cg, value) => {
      notRoot(cg, "memory.limit_in_bytes");
      const p = parseLimitPages(value, resCounter(sim), "-1");
      // mem_cgroup_resize_max(memsw = false): the memory limit may not exceed the memsw limit
      if (p > cg.memswMaxPages)
        fail("EINVAL", "memory.limit_in_bytes cannot exceed memory.memsw.limit_in_bytes", {
          file: "memory.limit_in_bytes",
        });
      return () => v1SetLimit(sim, cg, p);
    },
  },
  {
    name: "memory.soft_limit_in_bytes",
    read: (sim, cg) => `${v1LimitText(cg.softLimitPages, resCounter(sim))}\n`,
    write: (sim, cg, value) => {
      const p = parseLimitPages(value, resCounter(sim), "-1");
      return () => {
        cg.softLimitPages = p;
      };
    },
  },
  {
    name: "memory.failcnt",
    read: (_sim, cg) => `${cg.memory.failcnt}\n`,
    write: (_sim, cg) => () => {
      cg.memory.failcnt = 0;
    },
  },
  {
    name: "memory.stat",
    read: (sim, cg) => v1MemoryStat(sim, cg),
  },
  {
    name: "memory.use_hierarchy",
    read: (_sim, cg) => `${cg.useHierarchy ? 1 : 0}\n`,
    write: (sim, cg, value) => {
      const v = parseUint(value);
      if (v > 1) fail("EINVAL", "use_hierarchy takes 0 or 1", { file: "memory.use_hierarchy" });
      return setUseHierarchy(sim, cg, v === 1);
    },
  },
  {
    name: "memory.force_empty",
    write: (sim, cg) => {
      notRoot(cg, "memory.force_empty");
      if (!sim.era.modern && (cg.tasks.size > 0 || cg.children.size > 0))
        fail("EBUSY", "force_empty needs a cgroup without tasks or children", { file: "memory.force_empty" });
      return () => forceEmpty(sim, cg);
    },
  },
  {
    name: "memory.move_charge_at_immigrate",
    read: (_sim, cg) => `${cg.moveChargeAtImmigrate}\n`,
    write: (sim, cg, value) => {
      const v = parseUint(value);
      if (v >= 4)
        fail("EINVAL", "move_charge_at_immigrate takes a bitmask below 4", {
          file: "memory.move_charge_at_immigrate",
        });
      // 6.x after the charge-moving code was removed (mem_cgroup_move_charge_write): anything but 0 is EINVAL
      if (sim.era.moveChargeRemoved && v !== 0)
        fail("EINVAL", "charge moving is no longer supported", { file: "memory.move_charge_at_immigrate" });
      return () => {
        cg.moveChargeAtImmigrate = v;
      };
    },
  },
  {
    name: "memory.oom_control",
    read: (sim, cg) =>
      `oom_kill_disable ${cg.oomKillDisable ? 1 : 0}\nunder_oom 0\n${sim.era.oomControlOomKill ? `oom_kill ${cg.eventsLocal[4]}\n` : ""}`,
    write: (_sim, cg, value) => {
      const v = parseUint(value);
      if (cg.isRoot || v > 1)
        fail("EINVAL", "oom_control takes 0 or 1, not on the root", { file: "memory.oom_control" });
      return () => {
        cg.oomKillDisable = v === 1;
      };
    },
  },
  {
    name: "memory.kmem.usage_in_bytes",
    read: (_sim, cg) => `${cg.kmem.usage * PAGE}\n`,
  },
  {
    name: "memory.kmem.max_usage_in_bytes",
    read: (_sim, cg) => `${cg.kmem.watermark * PAGE}\n`,
    write: (_sim, cg) => () => {
      cg.kmem.watermark = cg.kmem.usage;
    },
  },
  {
    name: "memory.kmem.limit_in_bytes",
    read: (sim, cg) => `${v1LimitText(cg.kmem.max, resCounter(sim))}\n`,
    write: (sim, cg, value) => {
      notRoot(cg, "memory.kmem.limit_in_bytes");
      const p = parseLimitPages(value, resCounter(sim), "-1");
      return v1SetKmemLimit(sim, cg, p);
    },
  },
  {
    name: "memory.kmem.failcnt",
    read: (_sim, cg) => `${cg.kmem.failcnt}\n`,
    write: (_sim, cg) => () => {
      cg.kmem.failcnt = 0;
    },
  },
  {
    name: "memory.kmem.slabinfo",
    read: (sim, cg) => kmemSlabinfo(sim, cg),
  },
  {
    name: "memory.memsw.usage_in_bytes",
    // mem_cgroup_usage(memcg, true): no swap is simulated, so memsw usage is memory usage
    read: (_sim, cg) => `${usagePages(cg) * PAGE}\n`,
  },
  {
    name: "memory.memsw.max_usage_in_bytes",
    read: (_sim, cg) => `${cg.memory.memswWatermark * PAGE}\n`,
    write: (_sim, cg) => () => {
      cg.memory.memswWatermark = cg.memory.usage;
    },
  },
  {
    name: "memory.memsw.limit_in_bytes",
    read: (sim, cg) => `${v1LimitText(cg.memswMaxPages, resCounter(sim))}\n`,
    write: (sim, cg, value) => {
      notRoot(cg, "memory.memsw.limit_in_bytes");
      const p = parseLimitPages(value, resCounter(sim), "-1");
      // mem_cgroup_resize_max(memsw = true): the memsw limit may not go below the memory limit
      if (p < cg.memory.max)
        fail("EINVAL", "memory.memsw.limit_in_bytes cannot be below memory.limit_in_bytes", {
          file: "memory.memsw.limit_in_bytes",
        });
      return () => {
        v1Resize(sim, cg, "memory.memsw.limit_in_bytes", () => {
          if (cg.memory.usage > p) return false;
          cg.memswMaxPages = p;
          if (p !== UNLIMITED) sim.memswLimitSet = true;
          return true;
        });
      };
    },
  },
  {
    name: "memory.memsw.failcnt",
    read: (_sim, cg) => `${cg.memswFailcnt}\n`,
    write: (_sim, cg) => () => {
      cg.memswFailcnt = 0;
    },
  },
  {
    name: "memory.kmem.tcp.limit_in_bytes",
    read: (sim, cg) => `${v1LimitText(cg.tcpMaxPages, resCounter(sim))}\n`,
    write: (sim, cg, value) => {
      // 3.x tcp_update_limit: tcp_proto_cgroup(root) is NULL → -EINVAL; 4.5+ mem_cgroup_write
      // RES_LIMIT: "Can't set limit on root" → -EINVAL
      notRoot(cg, "memory.kmem.tcp.limit_in_bytes");
      const p = parseLimitPages(value, resCounter(sim), "-1");
      // 3.x res_counter_set_limit / 4.5+ page_counter_limit (6.x page_counter_set_max): EBUSY
      // below the counter's usage
      if (p < cg.tcpUsagePages) fail("EBUSY", "memory.kmem.tcp.limit_in_bytes: usage above the new limit");
      return () => {
        cg.tcpMaxPages = p;
        // 4.5+ memcg_update_tcp_limit (6.x memcontrol-v1.c:memcg1_update_tcp_max): the first
        // write, whatever the value, sets tcpmem_active (static_branch_inc(&memcg_sockets_enabled_key));
        // 3.x keeps no flag (the limit itself decides, Era.tcpActivation)
        cg.tcpActive = true;
      };
    },
  },
  {
    name: "memory.kmem.tcp.usage_in_bytes",
    // 3.x tcp_read_usage: for the root (no cg_proto) the global tcp_memory_allocated, which the
    // simulator keeps in the root's counter (sock-mem.ts); 4.5+ page_counter_read(&memcg->tcpmem)
    read: (_sim, cg) => `${cg.tcpUsagePages * PAGE}\n`,
  },
  {
    name: "memory.kmem.tcp.failcnt",
    read: (_sim, cg) => `${cg.tcpFailcnt}\n`,
    write: (_sim, cg) => () => {
      cg.tcpFailcnt = 0;
    },
  },
  {
    name: "memory.kmem.tcp.max_usage_in_bytes",
    read: (_sim, cg) => `${cg.tcpWatermarkPages * PAGE}\n`,
    write: (sim, cg) => () => {
      // 3.x tcp_cgroup_reset: the root has no cg_proto, nothing to reset (its max_usage reads 0)
      if (cg.isRoot && sim.era.sockCharge === "nofail") return;
      cg.tcpWatermarkPages = cg.tcpUsagePages;
    },
  },
  {
    name: "memory.swappiness",
    read: (_sim, cg) => `${cg.swappiness}\n`,
    write: (_sim, cg, value) => {
      // mem_cgroup_swappiness_write: u64, at most MAX_SWAPPINESS (200)
      const v = parseUint(value);
      if (v > 200) fail("EINVAL", "swappiness takes 0..200", { file: "memory.swappiness" });
      return () => {
        cg.swappiness = v;
      };
    },
  },
  {
    name: "memory.numa_stat",
    read: (_sim, cg) => numaStat(cg),
  },
  {
    // only an eventfd target (cgroup.event_control); no read or write handler
    name: "memory.pressure_level",
  },
  {
    name: "cgroup.event_control",
    write: (_sim, _cg, value) => {
      // memcg_write_event_control: "<event_fd> <control_fd> [args]"
      if (!/^\d+ \d+(?: .*)?$/.test(value))
        fail("EINVAL", "cgroup.event_control takes <event_fd> <control_fd> [args]", {
          file: "cgroup.event_control",
        });
      return fail("EOPNOTSUPP", "eventfd notifications are not simulated", { file: "cgroup.event_control" });
    },
  },
  {
    name: "cgroup.clone_children",
    read: (_sim, cg) => `${cg.cloneChildren ? 1 : 0}\n`,
    write: (_sim, cg, value) => {
      const v = parseUint(value);
      return () => {
        cg.cloneChildren = v !== 0;
      };
    },
  },
  {
    name: "notify_on_release",
    read: (_sim, cg) => `${cg.notifyOnRelease ? 1 : 0}\n`,
    write: (_sim, cg, value) => {
      const v = parseUint(value);
      return () => {
        cg.notifyOnRelease = v !== 0;
      };
    },
  },
  {
    name: "cgroup.procs",
    read: (_sim, cg) => procs(cg),
    write: (sim, cg, value) => attachTask(sim, cg, value, "cgroup.procs"),
  },
  {
    name: "tasks",
    read: (_sim, cg) => procs(cg),
    write: (sim, cg, value) => attachTask(sim, cg, value, "tasks"),
  },
];

/** The v2 files of every era; `Era.v2Files` says which exist. */
const V2_TABLE: readonly Cftype[] = [
  {
    name: "memory.current",
    notOnRoot: true,
    read: (_sim, cg) => `${cg.memory.usage * PAGE}\n`,
  },
  {
    name: "memory.max",
    notOnRoot: true,
    read: (_sim, cg) => `${v2LimitText(cg.memory.max)}\n`,
    write: (sim, cg, value) => {
      const p = parseLimitPages(value, false, "max");
      return () => v2SetMax(sim, cg, p);
    },
  },
  {
    name: "memory.high",
    notOnRoot: true,
    read: (_sim, cg) => `${v2LimitText(cg.highPages)}\n`,
    write: (sim, cg, value) => {
      const p = parseLimitPages(value, false, "max");
      return () => v2SetHigh(sim, cg, p);
    },
  },
  {
    name: "memory.low",
    notOnRoot: true,
    read: (_sim, cg) => `${v2LimitText(cg.lowPages)}\n`,
    write: (_sim, cg, value) => {
      const p = parseLimitPages(value, false, "max");
      return () => {
        cg.lowPages = p;
      };
    },
  },
  {
    name: "memory.min",
    notOnRoot: true,
    read: (_sim, cg) => `${v2LimitText(cg.minPages)}\n`,
    write: (_sim, cg, value) => {
      const p = parseLimitPages(value, false, "max");
      return () => {
        cg.minPages = p;
      };
    },
  },
  {
    name: "memory.peak",
    notOnRoot: true,
    read: (_sim, cg) => `${cg.memory.watermark * PAGE}\n`,
    write: (sim) => {
      // 6.12+ peak_write (c6f53ed8f213): the writer's own descriptor gets a watermark of its own;
      // a fresh reader (every request here opens the file anew) still reads the global one, which
      // no write ever resets. 5.19–6.11: the file has no write handler.
      if (sim.era.peakResetPerFd) return none;
      return fail("EINVAL", "memory.peak is read-only in this kernel", { file: "memory.peak" });
    },
  },
  {
    name: "memory.events",
    notOnRoot: true,
    read: (sim, cg) => eventsText(sim, cg.events),
  },
  {
    name: "memory.events.local",
    notOnRoot: true,
    read: (sim, cg) => eventsText(sim, cg.eventsLocal),
  },
  {
    name: "memory.stat",
    read: (sim, cg) => v2MemoryStat(sim, cg),
  },
  {
    name: "memory.reclaim",
    write: (sim, cg, value) => {
      const m = /^(\S+)(?:\s+swappiness=(\d+|max))?$/.exec(value);
      if (m === null) fail("EINVAL", `invalid memory.reclaim request "${value}"`, { file: "memory.reclaim" });
      if (m[2] !== undefined && m[2] !== "max" && Number(m[2]) > 200)
        fail("EINVAL", "swappiness must be 0..200 or max", { file: "memory.reclaim" });
      const nr = Number(memparse(m[1]) / 4096n);
      return () => {
        const r = memoryReclaim(sim, cg, nr, newReclaimStats());
        if (r.eagain)
          fail("EAGAIN", `memory.reclaim reclaimed ${r.reclaimed * PAGE} of ${nr * PAGE} bytes`, {
            file: "memory.reclaim",
            reclaimedBytes: r.reclaimed * PAGE,
          });
      };
    },
  },
  {
    name: "memory.oom.group",
    notOnRoot: true,
    read: (_sim, cg) => `${cg.oomGroup ? 1 : 0}\n`,
    write: (_sim, cg, value) => {
      const v = parseUint(value);
      if (v > 1) fail("EINVAL", "memory.oom.group takes 0 or 1", { file: "memory.oom.group" });
      return () => {
        cg.oomGroup = v === 1;
      };
    },
  },
  {
    name: "cgroup.procs",
    read: (_sim, cg) => procs(cg),
    write: (sim, cg, value) => attachTask(sim, cg, value, "cgroup.procs"),
  },
  {
    name: "cgroup.stat",
    read: (sim, cg) => cgroupStat(sim, cg),
  },
  {
    name: "cgroup.events",
    notOnRoot: true,
    // cgroup_events_show: `frozen` since the 5.2 freezer (Era.cgroupEventsFrozen)
    read: (sim, cg) =>
      `populated ${subtree(cg).some((c) => c.tasks.size > 0) ? 1 : 0}\n${sim.era.cgroupEventsFrozen ? "frozen 0\n" : ""}`,
  },
];

const byName = (table: readonly Cftype[]) => new Map(table.map((f) => [f.name, f]));
const V1_BY_NAME = byName(V1_TABLE);
const V2_BY_NAME = byName(V2_TABLE);

/** Per era, its files by name (built once per era from its list and the tables). */
const eraFiles = new Map<Era, { v1: Map<string, Cftype>; v2: Map<string, Cftype> }>();

function filesOf(era: Era): { v1: Map<string, Cftype>; v2: Map<string, Cftype> } {
  let f = eraFiles.get(era);
  if (f === undefined) {
    const pick = (names: readonly string[], table: Map<string, Cftype>) =>
      new Map(names.map((n) => [n, table.get(n) ?? missing(n)]));
    f = { v1: pick(era.v1Files, V1_BY_NAME), v2: pick(era.v2Files, V2_BY_NAME) };
    eraFiles.set(era, f);
  }
  return f;
}

function missing(name: string): never {
  throw new Error(`era lists ${name}, which no cftype table implements`);
}

/** The cgroupfs file names of this simulation's cgroup version on `cg`, in table order. */
export function listCgroupFiles(sim: Sim, cg: Cgroup): string[] {
  const f = filesOf(sim.era);
  const table = sim.config.cgroupVersion === 1 ? f.v1 : f.v2;
  return [...table.values()].filter((c) => !(cg.isRoot && c.notOnRoot)).map((c) => c.name);
}

/** The file `file` on `cg`, ENOENT where this era and cgroup version have none. */
function lookup(sim: Sim, cg: Cgroup, file: string): Cftype {
  const f = filesOf(sim.era);
  if (sim.config.cgroupVersion === 1) {
    const c = f.v1.get(file);
    if (c === undefined) {
      if (V1_BY_NAME.has(file)) fail("ENOENT", `${file}: no such file in ${sim.config.model}`, { file });
      fail("ENOENT", `${file}: no such file in cgroup v1`, { file });
    }
    return c;
  }
  const c = f.v2.get(file);
  if (c === undefined) fail("ENOENT", `${file}: no such file in cgroup v2`, { file });
  if (cg.isRoot && c.notOnRoot) fail("ENOENT", `${file}: not present on the root cgroup`, { file });
  return c;
}

// ===== reads ======================================================================================

/** Reads a cgroupfs file byte-for-byte as the era's kernel prints it (docs/API.md §7, docs/DOMAIN.md §3). */
export function readCgroupFile(sim: Sim, cg: Cgroup, file: string): string {
  const c = lookup(sim, cg, file);
  if (c.read === undefined) return fail("EINVAL", `${file} is write-only`, { file });
  return c.read(sim, cg);
}

function procs(cg: Cgroup): string {
  return [...cg.tasks]
    .sort((a, b) => a - b)
    .map((p) => `${p}\n`)
    .join("");
}

function eventsText(sim: Sim, counts: Float64Array | number[]): string {
  let out = "";
  for (const k of sim.era.v2EventKeys) {
    const i = (EVENT_KEYS as readonly string[]).indexOf(k);
    out += `${k} ${i < 0 ? 0 : counts[i]}\n`;
  }
  return out;
}

function cgroupStat(sim: Sim, cg: Cgroup): string {
  let live = 0;
  let dying = 0;
  for (const c of subtree(cg)) {
    if (c === cg) continue;
    if (c.state === "online") live++;
    else dying++;
  }
  if (!sim.era.cgroupStatPerSubsys) return `nr_descendants ${live}\nnr_dying_descendants ${dying}\n`;
  // 6.11+: per-controller live/dying css counts follow (memory is the only controller simulated);
  // nr_subsys_memory counts this cgroup's own css too
  const self = cg.state === "online" ? 1 : 0;
  return `nr_descendants ${live}\nnr_subsys_memory ${live + self}\nnr_dying_descendants ${dying}\nnr_dying_subsys_memory ${dying}\n`;
}

function kmemSlabinfo(sim: Sim, cg: Cgroup): string {
  const rule = sim.era.kmemSlabinfo;
  if (rule === "empty") return ""; // 5.9: deprecated, prints nothing
  // 3.8 mem_cgroup_slabinfo_read: -EIO unless memcg_can_account_kmem, which is false for the root
  if (rule === "active-only" && (cg.isRoot || !cg.kmemActive))
    fail("EIO", "kmem accounting is not active in this cgroup", { file: "memory.kmem.slabinfo" });
  let out = SLABINFO_HEADER;
  // 4.x memcg_slab_show: the header, then the caches whose memcg_params.memcg is this cgroup (the
  // root owns no copy, so it prints the header alone); names through cache_name(), the root cache's
  if (cg.isRoot) return out;
  const caches = [...sim.slab.caches.values()].reverse();
  for (const cache of caches) {
    const inst = cache.children.get(cg.id);
    if (inst !== undefined && inst.state !== "pending") out += slabinfoLine(cache.name, [inst]);
  }
  return out;
}

/** v1 `memory.numa_stat` (memcg_numa_stat_show): LRU pages, local then hierarchical, one node (N0). */
function numaStat(cg: Cgroup): string {
  let out = "";
  const rows = (a: Float64Array, prefix: string) => {
    const anon = a[STAT_ANON_PAGES];
    const file = a[STAT_FILE_PAGES];
    for (const [k, v] of [
      ["total", anon + file],
      ["file", file],
      ["anon", anon],
      ["unevictable", 0],
    ] as const)
      out += `${prefix}${k}=${v} N0=${v}\n`;
  };
  rows(cg.statLocal, "");
  rows(cg.statHier, "hierarchical_");
  return out;
}

/** One v1 `memory.stat` value of a statistics row (local or hierarchical), in the file's unit. */
function v1StatValue(sim: Sim, key: string, a: Float64Array): number {
  switch (key) {
    case "cache":
    case "inactive_file":
      return a[STAT_FILE_PAGES] * PAGE;
    case "rss":
      return a[STAT_ANON_PAGES] * PAGE;
    case "inactive_anon":
      return sim.era.anonStartsInactive ? a[STAT_ANON_PAGES] * PAGE : 0;
    case "active_anon":
      return sim.era.anonStartsInactive ? 0 : a[STAT_ANON_PAGES] * PAGE;
    case "pgpgin":
      return a[STAT_PGPGIN];
    case "pgpgout":
      return a[STAT_PGPGOUT];
    default:
      return 0;
  }
}

/** v1 `memory.stat` (docs/DOMAIN.md §3.1): the era's keys, hierarchical_memory_limit, then total_* sums. */
function v1MemoryStat(sim: Sim, cg: Cgroup): string {
  const keys = sim.era.v1StatKeys;
  let limit = Number.POSITIVE_INFINITY;
  let memswLimit = Number.POSITIVE_INFINITY;
  for (let c: Cgroup | null = cg; c !== null; c = c.parent) {
    if (!c.isRoot) {
      limit = Math.min(limit, c.memory.max);
      memswLimit = Math.min(memswLimit, c.memswMaxPages);
    }
    if (!c.useHierarchy && c !== cg) break;
    if (c.memory.parent === null) break;
  }
  let out = "";
  for (const k of keys) out += `${k} ${v1StatValue(sim, k, cg.statLocal)}\n`;
  out += `hierarchical_memory_limit ${v1LimitText(limit, resCounter(sim))}\n`;
  if (sim.era.v1StatMemswLimit)
    out += `hierarchical_memsw_limit ${v1LimitText(memswLimit, resCounter(sim))}\n`;
  for (const k of keys) out += `total_${k} ${v1StatValue(sim, k, cg.statHier)}\n`;
  return out;
}

// ===== writes =====================================================================================

/**
 * `echo value > file` on `cg` (docs/API.md §7) with the era's parsing and errnos. With `dryRun` only
 * validates (file exists, value parses, the write is allowed now) and changes nothing, so a
 * multi-field PATCH is all-or-nothing.
 */
export function writeCgroupFile(sim: Sim, cg: Cgroup, file: string, raw: string, dryRun: boolean): void {
  const c = lookup(sim, cg, file);
  // A zero-length write never reaches the file's handler: the recorded 6.18 kernel answered "ok"
  // and changed nothing (v1-files.json); older eras keep the handlers' own answer to "".
  if (raw === "" && sim.era.emptyWriteIsNoop) return;
  if (c.write === undefined) fail("EINVAL", `${file} is read-only`, { file });
  const effect = c.write(sim, cg, raw.trim());
  if (!dryRun) effect();
}

function attachTask(sim: Sim, cg: Cgroup, value: string, file: string): () => void {
  const pid = parseUint(value);
  if (!sim.tasks.has(pid)) fail("EINVAL", `no task ${pid}`, { file });
  if (cg.state !== "online") fail("ENOENT", "cgroup is being removed", { file });
  return () => {
    sim.moveTask(pid, cg.path);
  };
}

/**
 * v1 `limit_in_bytes` (docs/DOMAIN.md §9.4): set_limit fails with EBUSY while usage is above it; the
 * kernel then reclaims and retries — 3.x up to 5 × (cgroups in the subtree) rounds that made no
 * progress, 4.x+ until a reclaim pass frees nothing.
 */
function v1SetLimit(sim: Sim, cg: Cgroup, p: number): void {
  v1Resize(sim, cg, "memory.limit_in_bytes", () => cg.memory.setMax(p));
}

/** The reclaim-and-retry loop of a v1 limit write around `setMax` (true once the limit is installed). */
function v1Resize(sim: Sim, cg: Cgroup, file: string, setMax: () => boolean): void {
  if (setMax()) return;
  drainAllStock(sim, cg);
  if (setMax()) return;
  if (resCounter(sim)) {
    let retries = 5 * subtree(cg).length;
    let old = cg.memory.usage;
    while (retries > 0) {
      tryToFreeMemcgPages(sim, cg, 1, null);
      if (setMax()) return;
      const cur = cg.memory.usage;
      if (cur >= old) retries--;
      else old = cur;
    }
    fail("EBUSY", `usage ${cg.memory.usage * PAGE} cannot be reclaimed below the new limit`, { file });
  }
  for (;;) {
    if (tryToFreeMemcgPages(sim, cg, 1, null) === 0)
      fail("EBUSY", `usage ${cg.memory.usage * PAGE} cannot be reclaimed below the new limit`, { file });
    if (setMax()) return;
  }
}

/**
 * v1 `kmem.limit_in_bytes` by era (docs/DOMAIN.md §3.1, §6.2): the seed sets the kmem counter's limit;
 * 3.8 activates accounting on the first finite write (EBUSY with tasks or, hierarchically,
 * children) and children of an active cgroup are born active; 4.x sets the limit (EBUSY below
 * usage, no reclaim); 5.16+ (our v5.9) accepts the value without enforcing it.
 */
function v1SetKmemLimit(sim: Sim, cg: Cgroup, p: number): () => void {
  const rule = sim.era.kmemLimit;
  // 6.1+: memcg1 mem_cgroup_write parses the value, warns that kmem.limit_in_bytes is deprecated, and drops it
  if (rule === "ignored") return none;
  if (rule === "unenforced")
    return () => {
      cg.kmem.max = p; // stored and printed; the C model's kmem mirror never enforces it
    };
  // 3.8 memcg_update_kmem_limit activates only when `val != RESOURCE_MAX`, so `echo -1` on an
  // inactive cgroup is accepted and changes nothing; 4.x activates on any value (kmemActivateOnMax).
  if (
    rule === "activate" &&
    !cg.kmemActive &&
    (p !== Number.POSITIVE_INFINITY || sim.era.kmemActivateOnMax)
  ) {
    // 3.8 memcg_update_kmem_limit: cgroup_task_count (own tasks); 4.x memcg_activate_kmem:
    // cgroup_is_populated (tasks anywhere in the subtree); both: use_hierarchy && children
    const populated = sim.era.kmemActivateOnMax
      ? subtree(cg).some((c) => c.tasks.size > 0)
      : cg.tasks.size > 0;
    if (populated || (cg.useHierarchy && cg.children.size > 0))
      fail("EBUSY", "kmem accounting can only be activated in a cgroup without tasks or children", {
        file: "memory.kmem.limit_in_bytes",
      });
    // activation charges nothing, so the limit check below sees the same usage after it
    if (cg.kmem.usage > p)
      fail("EBUSY", "kmem usage is above the new limit", { file: "memory.kmem.limit_in_bytes" });
    return () => {
      sim.activateKmem(cg);
      cg.kmem.setMax(p);
    };
  }
  if (cg.kmem.usage > p)
    fail("EBUSY", "kmem usage is above the new limit", { file: "memory.kmem.limit_in_bytes" });
  return () => {
    cg.kmem.setMax(p);
  };
}

/** 2.3: `use_hierarchy` may change only while the parent does not have it and there are no children. */
function setUseHierarchy(sim: Sim, cg: Cgroup, on: boolean): () => void {
  if (sim.era.hierarchyAlways) {
    // 5.11+: the non-hierarchical mode is gone; writing 1 is accepted, 0 refused
    if (!on)
      fail("EINVAL", "non-hierarchical mode is not supported (5.11+)", { file: "memory.use_hierarchy" });
    return none;
  }
  if (cg.useHierarchy === on) return none;
  if (cg.parent !== null && cg.parent.useHierarchy)
    fail("EINVAL", "the parent has use_hierarchy set", { file: "memory.use_hierarchy" });
  if (cg.children.size > 0 || cg.dyingChildren.length > 0)
    fail("EBUSY", "use_hierarchy cannot change with children", { file: "memory.use_hierarchy" });
  return () => {
    cg.useHierarchy = on;
  };
}

/** `memory.force_empty` (docs/DOMAIN.md §9.3): reclaim until empty or 5 fruitless rounds; 3.x then moves LRU charges up. */
function forceEmpty(sim: Sim, cg: Cgroup): void {
  drainAllStock(sim, cg);
  let retries = 5;
  while (retries > 0 && cg.memory.usage > 0) {
    if (tryToFreeMemcgPages(sim, cg, 1, null) === 0) retries--;
  }
}

/** v2 `memory.max` write (docs/DOMAIN.md §3.2): install, drain, 16 reclaim failures, then OOM-kill until under. */
function v2SetMax(sim: Sim, cg: Cgroup, p: number): void {
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
function v2SetHigh(sim: Sim, cg: Cgroup, p: number): void {
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

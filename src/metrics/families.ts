import type { Registry as PromRegistry } from "prom-client";
import { EVENT_KEYS } from "../engine/index.js";
import {
  C_CHARGED_KMEM,
  C_CHARGED_MEMORY,
  C_EVENTS,
  C_RECLAIMED_FILE,
  C_RECLAIMED_SLAB,
  C_FAIL_KMEM,
  C_FAIL_MEMORY,
  C_UNCHARGED_KMEM,
  C_UNCHARGED_MEMORY,
  type CgroupRow,
  S_ALLOC_FAIL_KMEM,
  S_ALLOC_FAIL_MEMORY,
  S_OOM_KILLS,
  type SimulationRow,
  type Snapshot,
} from "./snapshot.js";

type Labels = Record<string, string>;
/**
 * A label set with its text form (`k="v",...`, escaped), made once per cgroup row per scrape and
 * shared by every family's series of that row.
 */
export interface LabelSet {
  readonly obj: Labels;
  readonly text: string;
}
/** One series: `labels`, plus one more label `key="value"` when given. */
type Emit = (labels: Labels | LabelSet, value: number, key?: string, keyValue?: string) => void;

function isLabelSet(l: Labels | LabelSet): l is LabelSet {
  return typeof (l as LabelSet).text === "string" && typeof (l as LabelSet).obj === "object";
}

/** The labels of one series as an object (prom-client's `get()` path). */
export function labelsObject(l: Labels | LabelSet, key?: string, keyValue?: string): Labels {
  const base = isLabelSet(l) ? l.obj : l;
  return key === undefined ? base : { ...base, [key]: keyValue as string };
}

/** One family of ours: prom-client can format it (`get()`), and so can `formatFamilies`, faster. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "gauge" | "counter";
  /** Every series of the family in `s`, in order. */
  fill(s: Snapshot, emit: Emit): void;
}

const familiesByRegistry = new WeakMap<PromRegistry, Family[]>();

/** The families registered in `reg` by this module, in registration order. */
export function familiesOf(reg: PromRegistry): readonly Family[] {
  return familiesByRegistry.get(reg) ?? [];
}

/**
 * A family whose series are recomputed from the scrape's snapshot each time (`get()`), registered
 * as a plain prom-client metric object (so `getSingleMetric`/`getMetricsAsJSON` see it): no label
 * validation, hashing or per-series bookkeeping on a scrape. The scrape text itself comes from
 * `formatFamilies` (the same text as prom-client's, a test checks it). Values are exact engine
 * state; a counter's is the engine's monotonic total.
 */
function family(
  reg: PromRegistry,
  snap: () => Snapshot,
  type: "gauge" | "counter",
  name: string,
  help: string,
  labelNames: string[],
  fill: (s: Snapshot, emit: Emit) => void,
) {
  const metric = {
    name,
    help,
    type,
    labelNames,
    aggregator: "sum" as const,
    fill,
    async get() {
      const values: { labels: Labels; value: number }[] = [];
      fill(snap(), (labels, value, key, keyValue) =>
        values.push({ labels: labelsObject(labels, key, keyValue), value }),
      );
      return { name, help, type, values, aggregator: "sum" as const };
    },
    reset() {},
  };
  reg.registerMetric(metric as unknown as Parameters<PromRegistry["registerMetric"]>[0]);
  const list = familiesByRegistry.get(reg);
  if (list === undefined) familiesByRegistry.set(reg, [metric]);
  else list.push(metric);
  return metric;
}

// prom-client's text rules (lib/registry.js, lib/util.js): HELP escapes \ and newlines, label
// values also '"'; NaN is "Nan", infinities "+Inf"/"-Inf", other numbers JavaScript's own text.
const escapeString = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const NEEDS_ESCAPE = /[\\\n"]/;
const escapeLabelValue = (v: string) => (NEEDS_ESCAPE.test(v) ? escapeString(v).replace(/"/g, '\\"') : v);
const ZEROS = ["", "0", "00", "000", "0000", "00000", "000000", "0000000", "00000000"];

/**
 * A number as prom-client prints it. Integers from 2^31 up are doubles to V8, whose general
 * number-to-text is ~3x slower than for small integers; byte counters pass 2^31 (2 GiB) early, so
 * those print as two small-integer halves (the same digits; test/metrics/format.test.ts). Integers
 * above 2^53 − 1 print their exact decimal digits, where prom-client prints JavaScript's shortest
 * round-trip text.
 */
export function valueText(v: number): string {
  if (v >= 2147483648 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v)) {
    let hi = Math.floor(v / 1e9);
    let rest = v - hi * 1e9; // exact; v / 1e9 may have rounded up to the next integer
    if (rest < 0) {
      hi--;
      rest += 1e9;
    }
    const lo = `${rest}`;
    return `${hi}${ZEROS[9 - lo.length]}${lo}`;
  }
  // Above 2^53 − 1 (a limit such as memparse's wrap value 200376420520689664) JavaScript's text is
  // the shortest that reads back as the same double ("200376420520689660"); print the exact
  // digits instead, as cgroupfs does. Prometheus parses both to the same float64, so only the text
  // differs from prom-client's (docs/OBSERVABILITY.md, Exact values).
  if (Number.isInteger(v) && (v > Number.MAX_SAFE_INTEGER || v < -Number.MAX_SAFE_INTEGER))
    return BigInt(v).toString();
  if (Number.isNaN(v)) return "Nan";
  if (!Number.isFinite(v)) return v < 0 ? "-Inf" : "+Inf";
  return `${v}`;
}

/**
 * The families that report on the scrape itself: never cut by the series cap nor counted in it
 * (one series per simulation, and one).
 */
export const UNCAPPED_FAMILIES: ReadonlySet<string> = new Set([
  "memcg_sim_metrics_truncated_cgroups",
  "memcg_sim_metrics_series_dropped",
]);

/**
 * The Prometheus text (0.0.4) of `families` over one snapshot: what prom-client's
 * `Registry.metrics()` prints for them, built directly. A 1,000-cgroup scrape has ~24,000 series;
 * prom-client spends ~3 µs on each (label arrays, filters, joins, three regex passes per value),
 * this ~0.3 µs (issue "Performance": /metrics ≤ 100 ms at 1,000 cgroups × 5 caches). Families are
 * separated by a blank line, as prom-client separates them; no trailing newline.
 *
 * `maxSeries` bounds the series of the families (those of UNCAPPED_FAMILIES aside): series are
 * taken in family order, each family's in its own order, and those past the cap are left out and
 * counted in `s.droppedSeries`, which the uncapped families, formatted last, can report. A family
 * left without series keeps its HELP and TYPE lines.
 */
export function formatFamilies(
  families: readonly Family[],
  s: Snapshot,
  maxSeries = Number.POSITIVE_INFINITY,
): string {
  const parts: string[][] = [];
  let kept = 0;
  let dropped = 0;
  const format = (f: Family, capped: boolean): string[] => {
    const lines = [`# HELP ${f.name} ${escapeString(f.help)}`, `# TYPE ${f.name} ${f.type}`];
    const name = f.name;
    f.fill(s, (labels, value, key, keyValue) => {
      if (capped) {
        if (kept >= maxSeries) {
          dropped++;
          return;
        }
        kept++;
      }
      let ls = isLabelSet(labels) ? labels.text : labelText(labels);
      if (key !== undefined) {
        const extra = `${key}="${escapeLabelValue(keyValue as string)}"`;
        ls = ls === "" ? extra : `${ls},${extra}`;
      }
      lines.push(ls === "" ? `${name} ${valueText(value)}` : `${name}{${ls}} ${valueText(value)}`);
    });
    return lines;
  };
  for (const f of families) parts.push(UNCAPPED_FAMILIES.has(f.name) ? [] : format(f, true));
  s.droppedSeries = dropped;
  families.forEach((f, i) => {
    if (UNCAPPED_FAMILIES.has(f.name)) parts[i] = format(f, false);
  });
  return parts.map((p) => p.join("\n")).join("\n\n");
}

/** `k="v",...` of a label object, escaped, in its key order (prom-client's order). */
function labelText(labels: Labels): string {
  let ls = "";
  for (const k of Object.keys(labels)) {
    const one = `${k}="${escapeLabelValue(labels[k])}"`;
    ls = ls === "" ? one : `${ls},${one}`;
  }
  return ls;
}

/** A LabelSet of `obj`. */
export function labelSet(obj: Labels): LabelSet {
  return { obj, text: labelText(obj) };
}

/** Registers a gauge family (see `family`). */
function gauge(
  reg: PromRegistry,
  snap: () => Snapshot,
  name: string,
  help: string,
  labelNames: string[],
  fill: (s: Snapshot, emit: Emit) => void,
) {
  return family(reg, snap, "gauge", name, help, labelNames, fill);
}

/** Registers a counter family (see `family`): the value is the engine's monotonic total plus reset offsets. */
function counter(
  reg: PromRegistry,
  snap: () => Snapshot,
  name: string,
  help: string,
  labelNames: string[],
  fill: (s: Snapshot, emit: Emit) => void,
) {
  return family(reg, snap, "counter", name, help, labelNames, fill);
}

type EachRow = (s: Snapshot, fn: (sim: SimulationRow, row: CgroupRow, labels: LabelSet) => void) => void;

/**
 * Visits every cgroup row with its label set `{simulation, <key>: row label}`, made at the row's
 * first family of a scrape and shared by the others (rows are per-snapshot objects).
 */
function rowsLabelled(key: string): EachRow {
  const sets = new WeakMap<CgroupRow, LabelSet>();
  return (s, fn) => {
    for (const sim of s.simulations)
      for (const row of sim.cgroups) {
        let l = sets.get(row);
        if (l === undefined) {
          l = labelSet({ simulation: sim.name, [key]: row.label });
          sets.set(row, l);
        }
        fn(sim, row, l);
      }
  };
}

const eachCgroup = rowsLabelled("cgroup");

const SC = ["simulation", "cgroup"];

/**
 * The memcg_sim_* families of docs/API.md §8 over engine state, all with `simulation` and `cgroup`
 * labels (never `instance`, which Prometheus owns). Per-simulation values carry `cgroup="/"`.
 */
export function registerSimulationFamilies(reg: PromRegistry, snap: () => Snapshot): void {
  gauge(
    reg,
    snap,
    "memcg_sim_memory_usage_bytes",
    "Memory charged to the cgroup, hierarchical (memory.current / memory.usage_in_bytes); the root reports anon + file of the whole system",
    SC,
    (s, emit) => eachCgroup(s, (_, r, l) => emit(l, r.usageBytes)),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_memory_max_bytes",
    "Memory limit (memory.max / memory.limit_in_bytes); no series while unlimited",
    SC,
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        if (r.maxBytes !== null) emit(l, r.maxBytes);
      }),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_memory_peak_bytes",
    "Memory usage watermark (memory.peak / memory.max_usage_in_bytes)",
    SC,
    (s, emit) => eachCgroup(s, (_, r, l) => emit(l, r.peakBytes)),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_memory_failcnt",
    "memory.failcnt as the file shows it (a write resets it; see memcg_sim_charge_failures_total)",
    SC,
    (s, emit) => eachCgroup(s, (_, r, l) => emit(l, r.failcnt)),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_kmem_usage_bytes",
    "Kernel memory charged to the cgroup (memory.kmem.usage_in_bytes; the root: kernel pages of all cgroups)",
    SC,
    (s, emit) => eachCgroup(s, (_, r, l) => emit(l, r.kmemUsageBytes)),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_kmem_max_bytes",
    "Kernel memory limit (memory.kmem.limit_in_bytes); no series while unlimited",
    SC,
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        if (r.kmemMaxBytes !== null) emit(l, r.kmemMaxBytes);
      }),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_kmem_failcnt",
    "memory.kmem.failcnt as the file shows it (a write resets it)",
    SC,
    (s, emit) => eachCgroup(s, (_, r, l) => emit(l, r.kmemFailcnt)),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_memory_stat_bytes",
    "memory.stat of the cgroup, hierarchical, by type (anon, file, kernel)",
    [...SC, "type"],
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        emit(l, r.anonBytes, "type", "anon");
        emit(l, r.fileBytes, "type", "file");
        emit(l, r.kernelBytes, "type", "kernel");
      }),
  );
  counter(
    reg,
    snap,
    "memcg_sim_charged_bytes_total",
    "Bytes charged to the cgroup's page counter (memory or kmem), hierarchical, monotonic",
    [...SC, "counter"],
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        emit(l, r.counters[C_CHARGED_MEMORY], "counter", "memory");
        emit(l, r.counters[C_CHARGED_KMEM], "counter", "kmem");
      }),
  );
  counter(
    reg,
    snap,
    "memcg_sim_uncharged_bytes_total",
    "Bytes uncharged from the cgroup's page counter (memory or kmem), hierarchical, monotonic",
    [...SC, "counter"],
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        emit(l, r.counters[C_UNCHARGED_MEMORY], "counter", "memory");
        emit(l, r.counters[C_UNCHARGED_KMEM], "counter", "kmem");
      }),
  );
  counter(
    reg,
    snap,
    "memcg_sim_charge_failures_total",
    "Charges refused by this cgroup's limit (the failing level, as failcnt, but never reset), by reason: the counter whose limit refused (memory or kmem)",
    [...SC, "reason"],
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        emit(l, r.counters[C_FAIL_MEMORY], "reason", "memory");
        emit(l, r.counters[C_FAIL_KMEM], "reason", "kmem");
      }),
  );
  counter(
    reg,
    snap,
    "memcg_sim_memory_events_total",
    "memory.events of the cgroup (hierarchical), by event; the root has none",
    [...SC, "event"],
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        if (r.cg.isRoot) return;
        for (let i = 0; i < EVENT_KEYS.length; i++) emit(l, r.counters[C_EVENTS + i], "event", EVENT_KEYS[i]);
      }),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_slab_bytes",
    "Slab memory charged to the cgroup, hierarchical (memory.stat slab_reclaimable / slab_unreclaimable), by type",
    [...SC, "type"],
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        emit(l, r.slabReclaimableBytes, "type", "reclaimable");
        emit(l, r.slabUnreclaimableBytes, "type", "unreclaimable");
      }),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_slab_objects",
    "Objects of a cache whose slabs are charged to the cgroup (the per-cgroup cache copy; the base cache at /), by state: active (allocated) or total (slots in its slabs)",
    [...SC, "cache", "state"],
    (s, emit) => {
      for (const sim of s.simulations)
        for (const c of sim.caches) {
          emit(
            { simulation: sim.name, cgroup: c.cgroupLabel, cache: c.cache, state: "active" },
            c.activeObjects,
          );
          emit(
            { simulation: sim.name, cgroup: c.cgroupLabel, cache: c.cache, state: "total" },
            c.totalObjects,
          );
        }
    },
  );
  gauge(
    reg,
    snap,
    "memcg_sim_slab_pages",
    "Pages in the slabs of a cache charged to the cgroup (the base cache at /)",
    [...SC, "cache"],
    (s, emit) => {
      for (const sim of s.simulations)
        for (const c of sim.caches)
          emit({ simulation: sim.name, cgroup: c.cgroupLabel, cache: c.cache }, c.pages);
    },
  );

  // ---- per simulation (cgroup="/") ----
  const root = (sim: SimulationRow) => ({ simulation: sim.name, cgroup: "/" });
  counter(
    reg,
    snap,
    "memcg_sim_reclaimed_bytes_total",
    'Bytes reclaimed by source (file LRU pages, slab pages freed by shrinkers) from the cgroup\'s subtree, hierarchical, monotonic; cgroup="/" is the whole simulation',
    [...SC, "source"],
    (s, emit) =>
      eachCgroup(s, (_, r, l) => {
        emit(l, r.counters[C_RECLAIMED_FILE], "source", "file");
        emit(l, r.counters[C_RECLAIMED_SLAB], "source", "slab");
      }),
  );
  counter(
    reg,
    snap,
    "memcg_sim_allocation_failures_total",
    'Allocations that ended in ENOMEM or OOM_KILLED after reclaim and retries, by reason (memory: user pages, kmem: kernel objects); per simulation, cgroup="/"',
    [...SC, "reason"],
    (s, emit) => {
      for (const sim of s.simulations) {
        emit({ ...root(sim), reason: "memory" }, sim.counters[S_ALLOC_FAIL_MEMORY]);
        emit({ ...root(sim), reason: "kmem" }, sim.counters[S_ALLOC_FAIL_KMEM]);
      }
    },
  );
  counter(
    reg,
    snap,
    "memcg_sim_oom_kills_total",
    'Tasks killed by the OOM killer (memcg and global) in the simulation; per simulation, cgroup="/"',
    SC,
    (s, emit) => {
      for (const sim of s.simulations) emit(root(sim), sim.counters[S_OOM_KILLS]);
    },
  );
  gauge(
    reg,
    snap,
    "memcg_sim_dying_cgroups",
    'Removed cgroups still pinned by charges (dying, not yet released); per simulation, cgroup="/"',
    SC,
    (s, emit) => {
      for (const sim of s.simulations) emit(root(sim), sim.dyingCgroups);
    },
  );
  counter(
    reg,
    snap,
    "memcg_sim_commands_total",
    "Commands applied to the simulation, by op",
    ["simulation", "op"],
    (s, emit) => {
      for (const sim of s.simulations)
        for (const [op, n] of sim.opCounts) emit({ simulation: sim.name, op }, n);
    },
  );
  gauge(
    reg,
    snap,
    "memcg_sim_metrics_truncated_cgroups",
    "Cgroups of the simulation left without per-cgroup series at this scrape because the per-scrape cgroup cap was reached",
    ["simulation"],
    (s, emit) => {
      for (const sim of s.simulations) emit({ simulation: sim.name }, sim.truncatedCgroups);
    },
  );
  gauge(
    reg,
    snap,
    "memcg_sim_metrics_series_dropped",
    "Series of the simulation families left out of this scrape because the per-scrape series cap (maxMetricsSeries) was reached",
    [],
    (s, emit) => emit({}, s.droppedSeries),
  );
  gauge(
    reg,
    snap,
    "memcg_sim_simulation_info",
    "Always 1: the accounting model and cgroup version of the simulation",
    ["simulation", "model", "cgroup_version"],
    (s, emit) => {
      for (const sim of s.simulations)
        emit(
          {
            simulation: sim.name,
            model: sim.instance.config.model,
            cgroup_version: String(sim.instance.config.cgroupVersion),
          },
          1,
        );
    },
  );
}

/**
 * The same state under cAdvisor's names (label `id` = cgroup path, plus `simulation`), for
 * dashboards built for Kubernetes nodes. Counters use the engine's monotonic totals.
 */
export function registerCadvisorFamilies(reg: PromRegistry, snap: () => Snapshot): void {
  const L = ["simulation", "id"];
  const each = rowsLabelled("id");

  gauge(
    reg,
    snap,
    "container_memory_usage_bytes",
    "Current memory usage in bytes, including all memory regardless of when it was accessed",
    L,
    (s, emit) => each(s, (_, r, l) => emit(l, r.usageBytes)),
  );
  gauge(
    reg,
    snap,
    "container_memory_max_usage_bytes",
    "Maximum memory usage recorded in bytes",
    L,
    (s, emit) => each(s, (_, r, l) => emit(l, r.peakBytes)),
  );
  counter(
    reg,
    snap,
    "container_memory_failcnt",
    "Number of memory usage hits limits (monotonic: a failcnt reset does not lower it)",
    L,
    (s, emit) => each(s, (_, r, l) => emit(l, r.counters[C_FAIL_MEMORY])),
  );
  gauge(
    reg,
    snap,
    "container_memory_kernel_usage",
    "Size of kernel memory allocated in bytes",
    L,
    (s, emit) => each(s, (_, r, l) => emit(l, r.kmemUsageBytes)),
  );
  gauge(
    reg,
    snap,
    "container_spec_memory_limit_bytes",
    "Memory limit for the container (0 = unlimited)",
    L,
    (s, emit) => each(s, (_, r, l) => emit(l, r.maxBytes ?? 0)),
  );
  gauge(reg, snap, "container_memory_cache", "Number of bytes of page cache memory", L, (s, emit) =>
    each(s, (_, r, l) => emit(l, r.fileBytes)),
  );
  gauge(reg, snap, "container_memory_rss", "Size of RSS in bytes (anonymous memory)", L, (s, emit) =>
    each(s, (_, r, l) => emit(l, r.anonBytes)),
  );
  gauge(
    reg,
    snap,
    "container_memory_working_set_bytes",
    "Current working set in bytes: usage minus inactive file (all file pages count as inactive here), floor 0",
    L,
    (s, emit) => each(s, (_, r, l) => emit(l, Math.max(0, r.usageBytes - r.fileBytes))),
  );
  counter(
    reg,
    snap,
    "container_oom_events_total",
    "Count of out of memory kill events observed for the container (the root: every OOM kill of the simulation)",
    L,
    (s, emit) =>
      each(s, (sim, r, l) => emit(l, r.cg.isRoot ? sim.counters[S_OOM_KILLS] : r.counters[C_EVENTS + 4])),
  );
}

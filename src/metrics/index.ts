import { collectDefaultMetrics, Gauge, Histogram, Registry as PromRegistry } from "prom-client";
import { DEFAULT_SERVER_LIMITS, type Registry } from "../registry.js";
import {
  familiesOf,
  formatFamilies,
  registerCadvisorFamilies,
  registerSimulationFamilies,
} from "./families.js";
import { ResetOffsets } from "./offsets.js";
import { type Snapshot, takeSnapshot } from "./snapshot.js";

/** The Prometheus text exposition content type (format 0.0.4), for both endpoints. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Default per-scrape cap on cgroups with per-cgroup series (all simulations together). */
export const DEFAULT_PER_CGROUP_SERIES_LIMIT = 10_000;

export interface MetricsOptions {
  registry: Registry;
  /**
   * At most this many cgroups get per-cgroup series at one scrape, all simulations together:
   * simulations in name order, cgroups in pre-order (root first); the rest are counted in
   * `memcg_sim_metrics_truncated_cgroups{simulation}`. Default 10,000.
   */
  perCgroupSeriesLimit?: number;
  /**
   * At most this many series of the simulation families in one `/metrics` scrape (the two that
   * report on the scrape aside); the rest are left out and counted in
   * `memcg_sim_metrics_series_dropped`. Default: the registry's `maxMetricsSeries` (100,000).
   */
  maxSeries?: number;
  /** prom-client's process/Node.js metrics on /metrics (default true). */
  defaultMetrics?: boolean;
  /** Buckets (seconds) of the REST and gRPC request-duration histograms. */
  durationBuckets?: number[];
}

export interface Metrics {
  /** Our own prom-client Registry (never the global default one). */
  readonly promRegistry: PromRegistry;
  /** `/metrics`: the memcg_sim_* families, request histograms and process metrics. */
  scrape(): Promise<string>;
  /** `/metrics/cadvisor`: the same state under cAdvisor names, label `id` = cgroup path. */
  cadvisorText(): Promise<string>;
  /** One REST request: `route` is the route pattern (bounded cardinality), `seconds` its duration. */
  observeRest(route: string, method: string, status: number | string, seconds: number): void;
  /** One gRPC call: `method` the RPC name, `code` its status name (OK, NOT_FOUND, ...) or number. */
  observeGrpc(method: string, code: number | string, seconds: number): void;
  /** Stops listening to the registry and empties the prom-client registries. */
  close(): void;
}

const DEFAULT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** gRPC status codes by number (grpc-js `status`), so a numeric code becomes its name. */
const GRPC_CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/**
 * Metrics over a Registry of simulations (docs/API.md §8, docs/ARCHITECTURE.md §3): every value is read
 * from engine state in prom-client `collect()` callbacks at scrape time — the engine never calls
 * prom-client. All families of one scrape share one snapshot of the state, taken at the first
 * `collect()` of the scrape (prom-client runs every collect in the same tick).
 */
export function createMetrics(opts: MetricsOptions): Metrics {
  const limit = opts.perCgroupSeriesLimit ?? DEFAULT_PER_CGROUP_SERIES_LIMIT;
  if (!Number.isInteger(limit) || limit < 0)
    throw new RangeError("perCgroupSeriesLimit must be an integer ≥ 0");
  const { registry } = opts;
  const maxSeries =
    opts.maxSeries ?? registry.limits.maxMetricsSeries ?? DEFAULT_SERVER_LIMITS.maxMetricsSeries;
  if (!(Number.isInteger(maxSeries) && maxSeries >= 0) && maxSeries !== Number.POSITIVE_INFINITY)
    throw new RangeError("maxSeries must be an integer ≥ 0");
  const offsets = new ResetOffsets(registry, Math.max(limit, 1));

  let current: Snapshot | null = null;
  const snap = (): Snapshot => {
    if (current === null) {
      current = takeSnapshot(registry, limit, (name, sim) => offsets.get(name, sim));
      // every collect() of one scrape runs in this tick; the next scrape reads the state again
      setImmediate(() => {
        current = null;
      });
    }
    return current;
  };

  // promRegistry holds every metric (getSingleMetric, JSON); the scrape text of the engine families
  // comes from formatFamilies, the rest (request histograms, process metrics) from prom-client
  // itself through `others`, which holds the same metric objects.
  const promRegistry = new PromRegistry();
  const others = new PromRegistry();
  registerSimulationFamilies(promRegistry, snap);
  const buckets = opts.durationBuckets ?? DEFAULT_BUCKETS;
  const rest = new Histogram({
    name: "memcg_sim_rest_request_duration_seconds",
    help: "REST request duration by route pattern, method and status code",
    labelNames: ["route", "method", "status_code"],
    buckets,
    registers: [promRegistry, others],
  });
  const grpc = new Histogram({
    name: "memcg_sim_grpc_request_duration_seconds",
    help: "gRPC call duration by method and status code",
    labelNames: ["method", "code"],
    buckets,
    registers: [promRegistry, others],
  });
  // instances the data file holds that restore kept after a failed integrity check (docs/RELIABILITY.md)
  new Gauge({
    name: "memcg_sim_failed_instances",
    help: "Instances kept in the data file, not loaded, after their rows failed the integrity check (--recover=skip); 1 per instance",
    labelNames: ["simulation"],
    registers: [promRegistry, others],
    collect() {
      this.reset();
      for (const name of registry.kept.keys()) this.set({ simulation: name }, 1);
    },
  });
  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: others });
    for (const m of others.getMetricsAsArray())
      if (m !== (rest as unknown) && m !== (grpc as unknown))
        promRegistry.registerMetric(m as unknown as Parameters<PromRegistry["registerMetric"]>[0]);
  }

  const cadvisorRegistry = new PromRegistry();
  registerCadvisorFamilies(cadvisorRegistry, snap);

  return {
    promRegistry,
    // the same text prom-client's promRegistry.metrics() prints (test/metrics/format.test.ts)
    scrape: async () =>
      `${formatFamilies(familiesOf(promRegistry), snap(), maxSeries)}\n\n${await others.metrics()}`,
    cadvisorText: async () => `${formatFamilies(familiesOf(cadvisorRegistry), snap())}\n`,
    observeRest(route, method, status, seconds) {
      rest.observe({ route, method, status_code: String(status) }, seconds);
    },
    observeGrpc(method, code, seconds) {
      const name = typeof code === "number" ? (GRPC_CODES[code] ?? String(code)) : code;
      grpc.observe({ method, code: name }, seconds);
    },
    close() {
      offsets.close();
      promRegistry.clear();
      others.clear();
      cadvisorRegistry.clear();
    },
  };
}

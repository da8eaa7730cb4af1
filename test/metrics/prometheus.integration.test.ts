import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { metricsPlugin } from "../../src/metrics/plugin.js";
import { Registry } from "../../src/registry.js";
import * as Q from "../../src/commands/queries.js";
import { MiB, PAGE, parseText, select } from "./helpers.js";

const HAS_PROMETHEUS = spawnSync("prometheus", ["--version"], { encoding: "utf8" }).status === 0;
if (!HAS_PROMETHEUS)
  console.warn(
    "prometheus not found: the Prometheus integration test is skipped (CI installs the Debian package prometheus)",
  );

const DASHBOARD = fileURLToPath(new URL("../../docker/grafana/dashboards/memcg-sim.json", import.meta.url));
const DEADLINE_MS = 30_000;

interface Dashboard {
  templating: { list: { name: string; query: { query: string } | string }[] };
  panels: { title: string; targets: { expr: string }[] }[];
}

/** Grafana's variables as Prometheus sees them with "All" selected (allValue ".*"). */
function substitute(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "15s")
    .replaceAll("$simulation", ".*")
    .replaceAll("$cgroup", ".*");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A workload that reaches every family: v4.5 on cgroup v2 (limit hit, reclaim of file pages, an
 * OOM kill, per-cgroup dentry copies, a dying cgroup) and v4.5 on cgroup v1 (kmem limit → ENOMEM).
 */
function workload(registry: Registry): void {
  registry.create("v2-sim", { model: "v4.5", cgroupVersion: 2 });
  const a = (cmd: Parameters<Registry["execute"]>[1]) => registry.execute("v2-sim", cmd);
  a({ op: "createCgroup", path: "/app" });
  a({ op: "updateCgroup", path: "/app", memoryMaxBytes: MiB });
  a({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  a({ op: "createCache", name: "kmalloc-256", objectSizeBytes: 256, flags: { account: true } });
  a({ op: "spawnTask", cgroup: "/app", pid: 100 });
  a({ op: "spawnTask", cgroup: "/app", pid: 101 });
  a({ op: "allocObjects", cache: "dentry", pid: 100, count: 200 });
  a({ op: "allocObjects", cache: "kmalloc-256", pid: 100, count: 50 });
  a({ op: "allocPages", pid: 100, kind: "file", bytes: 16 * PAGE });
  const oom = a({ op: "allocPages", pid: 101, kind: "anon", bytes: 2 * MiB }) as {
    error: string;
    oomKilledPids: number[];
  };
  expect(oom.error).toBe("OOM_KILLED");
  a({ op: "reclaim", cgroup: "/app", bytes: 4 * PAGE });
  a({ op: "createCgroup", path: "/tmp-job" });
  a({ op: "allocObjects", cache: "dentry", cgroup: "/tmp-job", count: 5 });
  a({ op: "removeCgroup", path: "/tmp-job" });

  registry.create("v1-sim", { model: "v4.5", cgroupVersion: 1 });
  const b = (cmd: Parameters<Registry["execute"]>[1]) => registry.execute("v1-sim", cmd);
  b({ op: "createCgroup", path: "/k" });
  b({ op: "updateCgroup", path: "/k", kmemMaxBytes: 8 * PAGE, memoryMaxBytes: 64 * PAGE });
  b({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  b({ op: "spawnTask", cgroup: "/k", pid: 300 });
  const enomem = b({ op: "allocObjects", cache: "dentry", pid: 300, count: 1000 }) as { error: string };
  expect(enomem.error).toBe("ENOMEM");
  b({ op: "allocPages", pid: 300, kind: "file", bytes: 70 * PAGE });
}

/**
 * A still workload for the panel values (no background ticker touches it): v4.5 on cgroup v2 with
 * a nested tree, so hierarchical counters (reclaim, charges, events) count each byte at every
 * level: reclaim in /web/a shows at /web/a, /web and /. Returns the commands per op.
 */
function dashWorkload(registry: Registry): { ops: Record<string, number>; reclaimedBytes: number } {
  registry.create("dash", { model: "v4.5", cgroupVersion: 2 });
  const ops: Record<string, number> = {};
  const a = (cmd: Parameters<Registry["execute"]>[1]) => {
    ops[cmd.op] = (ops[cmd.op] ?? 0) + 1;
    return registry.execute("dash", cmd);
  };
  a({ op: "createCgroup", path: "/web" });
  a({ op: "createCgroup", path: "/web/a" });
  a({ op: "updateCgroup", path: "/web", memoryMaxBytes: 2 * MiB });
  a({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  a({ op: "createCache", name: "kmalloc-256", objectSizeBytes: 256, flags: { account: true } });
  a({ op: "spawnTask", cgroup: "/web/a", pid: 500 });
  a({ op: "spawnTask", cgroup: "/web/a", pid: 501 });
  a({ op: "allocObjects", cache: "dentry", pid: 500, count: 300 });
  a({ op: "allocObjects", cache: "kmalloc-256", pid: 500, count: 40 });
  a({ op: "allocPages", pid: 500, kind: "file", bytes: 64 * PAGE });
  const oom = a({ op: "allocPages", pid: 501, kind: "anon", bytes: 3 * MiB }) as {
    error: string;
    reclaimedBytes: number;
  };
  expect(oom.error).toBe("OOM_KILLED"); // after reclaiming what it could
  a({ op: "allocPages", pid: 500, kind: "file", bytes: 16 * PAGE });
  const r = a({ op: "reclaim", cgroup: "/web/a", bytes: 8 * PAGE }) as { reclaimedBytes: number };
  expect(r.reclaimedBytes).toBeGreaterThanOrEqual(8 * PAGE);
  a({ op: "createCgroup", path: "/job" });
  a({ op: "allocObjects", cache: "dentry", cgroup: "/job", count: 5 });
  a({ op: "removeCgroup", path: "/job" });
  return { ops, reclaimedBytes: oom.reclaimedBytes + r.reclaimedBytes };
}

describe.skipIf(!HAS_PROMETHEUS)("a real Prometheus scraping the plugin", () => {
  let app: FastifyInstance;
  let metrics: Metrics;
  let prometheus: ChildProcess | null = null;
  let promLog = "";
  let promUrl = "";
  let dir = "";
  let ticker: NodeJS.Timeout | null = null;

  async function query(expr: string): Promise<{ status: string; data: { result: unknown[] } }> {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    return (await r.json()) as { status: string; data: { result: unknown[] } };
  }

  /** Polls until `expr` returns data, at most until the deadline. */
  async function eventually(expr: string, deadline: number): Promise<unknown[]> {
    let last: unknown = null;
    while (Date.now() < deadline) {
      try {
        const r = await query(expr);
        if (r.status === "success" && r.data.result.length > 0) return r.data.result;
        last = r;
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(
      `no data for ${expr} within ${DEADLINE_MS} ms (last: ${JSON.stringify(last)}); prometheus log:\n${promLog.slice(-2000)}`,
    );
  }

  let registry: Registry;
  let dashRun: ReturnType<typeof dashWorkload>;

  beforeAll(async () => {
    registry = new Registry();
    workload(registry);
    dashRun = dashWorkload(registry);
    metrics = createMetrics({ registry });
    app = Fastify();
    await app.register(metricsPlugin, { metrics });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const appPort = (app.server.address() as { port: number }).port;
    // a slow background workload so that rates move while Prometheus scrapes
    let n = 0;
    ticker = setInterval(() => {
      n++;
      registry.execute("v2-sim", { op: "allocObjects", cache: "dentry", pid: 100, count: 3 });
      registry.execute("v2-sim", { op: "allocPages", pid: 100, kind: "file", bytes: PAGE });
      if (n % 4 === 0) registry.execute("v2-sim", { op: "reclaim", cgroup: "/app", bytes: 2 * PAGE });
    }, 250);

    dir = mkdtempSync(join(tmpdir(), "memcg-sim-prom-"));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: memcg-sim",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${appPort}"]`,
      "  - job_name: memcg-sim-cadvisor",
      "    metrics_path: /metrics/cadvisor",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${appPort}"]`,
      "",
    ].join("\n");
    writeFileSync(join(dir, "prometheus.yml"), config);
    prometheus = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (d) => (promLog += d));
    prometheus.stderr?.on("data", (d) => (promLog += d));
    const deadline = Date.now() + DEADLINE_MS;
    await eventually('up{job="memcg-sim"} == 1', deadline);
    await eventually('up{job="memcg-sim-cadvisor"} == 1', deadline);
  });

  afterAll(async () => {
    if (ticker !== null) clearInterval(ticker);
    const p = prometheus;
    if (p !== null && p.exitCode === null) {
      const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
      p.kill("SIGTERM");
      const timer = setTimeout(() => p.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await app?.close();
    metrics?.close();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("answers every query of the Grafana dashboard with data", async () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
    const exprs = dash.panels.flatMap((p) =>
      p.targets.map((t) => ({ panel: p.title, expr: substitute(t.expr) })),
    );
    expect(exprs.length).toBeGreaterThanOrEqual(15);
    const deadline = Date.now() + DEADLINE_MS;
    const empty: string[] = [];
    for (const { panel, expr } of exprs) {
      try {
        await eventually(expr, deadline);
      } catch {
        empty.push(`${panel}: ${expr}`);
      }
    }
    expect(empty).toEqual([]);
  });

  it("answers the dashboard's template variables (label_values) with the simulations and cgroups", async () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
    const values: Record<string, string[]> = {};
    for (const v of dash.templating.list) {
      const q = typeof v.query === "string" ? v.query : v.query.query;
      const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q);
      expect(m, q).not.toBeNull();
      const [, selector, label] = m!;
      const r = await fetch(
        `${promUrl}/api/v1/label/${label}/values?match[]=${encodeURIComponent(substitute(selector))}`,
      );
      values[v.name] = ((await r.json()) as { data: string[] }).data;
    }
    expect(values.simulation).toEqual(["dash", "v1-sim", "v2-sim"]);
    expect(values.cgroup).toEqual(expect.arrayContaining(["/", "/app", "/k", "/tmp-job"]));
  });

  it("stores the values the engine holds (OOM kill, kmem failure, dying cgroup, cAdvisor limit)", async () => {
    const deadline = Date.now() + DEADLINE_MS;
    const one = async (expr: string) =>
      Number(((await eventually(expr, deadline))[0] as { value: [number, string] }).value[1]);
    expect(
      await one('memcg_sim_memory_events_total{simulation="v2-sim",cgroup="/app",event="oom_kill"}'),
    ).toBe(1);
    expect(await one('memcg_sim_charge_failures_total{simulation="v1-sim",cgroup="/k",reason="kmem"}')).toBe(
      1,
    );
    expect(await one('memcg_sim_dying_cgroups{simulation="v2-sim"}')).toBe(1);
    expect(await one('memcg_sim_memory_max_bytes{simulation="v2-sim",cgroup="/app"}')).toBe(MiB);
    expect(await one('container_spec_memory_limit_bytes{simulation="v2-sim",id="/app"}')).toBe(MiB);
    expect(await one('sum(memcg_sim_rest_request_duration_seconds_count{route="/metrics"})')).toBeGreaterThan(
      0,
    );
    expect(await one('count(process_resident_memory_bytes{job="memcg-sim"})')).toBe(1);
  });
  it("shows in every panel the engine's number for a known workload (no hierarchical double count)", async () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
    // totals instead of rates: the workload is still, so a counter's total is the engine's number
    const asTotal = (expr: string) =>
      expr
        .replace(/rate\(([^[]+)\[\$__rate_interval\]\)/g, "$1")
        .replaceAll("$simulation", "dash")
        .replaceAll("$cgroup", ".*");
    const key = (m: Record<string, string>) =>
      Object.entries(m)
        .filter(([k]) => k !== "__name__" && k !== "job" && k !== "instance")
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
    const deadline = Date.now() + DEADLINE_MS;
    const series = async (expr: string) => {
      const out: Record<string, number> = {};
      for (const r of (await eventually(expr, deadline)) as {
        metric: Record<string, string>;
        value: [number, string];
      }[])
        out[key(r.metric)] = Number(r.value[1]);
      return out;
    };

    // the engine's numbers
    const cgroups = Q.listCgroups(registry, "dash").cgroups;
    const caches = Q.listCaches(registry, "dash").caches;
    const perCgroup = (f: (c: (typeof cgroups)[number]) => number | null, extra = "") =>
      Object.fromEntries(
        cgroups.flatMap((c) => {
          const v = f(c);
          return v === null ? [] : [[`cgroup=${c.path}${extra},simulation=dash`, v]];
        }),
      );
    const byKey = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort());
    const scraped = parseText(await metrics.scrape()).filter((x) => x.labels.simulation === "dash");
    const raw = (name: string, match: Record<string, string> = {}) =>
      select(scraped, name, match).reduce((sum, x) => sum + x.value, 0);
    const rootReclaim = (source: string) => raw("memcg_sim_reclaimed_bytes_total", { cgroup: "/", source });

    const expected: Record<string, Record<string, number>> = {
      "Memory usage vs limit/A": perCgroup((c) => c.memory.usageBytes),
      "Memory usage vs limit/B": perCgroup((c) => c.memory.maxBytes),
      "Kernel memory (kmem) usage/A": perCgroup((c) => c.kmem.usageBytes),
      "Slab memory: reclaimable / unreclaimable/A": byKey({
        ...Object.fromEntries(
          cgroups.map((c) => [
            `cgroup=${c.path},simulation=dash,type=reclaimable`,
            c.stat.slabReclaimableBytes,
          ]),
        ),
        ...Object.fromEntries(
          cgroups.map((c) => [
            `cgroup=${c.path},simulation=dash,type=unreclaimable`,
            c.stat.slabUnreclaimableBytes,
          ]),
        ),
      }),
      "Memory events (max, high, oom, oom_kill)/A": byKey(
        Object.fromEntries(
          // the root has no memory.events (cgroup v2: the file is absent at the root)
          cgroups
            .filter((c) => c.path !== "/")
            .flatMap((c) =>
              (["max", "high", "oom", "oom_kill"] as const).map((e) => [
                `cgroup=${c.path},event=${e},simulation=dash`,
                c.events[e === "oom_kill" ? "oomKill" : e],
              ]),
            ),
        ),
      ),
      "Memory events (max, high, oom, oom_kill)/B": { "simulation=dash": 1 },
      // hierarchical: the root's counter is the whole simulation
      "Reclaim by source/A": {
        "simulation=dash,source=file": rootReclaim("file"),
        "simulation=dash,source=slab": rootReclaim("slab"),
      },
      "Dying cgroups/A": { "cgroup=/,simulation=dash": cgroups[0].dyingDescendantCount },
      "Slab objects per cache/A": byKey(
        Object.fromEntries(
          caches.flatMap((c) => [
            [`cache=${c.name},simulation=dash,state=active`, c.activeObjectCount],
            [`cache=${c.name},simulation=dash,state=total`, c.objectCount],
          ]),
        ),
      ),
      "Slab pages per cache/A": Object.fromEntries(
        caches.map((c) => [`cache=${c.name},simulation=dash`, c.slabCount * c.pagesPerSlab]),
      ),
      "Slab utilization per cache/A": Object.fromEntries(
        caches.map((c) => [`cache=${c.name},simulation=dash`, c.activeObjectCount / c.objectCount]),
      ),
      "Commands applied/A": Object.fromEntries(
        Object.entries(dashRun.ops).map(([op, n]) => [`op=${op},simulation=dash`, n]),
      ),
    };
    // the sum over cgroups the old "Reclaim by source" query took counts /web/a's reclaim three times
    expect(raw("memcg_sim_reclaimed_bytes_total", { source: "file" })).toBeGreaterThan(rootReclaim("file"));
    // what the workload's commands reported reclaiming, all under /web/a
    expect(rootReclaim("file") + rootReclaim("slab")).toBe(dashRun.reclaimedBytes);
    expect(cgroups[0].dyingDescendantCount).toBe(1);

    const checked: string[] = [];
    for (const p of dash.panels)
      for (const t of p.targets as { expr: string; refId: string }[]) {
        const name = `${p.title}/${t.refId}`;
        const want = expected[name];
        if (want === undefined) continue;
        expect(byKey(await series(asTotal(t.expr))), name).toEqual(byKey(want));
        checked.push(name);
      }
    expect(checked.sort()).toEqual(Object.keys(expected).sort());
  });
});

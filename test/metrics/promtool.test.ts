import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { MiB, newSim, PAGE } from "./helpers.js";

const PROMTOOL = spawnSync("promtool", ["--version"], { encoding: "utf8" }).status === 0;
if (!PROMTOOL)
  console.warn(
    "promtool not found: the promtool checks are skipped (CI installs the Debian package prometheus)",
  );

const root = fileURLToPath(new URL("../../", import.meta.url));

function promtool(args: string[], input?: string) {
  const r = spawnSync("promtool", args, { input, encoding: "utf8", cwd: root, timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

let metrics: Metrics | null = null;
afterEach(() => {
  metrics?.close();
  metrics = null;
});

/** A state where every family has samples: limits hit, an OOM kill, slab in a per-cgroup copy, a dying cgroup. */
function busyRegistry() {
  const { registry, ex } = newSim("lint", { model: "v4.5", cgroupVersion: 2 });
  ex({ op: "createCgroup", path: "/a" });
  ex({ op: "updateCgroup", path: "/a", memoryMaxBytes: MiB });
  ex({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  ex({ op: "spawnTask", cgroup: "/a", pid: 10 });
  ex({ op: "allocObjects", cache: "dentry", pid: 10, count: 50 });
  ex({ op: "allocPages", pid: 10, kind: "file", bytes: 8 * PAGE });
  ex({ op: "allocPages", pid: 10, kind: "anon", bytes: 2 * MiB });
  ex({ op: "createCgroup", path: "/gone" });
  ex({ op: "allocObjects", cache: "dentry", cgroup: "/gone", count: 3 });
  ex({ op: "removeCgroup", path: "/gone" });
  return registry;
}

describe.skipIf(!PROMTOOL)("promtool", () => {
  it("finds nothing to report in our own families (/metrics without prom-client's process metrics)", async () => {
    metrics = createMetrics({ registry: busyRegistry(), defaultMetrics: false });
    metrics.observeRest("/v1/instances/:name", "GET", 200, 0.003);
    metrics.observeGrpc("GetCgroup", 0, 0.001);
    const text = await metrics.scrape();
    expect(text).toContain("memcg_sim_memory_events_total");
    const r = promtool(["check", "metrics"], text);
    expect(r.out.trim()).toBe("");
    expect(r.status).toBe(0);
  });

  it("reports on /metrics/cadvisor only cAdvisor's own counter name container_memory_failcnt", async () => {
    metrics = createMetrics({ registry: busyRegistry(), defaultMetrics: false });
    const r = promtool(["check", "metrics"], await metrics.cadvisorText());
    // cAdvisor exports container_memory_failcnt as a counter without _total; the name is kept for dashboards
    expect(r.out.trim()).toBe('container_memory_failcnt counter metrics should have "_total" suffix');
    expect(r.status).toBe(3);
  });

  it("reports on the full /metrics only prom-client's nodejs_*_total gauges (promtool 2.42 exits 3 on that lint finding)", async () => {
    metrics = createMetrics({ registry: busyRegistry() });
    const r = promtool(["check", "metrics"], await metrics.scrape());
    // exit 3 = lint findings only (a parse error would be 1)
    expect([0, 3]).toContain(r.status);
    const findings = r.out.split("\n").filter((l) => l.trim() !== "");
    for (const f of findings) expect(f).toMatch(/^nodejs_/);
  });

  it("accepts docker/prometheus.yml", () => {
    const r = promtool(["check", "config", "docker/prometheus.yml"]);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });
});

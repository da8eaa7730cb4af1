import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { metricsPlugin } from "../../src/metrics/plugin.js";
import { newSim, parseText, select, value } from "./helpers.js";

let app: FastifyInstance | null = null;
let metrics: Metrics | null = null;
afterEach(async () => {
  await app?.close();
  metrics?.close();
  app = null;
  metrics = null;
});

async function build(register: "plugin" | "call") {
  const { registry, ex } = newSim("p", { model: "v5.9" });
  ex({ op: "createCgroup", path: "/web" });
  metrics = createMetrics({ registry });
  app = Fastify();
  // a route declared before the plugin, as src/rest/app.ts declares its routes
  app.get("/v1/instances/:name", async (req) => ({ name: (req.params as { name: string }).name }));
  if (register === "plugin") await app.register(metricsPlugin, { metrics });
  else await metricsPlugin(app, { metrics });
  app.get("/late", async () => ({ ok: true }));
  await app.ready();
  return app;
}

describe("metricsPlugin", () => {
  it("serves /metrics and /metrics/cadvisor as Prometheus text 0.0.4", async () => {
    const a = await build("plugin");
    const m = await a.inject({ method: "GET", url: "/metrics" });
    expect(m.statusCode).toBe(200);
    expect(m.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const s = parseText(m.body);
    expect(value(s, "memcg_sim_memory_usage_bytes", { simulation: "p", cgroup: "/web" })).toBe(0);
    // prom-client's process metrics are on /metrics
    expect(select(s, "process_cpu_user_seconds_total").length).toBe(1);
    const c = await a.inject({ method: "GET", url: "/metrics/cadvisor" });
    expect(c.statusCode).toBe(200);
    expect(c.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(
      value(parseText(c.body), "container_spec_memory_limit_bytes", { simulation: "p", id: "/web" }),
    ).toBe(0);
  });

  for (const how of ["plugin", "call"] as const) {
    it(`times every route by its pattern, unmatched ones as "unmatched" (${how})`, async () => {
      const a = await build(how);
      await a.inject({ method: "GET", url: "/v1/instances/p" });
      await a.inject({ method: "GET", url: "/v1/instances/q" });
      await a.inject({ method: "GET", url: "/late" });
      await a.inject({ method: "GET", url: "/no/such/route" });
      const s = parseText((await a.inject({ method: "GET", url: "/metrics" })).body);
      const count = (route: string, status: string) =>
        value(s, "memcg_sim_rest_request_duration_seconds_count", {
          route,
          method: "GET",
          status_code: status,
        });
      expect(count("/v1/instances/:name", "200")).toBe(2);
      expect(count("/late", "200")).toBe(1);
      expect(count("unmatched", "404")).toBe(1);
      expect(select(s, "memcg_sim_rest_request_duration_seconds_count", { route: "/no/such/route" })).toEqual(
        [],
      );
    });
  }

  it("records gRPC calls by method and status name", async () => {
    const { registry } = newSim("g");
    metrics = createMetrics({ registry, defaultMetrics: false });
    metrics.observeGrpc("GetCgroup", 0, 0.002);
    metrics.observeGrpc("GetCgroup", 5, 0.001);
    metrics.observeGrpc("GetCgroup", "NOT_FOUND", 0.001);
    const s = parseText(await metrics.scrape());
    expect(
      value(s, "memcg_sim_grpc_request_duration_seconds_count", { method: "GetCgroup", code: "OK" }),
    ).toBe(1);
    expect(
      value(s, "memcg_sim_grpc_request_duration_seconds_count", { method: "GetCgroup", code: "NOT_FOUND" }),
    ).toBe(2);
    expect(
      value(s, "memcg_sim_grpc_request_duration_seconds_bucket", {
        method: "GetCgroup",
        code: "OK",
        le: "0.0025",
      }),
    ).toBe(1);
  });

  it("uses its own prom-client registry, not the global one", async () => {
    const { register } = await import("prom-client");
    const { registry } = newSim("x");
    metrics = createMetrics({ registry });
    expect(metrics.promRegistry).not.toBe(register);
    expect(await register.getSingleMetric("memcg_sim_memory_usage_bytes")).toBeUndefined();
    expect(metrics.promRegistry.getSingleMetric("memcg_sim_memory_usage_bytes")).toBeDefined();
  });
});

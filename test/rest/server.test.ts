import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { cli } from "../../src/cli/main.js";
import { DEFAULT_SERVER_LIMITS } from "../../src/registry.js";
import { ConfigError, parseServerConfig } from "../../src/server-config.js";
import { startServer } from "../../src/server.js";
import { build, expectProblem, json } from "./helpers.js";

describe("health (docs/API.md §1)", () => {
  it("answers livez always and readyz/healthz 503 NOT_READY until the caller sets ready", async () => {
    const readiness = { ready: false };
    const { call } = await build({ readiness });
    expect(json(await call("GET", "/livez"))).toEqual({ status: "ok" });
    expectProblem(await call("GET", "/readyz"), 503, "NOT_READY");
    expectProblem(await call("GET", "/healthz"), 503, "NOT_READY");
    readiness.ready = true;
    expect(json(await call("GET", "/readyz"))).toEqual({ status: "ok" });
    expect(json(await call("GET", "/healthz"))).toEqual({ status: "ok" });
  });

  it("serves the contract at /openapi.yaml and swagger-ui at /docs", async () => {
    const { call } = await build();
    const y = await call("GET", "/openapi.yaml");
    expect(y.headers["content-type"]).toBe("application/yaml; charset=utf-8");
    expect(y.body).toContain("openapi: 3.1.0");
    expect((await call("GET", "/docs")).headers["content-type"]).toContain("text/html");
    expect(json(await call("GET", "/docs/json")).openapi).toBe("3.1.0");
  });
});

describe("server config (docs/API.md §1)", () => {
  it("has the documented defaults", () => {
    expect(parseServerConfig({})).toEqual({
      host: "127.0.0.1",
      httpPort: 8080,
      grpcPort: 50051,
      dataDir: "./data",
      logLevel: "info",
      demo: true,
      limits: DEFAULT_SERVER_LIMITS,
      apiToken: null,
      recover: "refuse",
      maxDataBytes: 0,
      compact: true,
    });
  });

  it("reads the environment, and flags override it", () => {
    const env = {
      MEMCG_SIM_HOST: "0.0.0.0",
      MEMCG_SIM_HTTP_PORT: "0",
      MEMCG_SIM_GRPC_PORT: "9",
      MEMCG_SIM_DATA_DIR: "none",
      MEMCG_SIM_LOG_LEVEL: "warn",
      MEMCG_SIM_DEMO: "0",
    };
    expect(parseServerConfig(env)).toEqual({
      host: "0.0.0.0",
      httpPort: 0,
      grpcPort: 9,
      dataDir: "none",
      logLevel: "warn",
      demo: false,
      limits: DEFAULT_SERVER_LIMITS,
      apiToken: null,
      recover: "refuse",
      maxDataBytes: 0,
      compact: true,
    });
    expect(parseServerConfig(env, ["--http-port", "18080", "--demo=1", "--log-level=debug"])).toMatchObject({
      httpPort: 18080,
      demo: true,
      logLevel: "debug",
    });
  });

  it("refuses bad values and unknown flags instead of ignoring them", () => {
    expect(() => parseServerConfig({ MEMCG_SIM_HTTP_PORT: "70000" })).toThrow(ConfigError);
    expect(() => parseServerConfig({ MEMCG_SIM_LOG_LEVEL: "loud" })).toThrow(ConfigError);
    expect(() => parseServerConfig({ MEMCG_SIM_DEMO: "yes" })).toThrow(ConfigError);
    expect(() => parseServerConfig({}, ["--port", "1"])).toThrow(ConfigError);
    expect(() => parseServerConfig({}, ["--http-port"])).toThrow(ConfigError);
    expect(() => parseServerConfig({ MEMCG_SIM_COMPACT: "yes" })).toThrow(ConfigError);
    expect(parseServerConfig({ MEMCG_SIM_COMPACT: "on" }, ["--compact=off"]).compact).toBe(false);
  });
});

describe("startServer", () => {
  it("binds REST and gRPC on free ports, creates the demo with moving numbers, and closes cleanly", async () => {
    const config = parseServerConfig({
      MEMCG_SIM_HTTP_PORT: "0",
      MEMCG_SIM_GRPC_PORT: "0",
      MEMCG_SIM_DATA_DIR: "none",
    });
    const server = await startServer(config, pino({ level: "silent" }), { demoTickMs: 20 });
    try {
      expect(server.httpPort).toBeGreaterThan(0);
      expect(server.grpcPort).toBeGreaterThan(0);
      const base = `http://127.0.0.1:${server.httpPort}`;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const names = (
        (await (await fetch(`${base}/v1/instances`)).json()) as { instances: { name: string }[] }
      ).instances.map((i: { name: string }) => i.name);
      expect(names).toEqual(["demo", "demo-v59"]);
      const demo = (await (await fetch(`${base}/v1/instances/demo`)).json()) as { config: unknown };
      expect(demo.config).toMatchObject({
        model: "rfc-2012",
        cgroupVersion: 1,
        kmemIndependentAccounting: true,
      });
      const v59 = (await (await fetch(`${base}/v1/instances/demo-v59`)).json()) as { config: unknown };
      expect(v59.config).toMatchObject({ model: "v5.9", cgroupVersion: 2 });
      const cgroups = (
        (await (await fetch(`${base}/v1/instances/demo/cgroups`)).json()) as { cgroups: { path: string }[] }
      ).cgroups.map((c: { path: string }) => c.path);
      expect(cgroups).toEqual(["/", "/system", "/workload", "/workload/a", "/workload/b"]);
      // the background workload moves the numbers (bounded wait)
      let kmem = "0\n";
      for (let i = 0; i < 50 && kmem === "0\n"; i++) {
        await new Promise((r) => setTimeout(r, 20));
        kmem = await (await fetch(`${base}/v1/instances/demo/fs/workload/memory.kmem.usage_in_bytes`)).text();
      }
      expect(Number(kmem)).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
    await server.close(); // safe twice
  });
});

describe("cli", () => {
  it("runs a scenario file and prints the final state as JSON", async () => {
    let out = "";
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) } };
    expect(await cli(["run", "examples/quickstart.json", "--json"], io)).toBe(0);
    const state = JSON.parse(out);
    expect(state.instance.config.model).toBe("v5.9");
    expect(state.run).toEqual({ commandCount: 7, errorCount: 0, errors: [] });
    const app = state.cgroups.find((c: { path: string }) => c.path === "/app");
    expect(app.caches).toEqual([
      {
        name: "dentry",
        displayName: "dentry",
        activeObjectCount: 11,
        objectCount: 11,
        slabCount: 0,
        state: "shared",
      },
    ]);
  });

  it("prints tables without --json, usage with --help, and exits 2 on unknown commands", async () => {
    let out = "";
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) } };
    expect(await cli(["run", "examples/dying-cgroup.json"], io)).toBe(0);
    expect(out).toMatch(/^\/jobs\/build\s+dying/m);
    out = "";
    expect(await cli(["run", "--help"], io)).toBe(0);
    expect(out).toContain("Usage: memcg-sim run FILE [--json]");
    expect(await cli(["frobnicate"], io)).toBe(2);
    expect(await cli(["run", "does-not-exist.json"], io)).toBe(1);
  });
});

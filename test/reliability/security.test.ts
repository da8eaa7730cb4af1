import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import { parseServerConfig } from "../../src/server-config.js";
import { startServer } from "../../src/server.js";
import { json, startBoth, unary } from "./helpers.js";

function healthCheck(address: string, service: string): Promise<string> {
  const def = protoLoader.loadSync(healthProtoPath, { enums: String });
  const Health = (grpc.loadPackageDefinition(def).grpc as grpc.GrpcObject).health as grpc.GrpcObject;
  const Ctor = (Health.v1 as grpc.GrpcObject).Health as grpc.ServiceClientConstructor;
  const client = new Ctor(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.check({ service }, (err: grpc.ServiceError | null, res: { status: string }) => {
      client.close();
      return err ? reject(err) : resolve(res.status);
    }),
  );
}

const TOKEN = "s3cret-token-for-tests";
const auth = { authorization: `Bearer ${TOKEN}` };

describe("API token (MEMCG_SIM_API_TOKEN / --api-token)", () => {
  it("REST: every /v1 route, reads included, needs the bearer token; probes, metrics and docs stay open", async () => {
    const s = await startBoth({ apiToken: TOKEN });
    for (const [method, url] of [
      ["POST", "/v1/instances"],
      ["GET", "/v1/instances"],
      ["GET", "/v1/instances/x/cgroups"],
      ["DELETE", "/v1/instances/x"],
      ["PUT", "/v1/instances/x/fs/memory.max"],
      ["GET", "/v1/instances/x/export"],
      ["POST", "/v1/instances/import"],
      ["GET", "/v1/no-such-route"],
      ["GET", "/nothing-here"],
    ] as const) {
      for (const headers of [
        {},
        { authorization: "Bearer wrong" },
        { authorization: TOKEN },
        { authorization: `Basic ${TOKEN}` },
      ] as Record<string, string>[]) {
        const r = await s.call(method, url, undefined, headers);
        expect(r.statusCode, `${method} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
        expect(r.headers["www-authenticate"]).toBe('Bearer realm="memcg-sim"');
        expect(json(r)).toMatchObject({ status: 401, code: "UNAUTHENTICATED" });
      }
    }
    expect((await s.call("POST", "/v1/instances", { name: "t" }, auth)).statusCode).toBe(201);
    expect(
      (await s.call("GET", "/v1/instances/t", undefined, { authorization: `bearer ${TOKEN}` })).statusCode,
    ).toBe(200);
    for (const url of [
      "/livez",
      "/readyz",
      "/healthz",
      "/metrics",
      "/metrics/cadvisor",
      "/openapi.yaml",
      "/docs",
    ])
      expect((await s.call("GET", url)).statusCode, url).toBe(200);
  });

  it("gRPC: every call but health needs `authorization: Bearer <token>` → UNAUTHENTICATED with the trailer", async () => {
    const s = await startBoth({ apiToken: TOKEN });
    for (const md of [undefined, { authorization: "Bearer nope" }, { authorization: TOKEN }]) {
      for (const [m, req] of [
        ["CreateInstance", { name: "t" }],
        ["ListInstances", {}],
        ["ExportInstance", { name: "t" }],
      ] as const) {
        const o = await s.rpc(m, req, md);
        expect(o.code).toBe(grpc.status.UNAUTHENTICATED);
        expect(o.errorCode).toBe("UNAUTHENTICATED");
      }
      const w = await new Promise<grpc.ServiceError>((resolve) =>
        s.watch({ instance: "t" }, md).on("error", resolve),
      );
      expect(w.code).toBe(grpc.status.UNAUTHENTICATED);
    }
    expect((await s.rpc("CreateInstance", { name: "t" }, auth)).ok).toBe(true);
    expect(s.registry.list().map((e) => e.name)).toEqual(["t"]);
    expect(await healthCheck(s.grpcAddress, "")).toBe("SERVING");
  });

  it("parses the token from env and flag, and refuses one with spaces", () => {
    expect(parseServerConfig({ MEMCG_SIM_API_TOKEN: "abc" }).apiToken).toBe("abc");
    expect(parseServerConfig({ MEMCG_SIM_API_TOKEN: "abc" }, ["--api-token", "def"]).apiToken).toBe("def");
    expect(parseServerConfig({}).apiToken).toBeNull();
    expect(() => parseServerConfig({ MEMCG_SIM_API_TOKEN: "a b" })).toThrow(/printable/);
  });
});

describe("no stack traces in any response", () => {
  it("a forced internal error answers 500 / INTERNAL with a fixed text on both transports", async () => {
    const s = await startBoth();
    await s.call("POST", "/v1/instances", { name: "t" });
    const secret = "SECRET-INTERNAL-DETAIL";
    const spy = vi.spyOn(s.registry, "execute").mockImplementation(() => {
      throw new TypeError(`${secret} at /work/main/src/engine/instance.ts:1:1`);
    });
    const r = await s.call("POST", "/v1/instances/t/clock/advance", { ms: 1 });
    expect(r.statusCode).toBe(500);
    expect(json(r)).toEqual({
      type: "about:blank",
      title: "Internal error",
      status: 500,
      detail: "internal error; the server log has the cause",
      code: "INTERNAL",
    });
    const o = await s.rpc("AdvanceClock", { instance: "t", ms: 1 });
    expect(o.code).toBe(grpc.status.INTERNAL);
    expect(o.details).toBe("internal error");
    for (const text of [r.body, JSON.stringify(o)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toMatch(/\bat .*\.ts:\d+/);
    }
    spy.mockRestore();
    expect((await s.call("POST", "/v1/instances/t/clock/advance", { ms: 1 })).statusCode).toBe(200);
  });
});

describe("wiring of src/server.ts", () => {
  it("serves /metrics with REST and gRPC request durations, readiness on both transports, and shuts down cleanly", async () => {
    const config = parseServerConfig({
      MEMCG_SIM_HTTP_PORT: "0",
      MEMCG_SIM_GRPC_PORT: "0",
      MEMCG_SIM_DATA_DIR: "none",
      MEMCG_SIM_DEMO: "0",
    });
    const server = await startServer(config, pino({ level: "silent" }));
    const base = `http://127.0.0.1:${server.httpPort}`;
    try {
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      await fetch(`${base}/v1/instances`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"name":"m"}',
      });
      expect(await healthCheck(`127.0.0.1:${server.grpcPort}`, "memcg_sim.v1.SimulatorService")).toBe(
        "SERVING",
      );
      const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
      expect((await unary(client, "GetInstance", { name: "m" })).ok).toBe(true);
      client.close();
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(
        /memcg_sim_rest_request_duration_seconds_count\{route="\/v1\/instances",method="POST",status_code="201"\} 1/,
      );
      expect(text).toMatch(
        /memcg_sim_grpc_request_duration_seconds_count\{method="GetInstance",code="OK"\} 1/,
      );
      expect(text).toMatch(/memcg_sim_memory_usage_bytes\{simulation="m",cgroup="\/"\} 0/);
      expect((await fetch(`${base}/metrics/cadvisor`)).status).toBe(200);
      // export works on the real wiring (the persistence's command log)
      expect((await fetch(`${base}/v1/instances/m/export`)).status).toBe(200);
    } finally {
      await server.close();
    }
    await expect(fetch(`${base}/readyz`)).rejects.toThrow();
  });
});

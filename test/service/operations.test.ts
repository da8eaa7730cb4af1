import { describe, expect, it } from "vitest";
import { COMMAND_OPERATIONS, OPERATION_OF_OP } from "../../src/commands/operations.js";
import { OPS } from "../../src/engine/index.js";
import { loadSimulatorPackage, SIMULATOR_SERVICE } from "../../src/grpc/proto.js";
import { registeredRoutes } from "../../src/rest/app.js";
import { ROUTES } from "../../src/rest/openapi/routes.js";
import { type Obj, startTestServer } from "../grpc/helpers.js";
import { build, json } from "../rest/helpers.js";

/** A path with every parameter as `_` (fastify's `:x` and `*`, OpenAPI's `{x}`). */
const shape = (path: string) => path.replace(/\{[^}/]*\}/g, "_").replace(/:\w+/g, "_").replace(/\*$/, "_");

describe("the operation table (src/commands/operations.ts)", () => {
  it("has one row per command op", () => {
    expect(COMMAND_OPERATIONS.map((r) => r.op).sort()).toEqual([...OPS].sort());
    for (const op of OPS) expect(OPERATION_OF_OP[op].op).toBe(op);
  });

  it("every row is served by REST and by gRPC, and documented in openapi.yaml", async () => {
    const { app } = await build();
    await app.ready();
    const rest = new Set((registeredRoutes.get(app) ?? []).map((r) => `${r.method} ${shape(r.url)}`));
    const rpcs = new Set(Object.keys(loadSimulatorPackage()[SIMULATOR_SERVICE] as object));
    const documented = new Set(ROUTES.map((r) => `${r.method.toUpperCase()} ${shape(r.path)}`));
    for (const row of COMMAND_OPERATIONS) {
      const route = `${row.rest.method} ${shape(row.rest.path)}`;
      expect(rest.has(route), `${row.op}: REST ${route}`).toBe(true);
      expect(documented.has(route), `${row.op}: openapi ${route}`).toBe(true);
      expect(rpcs.has(row.rpc), `${row.op}: RPC ${row.rpc}`).toBe(true);
    }
  });

  it("a row answers the same over both transports (REST result = gRPC response or its resource field)", async () => {
    const { call } = await build();
    const t = await startTestServer();
    try {
      await call("POST", "/v1/instances", { name: "p" });
      await t.rpc("CreateInstance", { name: "p" });
      const rest = json(await call("POST", "/v1/instances/p/cgroups", { path: "/a" }));
      const grpc = (await t.rpc("CreateCgroup", { instance: "p", path: "/a" })) as Obj;
      expect(OPERATION_OF_OP.createCgroup.resultField).toBe("cgroup");
      expect((grpc.cgroup as Obj).path).toBe(rest.path);
      const restSpawn = json(await call("POST", "/v1/instances/p/tasks", { pid: 10, cgroup: "/a" }));
      const grpcSpawn = (await t.rpc("SpawnTask", { instance: "p", pid: 10, cgroup: "/a" })) as Obj;
      expect((grpcSpawn.task as Obj).pid).toBe(restSpawn.pid);
      expect((grpcSpawn.task as Obj).cgroup).toBe(restSpawn.cgroup);
    } finally {
      await t.close();
    }
  });
});

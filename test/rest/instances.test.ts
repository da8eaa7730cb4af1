import { describe, expect, it } from "vitest";
import { build, expectProblem, json } from "./helpers.js";

describe("instances (docs/API.md §3)", () => {
  it("creates an instance with every config field resolved", async () => {
    const { call } = await build();
    const r = await call("POST", "/v1/instances", { name: "a1", config: { model: "v5.9" } });
    expect(r.statusCode).toBe(201);
    expect(json(r)).toEqual({
      name: "a1",
      config: {
        model: "v5.9",
        cgroupVersion: 2,
        memoryBytes: 8589934592,
        cpuCount: 4,
        pageSizeBytes: 4096,
        kmemIndependentAccounting: false,
        reclaimOnKmemFailure: false,
        chargeBatchPages: 32,
        maxReclaimRetries: 16,
        slubMaxOrder: 3,
        slubMinObjects: 0,
        minPartial: null,
        cacheCreationDelayMs: 0,
        seed: 1,
      },
      clockMs: 0,
      cgroupCount: 1,
      taskCount: 0,
      cacheCount: 0,
      liveObjectCount: 0,
      commandCount: 0,
    });
  });

  it("lists by name, gets, deletes with 204 and then answers 404", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "zeta" });
    await call("POST", "/v1/instances", { name: "alpha" });
    expect(json(await call("GET", "/v1/instances")).instances.map((i: { name: string }) => i.name)).toEqual([
      "alpha",
      "zeta",
    ]);
    expect(json(await call("GET", "/v1/instances/zeta")).config.model).toBe("v6.18");
    const d = await call("DELETE", "/v1/instances/zeta");
    expect(d.statusCode).toBe(204);
    expect(d.body).toBe("");
    expectProblem(await call("GET", "/v1/instances/zeta"), 404, "INSTANCE_NOT_FOUND");
    expectProblem(await call("DELETE", "/v1/instances/zeta"), 404, "INSTANCE_NOT_FOUND");
  });

  it("resets to the freshly created state with the same config", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "r", config: { cpuCount: 2 } });
    await call("POST", "/v1/instances/r/cgroups", { path: "/a" });
    await call("POST", "/v1/instances/r/clock/advance", { ms: 10 });
    const before = json(await call("GET", "/v1/instances/r"));
    expect(before).toMatchObject({ cgroupCount: 2, clockMs: 10, commandCount: 2 });
    const r = await call("POST", "/v1/instances/r/reset");
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({
      name: "r",
      cgroupCount: 1,
      clockMs: 0,
      commandCount: 0,
      config: { cpuCount: 2 },
    });
    // an empty JSON body is "no body", as curl -X POST -H 'content-type: application/json' sends it
    const again = await call("POST", "/v1/instances/r/reset", "", { "content-type": "application/json" });
    expect(again.statusCode).toBe(200);
  });

  it("refuses a taken name (409), a bad name (400), unknown config keys (400) and a full registry (429)", async () => {
    const { call } = await build({ limits: { maxInstances: 2 } });
    await call("POST", "/v1/instances", { name: "x" });
    expectProblem(await call("POST", "/v1/instances", { name: "x" }), 409, "INSTANCE_EXISTS");
    const bad = expectProblem(
      await call("POST", "/v1/instances", { name: "Bad_Name" }),
      400,
      "INVALID_ARGUMENT",
    );
    expect(bad.details.issues).toEqual([{ path: "name", message: "must match ^[a-z][a-z0-9-]{0,62}$" }]);
    const unknown = expectProblem(
      await call("POST", "/v1/instances", { name: "y", config: { modle: "v5.9" } }),
      400,
      "INVALID_ARGUMENT",
    );
    expect(unknown.details.issues).toEqual([{ path: "config", message: 'Unrecognized key: "modle"' }]);
    const range = expectProblem(
      await call("POST", "/v1/instances", { name: "y", config: { model: "v9" } }),
      400,
      "INVALID_ARGUMENT",
    );
    expect(range.details.issues[0].path).toBe("config.model");
    expectProblem(
      await call("POST", "/v1/instances", { name: "y", config: { memoryBytes: 4096 } }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(await call("POST", "/v1/instances", {}), 400, "INVALID_ARGUMENT");
    await call("POST", "/v1/instances", { name: "y" });
    expectProblem(await call("POST", "/v1/instances", { name: "z" }), 429, "LIMIT_EXCEEDED");
  });

  it("calls flush after every accepted mutation (the persistence group commit)", async () => {
    let flushes = 0;
    const { call } = await build({ flush: () => flushes++ });
    await call("POST", "/v1/instances", { name: "f" });
    await call("POST", "/v1/instances/f/cgroups", { path: "/a" });
    await call("POST", "/v1/instances/f/reset");
    await call("DELETE", "/v1/instances/f");
    expect(flushes).toBe(4);
  });
});

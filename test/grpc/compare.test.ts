import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, json } from "../rest/helpers.js";
import { startTestServer, type TestServer } from "./helpers.js";

const SMALL = readFileSync("examples/small-two-cgroups.json", "utf8");

/** `Compare`, the gRPC twin of `POST /v1/compare` (docs/API.md §10): same rows, same JSON. */
describe("Compare RPC", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it("answers the REST route's rows and, in result_json, its body byte for byte", async () => {
    const models = ["v5.9", "v4.5", "rfc-2012"];
    const { call } = await build();
    const rest = await call("POST", "/v1/compare", { scenario: JSON.parse(SMALL), models });
    expect(rest.statusCode).toBe(200);
    const r = await t.rpc("Compare", { scenarioJson: SMALL, models });
    expect(r.resultJson).toBe(rest.body);
    expect(r.models).toEqual(json(rest).models);
    // the numbers test/compare/compare.test.ts derives by hand for this scenario
    expect(
      (r.models as { model: string; slabBytes: number; dyingCgroupCount: number }[]).map((m) => [
        m.model,
        m.slabBytes,
        m.dyingCgroupCount,
      ]),
    ).toEqual([
      ["v5.9", 16384, 0],
      ["v4.5", 24576, 1],
      ["rfc-2012", 16384, 1],
    ]);
    expect(r.description).toBe(JSON.parse(SMALL).description);
  });

  it("runs every model when none is named, in the documented order", async () => {
    const r = await t.rpc("Compare", { scenarioJson: SMALL });
    expect((r.models as { model: string }[]).map((m) => m.model)).toEqual([
      "rfc-2012",
      "v3.8",
      "v4.5",
      "v5.9",
      "v6.18",
    ]);
  });

  it("refuses a bad scenario as REST does: INVALID_ARGUMENT with the same code and issue paths", async () => {
    const notJson = await t.rpcError("Compare", { scenarioJson: "{nope" });
    expect(notJson.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(notJson.errorCode).toBe("INVALID_ARGUMENT");
    expect(notJson.details).toMatch(/^scenario_json is not JSON/);
    const badModel = await t.rpcError("Compare", { scenarioJson: SMALL, models: ["v9.9"] });
    expect(badModel.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badModel.details).toContain("models.0");
    const scenario = { commands: [{ op: "nope" }] };
    const badCommand = await t.rpcError("Compare", { scenarioJson: JSON.stringify(scenario) });
    expect(badCommand.code).toBe(grpc.status.INVALID_ARGUMENT);
    const { call } = await build();
    const rest = await call("POST", "/v1/compare", { scenario });
    expect(rest.statusCode).toBe(400);
    expect(badCommand.details).toBe(json(rest).detail);
  });
});

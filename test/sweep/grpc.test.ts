import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runSweepCli } from "../../src/sweep/cli.js";
import { type Obj, startTestServer, type TestServer } from "../grpc/helpers.js";
import { io, SMALL_SPEC, tmp, writeSpec } from "./helpers.js";

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe("gRPC StartSweep / GetSweep / GetSweepResults (the twin of POST /v1/sweeps)", () => {
  it("runs a sweep whose results are the bytes the CLI writes", async () => {
    t = await startTestServer();
    const started = (await t.rpc("StartSweep", { specJson: JSON.stringify(SMALL_SPEC) })).sweep as Obj;
    expect(started).toMatchObject({ id: "sweep-1", state: "running", pointCount: 8, error: null });
    const deadline = Date.now() + 120_000;
    let s = started;
    while (s.state === "running" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      s = (await t.rpc("GetSweep", { id: "sweep-1" })).sweep as Obj;
    }
    expect(s).toMatchObject({ state: "done", pointsDone: 8, error: null });
    const { resultsJsonl } = await t.rpc("GetSweepResults", { id: "sweep-1" });
    const d = tmp();
    expect(await runSweepCli([writeSpec(d), "--out", join(d, "cli"), "--workers", "0"], io().io)).toBe(0);
    expect(resultsJsonl).toBe(readFileSync(join(d, "cli", "results.jsonl"), "utf8"));
    expect(((await t.rpc("ListSweeps")).sweeps as Obj[]).map((x) => x.id)).toEqual(["sweep-1"]);
  }, 180_000);

  it("maps refusals to gRPC statuses with the REST code in the trailer", async () => {
    t = await startTestServer();
    const notJson = await t.rpcError("StartSweep", { specJson: "{" });
    expect([notJson.code, notJson.errorCode]).toEqual([grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT"]);
    const badAxis = await t.rpcError("StartSweep", {
      specJson: JSON.stringify({
        ...SMALL_SPEC,
        axes: [{ name: "n", path: "config.cpuCount", values: [0] }],
      }),
    });
    expect([badAxis.code, badAxis.errorCode]).toEqual([grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT"]);
    expect(badAxis.details).toContain("axes.0.values.0");
    const missing = await t.rpcError("GetSweep", { id: "sweep-9" });
    expect([missing.code, missing.errorCode]).toEqual([grpc.status.NOT_FOUND, "NOT_FOUND"]);
    // the server's default limit: 2 sweeps running at once
    const example = JSON.stringify(parse(readFileSync("examples/sweep.yaml", "utf8")));
    await t.rpc("StartSweep", { specJson: example });
    await t.rpc("StartSweep", { specJson: example });
    const early = await t.rpcError("GetSweepResults", { id: "sweep-1" });
    expect([early.code, early.errorCode]).toEqual([grpc.status.FAILED_PRECONDITION, "EAGAIN"]);
    const third = await t.rpcError("StartSweep", { specJson: example });
    expect([third.code, third.errorCode]).toEqual([grpc.status.RESOURCE_EXHAUSTED, "LIMIT_EXCEEDED"]);
  }, 60_000);
});

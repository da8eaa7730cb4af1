import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { build, expectProblem, json } from "./helpers.js";

const SMALL = JSON.parse(readFileSync("examples/small-two-cgroups.json", "utf8"));

describe("POST /v1/compare (docs/API.md §11)", () => {
  it("answers the rows of `compare --json` for the models asked, in that order", async () => {
    const { call } = await build();
    const r = await call("POST", "/v1/compare", { scenario: SMALL, models: ["v5.9", "v4.5"] });
    expect(r.statusCode).toBe(200);
    // the numbers test/compare/compare.test.ts derives by hand for this scenario
    expect(json(r).models).toEqual([
      {
        model: "v5.9",
        slabBytes: 16384,
        slabPageCount: 4,
        slabUtilization: 0.3046875,
        kmemChargedBytes: 4096,
        // /a's page charges took one 32-page batch (MEMCG_CHARGE_BATCH, 5.9); /b's was drained at rmdir
        memoryChargedBytes: 131072,
        dyingCgroupCount: 0,
        chargeFailureCount: 0,
        oomKillCount: 0,
      },
      {
        model: "v4.5",
        slabBytes: 24576,
        slabPageCount: 6,
        slabUtilization: 0.203125,
        kmemChargedBytes: 12288,
        // /a: one 32-page batch; the removed /b: its one slab page (its stock was drained at rmdir)
        memoryChargedBytes: 135168,
        dyingCgroupCount: 1,
        chargeFailureCount: 0,
        oomKillCount: 0,
      },
    ]);
  });

  it("runs on fresh instances, never on the registry's", async () => {
    const { call, registry } = await build();
    await call("POST", "/v1/compare", { scenario: SMALL, models: ["rfc-2012"] });
    expect(registry.list()).toEqual([]);
  });

  it("refuses an unknown model and an invalid scenario with 400 INVALID_ARGUMENT and issue paths", async () => {
    const { call } = await build();
    const a = expectProblem(
      await call("POST", "/v1/compare", { scenario: SMALL, models: ["v9.9"] }),
      400,
      "INVALID_ARGUMENT",
    );
    expect(a.details.issues[0].path).toBe("models.0");
    const b = expectProblem(
      await call("POST", "/v1/compare", { scenario: { commands: [{ op: "nope" }] } }),
      400,
      "INVALID_ARGUMENT",
    );
    expect(b.details.issues[0].path).toMatch(/^scenario\.commands\.0/);
    expectProblem(await call("POST", "/v1/compare", { scenario: SMALL, extra: 1 }), 400, "INVALID_ARGUMENT");
  });
});

describe("POST /v1/compare over a real connection", () => {
  it("runs a scenario past the point where it yields to the event loop (5000 commands) to the end", async () => {
    const { app } = await build();
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const commands = Array.from({ length: 12_000 }, () => ({ op: "advanceClock", ms: 1 }));
    const r = await fetch(`http://127.0.0.1:${port}/v1/compare`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ scenario: { commands }, models: ["v5.9"] }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { runs: { commandCount: number }[] };
    expect(body.runs[0].commandCount).toBe(12_000);
  });
});

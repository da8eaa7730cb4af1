import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runSweepCli } from "../../src/sweep/cli.js";
import {
  DEFAULT_SWEEP_SERVICE_LIMITS,
  SweepService,
  type SweepServiceLimits,
} from "../../src/sweep/service.js";
import { build, expectProblem, json } from "../rest/helpers.js";
import { io, SMALL_SPEC, tmp, writeSpec } from "./helpers.js";

// the answers must match openapi.yaml's components (JSON Schema 2020-12, OpenAPI 3.1's dialect)
// biome-ignore lint/suspicious/noExplicitAny: the parsed document is walked by key
const doc: any = parse(readFileSync("openapi.yaml", "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: "openapi", components: { schemas: doc.components.schemas } });
function matches(schema: string, body: unknown): void {
  const validate = ajv.getSchema(`openapi#/components/schemas/${schema}`)!;
  if (!validate(body))
    throw new Error(`${schema}: ${ajv.errorsText(validate.errors)}: ${JSON.stringify(body)}`);
}

const services: SweepService[] = [];
afterEach(async () => {
  while (services.length > 0) await services.pop()!.close();
});

async function app(limits: Partial<SweepServiceLimits> = {}) {
  const sweeps = new SweepService({ ...DEFAULT_SWEEP_SERVICE_LIMITS, ...limits });
  services.push(sweeps);
  return build({ sweeps });
}

/** Polls GET /v1/sweeps/{id} until it is no longer running (at most 120 s, every 50 ms). */
async function waitDone(call: Awaited<ReturnType<typeof build>>["call"], id: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = json(await call("GET", `/v1/sweeps/${id}`));
    if (s.state !== "running" || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("POST /v1/sweeps", () => {
  it("runs the sweep on the server's worker threads; the results are the bytes the CLI writes", async () => {
    const { call } = await app();
    const r = await call("POST", "/v1/sweeps", { spec: SMALL_SPEC });
    expect(r.statusCode).toBe(202);
    const started = json(r);
    expect(r.headers.location).toBe(`/v1/sweeps/${started.id}`);
    expect(started).toMatchObject({ id: "sweep-1", state: "running", pointCount: 8, error: null });
    const done = await waitDone(call, started.id);
    expect(done).toMatchObject({ state: "done", pointCount: 8, pointsDone: 8, error: null });
    matches("SweepStatus", started);
    matches("SweepStatus", done);
    matches("SweepList", json(await call("GET", "/v1/sweeps")));
    expect(Object.keys(doc.paths["/v1/sweeps/{id}/results"].get.responses["200"].content)).toEqual([
      "application/x-ndjson",
    ]);
    const res = await call("GET", `/v1/sweeps/${started.id}/results`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-ndjson; charset=utf-8");
    const d = tmp();
    expect(await runSweepCli([writeSpec(d), "--out", join(d, "cli"), "--workers", "0"], io().io)).toBe(0);
    expect(res.body).toBe(readFileSync(join(d, "cli", "results.jsonl"), "utf8"));
    expect(done.digest).toBe(JSON.parse(readFileSync(join(d, "cli", "sweep.json"), "utf8")).digest);
    expect(json(await call("GET", "/v1/sweeps")).sweeps.map((s: { id: string }) => s.id)).toEqual([
      "sweep-1",
    ]);
  }, 180_000);

  it("answers 409 EAGAIN for results while running, 429 past the running-sweeps limit", async () => {
    const { call } = await app({ maxActiveSweeps: 1 });
    const spec = parse(readFileSync("examples/sweep.yaml", "utf8"));
    const first = json(await call("POST", "/v1/sweeps", { spec }));
    expect(first.pointCount).toBe(45);
    const early = expectProblem(await call("GET", `/v1/sweeps/${first.id}/results`), 409, "EAGAIN");
    expect(early.detail).toMatch(/^sweep sweep-1 is running \(\d+\/45 points\)/);
    const busy = expectProblem(await call("POST", "/v1/sweeps", { spec: SMALL_SPEC }), 429, "LIMIT_EXCEEDED");
    expect(busy.details).toEqual({ limit: "maxActiveSweeps", value: 1 });
    expect(json(await call("GET", "/v1/sweeps")).sweeps).toHaveLength(1);
    expect((await waitDone(call, first.id)).state).toBe("done");
    expect(json(await call("POST", "/v1/sweeps", { spec: SMALL_SPEC })).id).toBe("sweep-2");
  }, 180_000);

  it("refuses a bad spec with 400 problem+json naming the field, too many points with 429, changing nothing", async () => {
    const { call } = await app({ maxSweepPoints: 6 });
    const bad = expectProblem(
      await call("POST", "/v1/sweeps", {
        spec: { ...SMALL_SPEC, axes: [{ name: "n", path: "commands.1.containers", values: [0] }] },
      }),
      400,
      "INVALID_ARGUMENT",
    );
    expect(bad.details.issues[0].path).toBe("spec.axes.0.values.0");
    expectProblem(
      await call("POST", "/v1/sweeps", { spec: SMALL_SPEC, workers: 3 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/sweeps", "not json", { "content-type": "application/json" }),
      400,
      "INVALID_ARGUMENT",
    );
    matches("Problem", bad);
    const many = expectProblem(await call("POST", "/v1/sweeps", { spec: SMALL_SPEC }), 429, "LIMIT_EXCEEDED");
    expect(many.details).toEqual({ limit: "maxSweepPoints", value: 6 });
    const long = {
      ...SMALL_SPEC,
      axes: [],
      scenario: {
        ...SMALL_SPEC.scenario,
        commands: Array.from({ length: 10_001 }, () => ({ op: "advanceClock", ms: 1 })),
      },
    };
    const steps = expectProblem(await call("POST", "/v1/sweeps", { spec: long }), 429, "LIMIT_EXCEEDED");
    expect(steps.details).toEqual({ limit: "maxScenarioSteps", value: 10_000 });
    expectProblem(await call("GET", "/v1/sweeps/sweep-1"), 404, "NOT_FOUND");
    expectProblem(await call("GET", "/v1/sweeps/sweep-1/results"), 404, "NOT_FOUND");
    expect(json(await call("GET", "/v1/sweeps")).sweeps).toEqual([]);
  });

  it("reports a point that hits a server limit as a failed sweep (never a 5xx)", async () => {
    const { call } = await app({ maxCommandsPerPoint: 10 });
    const id = json(await call("POST", "/v1/sweeps", { spec: SMALL_SPEC })).id;
    const s = await waitDone(call, id);
    expect(s.state).toBe("failed");
    expect(s.error.code).toBe("LIMIT_EXCEEDED");
    expect(s.error.detail).toBe("the scenario expands to more than 10 commands");
    const r = expectProblem(await call("GET", `/v1/sweeps/${id}/results`), 409, "EAGAIN");
    expect(r.detail).toBe(
      `sweep ${id} failed: LIMIT_EXCEEDED: the scenario expands to more than 10 commands`,
    );
  }, 60_000);
});

import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCommand } from "../../src/commands/schemas.js";
import type { Command } from "../../src/engine/commands.js";
import { resolveConfig } from "../../src/engine/config.js";
import { Simulation } from "../../src/engine/simulation.js";
import { expandScenarioToArray, measureExpansion } from "../../src/scenarios/expand.js";
import { loadScenarioFile, parseScenarioText } from "../../src/scenarios/load.js";
import { runCommands } from "../../src/scenarios/run.js";
import { parseScenario, type Scenario } from "../../src/scenarios/schema.js";

const V1 = resolveConfig({ model: "v3.8", cpuCount: 4 });
const V2 = resolveConfig({ model: "v5.9", cpuCount: 4 });

function scenario(steps: unknown[], config: object = {}): Scenario {
  return parseScenario({ config, commands: steps });
}

const churn = {
  generate: "containerChurn",
  containers: 3,
  objectsPerContainer: 4,
  leaveOneObjectPinnedBy: "/shared",
  seed: 9,
};

describe("scenario files", () => {
  it("loads YAML and JSON alike", () => {
    const yaml = parseScenarioText("description: x\ncommands:\n  - { op: createCgroup, path: /a }\n");
    const json = parseScenarioText(
      '{"description": "x", "commands": [{"op": "createCgroup", "path": "/a"}]}',
    );
    expect(yaml).toEqual(json);
    expect(yaml).toEqual({ description: "x", config: {}, commands: [{ op: "createCgroup", path: "/a" }] });
  });

  it("rejects unknown keys, bad commands and bad generator parameters with one issue per problem", () => {
    const err = (doc: unknown) => {
      try {
        parseScenario(doc);
      } catch (e) {
        return (e as { code: string; details: { issues: { path: string }[] } }).details.issues.map(
          (i) => i.path,
        );
      }
      return [];
    };
    expect(err({ commands: [], extra: 1 })).toEqual([""]);
    expect(err({ config: { model: "v9" }, commands: [] })).toEqual(["config.model"]);
    expect(err({ commands: [{ op: "createCgroup" }] })).toEqual(["commands.0.path"]);
    expect(err({ commands: [{ generate: "nope" }] })).toEqual(["commands.0.generate"]);
    expect(err({ commands: [{ generate: "containerChurn", containers: 2, colour: "red" }] })).toEqual([
      "commands.0",
    ]);
    expect(
      err({
        commands: [
          { op: "advanceClock", ms: 1 },
          { generate: "containerChurn", containers: 0, minutesBetween: -1 },
        ],
      }),
    ).toEqual(["commands.1.containers", "commands.1.minutesBetween"]);
    expect(err({ commands: [{ generate: "containerChurn", containers: 1, pinnedFraction: 0.5 }] })).toEqual([
      "commands.0.pinnedFraction",
    ]);
    expect(err({ commands: [{ generate: "dentryStormUnderHigh", dentries: 10, cgroup: "/" }] })).toEqual([
      "commands.0.cgroup",
    ]);
    expect(err({ commands: [{ generate: "containerFleet", containers: 2, workingSet: [] }] })).toEqual([
      "commands.0.workingSet",
    ]);
  });

  it("parses every example", async () => {
    // examples/sweep.yaml is a sweep spec, not a scenario (test/sweep/ loads it)
    const files = readdirSync("examples").filter((f) => /\.(json|ya?ml)$/.test(f) && f !== "sweep.yaml");
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const s = await loadScenarioFile(`examples/${f}`);
      expect(s.description, f).toBeTruthy();
    }
  });
});

describe("generator expansion", () => {
  it("is deterministic: the same scenario and config give the same commands", () => {
    const s = scenario([churn]);
    expect(expandScenarioToArray(s, V1)).toEqual(expandScenarioToArray(scenario([churn]), V1));
    const fleet = scenario([
      { generate: "containerFleet", containers: 3, workingSet: [{ cache: "dentry", median: 50 }], rounds: 3 },
    ]);
    expect(expandScenarioToArray(fleet, V1)).toEqual(expandScenarioToArray(fleet, V1));
  });

  it("draws from the seed: another seed gives another workload, the default seed follows config.seed", () => {
    const fleet = (seed?: number) =>
      scenario([
        {
          generate: "containerFleet",
          containers: 3,
          workingSet: [{ cache: "dentry", median: 50 }],
          rounds: 2,
          ...(seed === undefined ? {} : { seed }),
        },
      ]);
    expect(expandScenarioToArray(fleet(1), V1)).not.toEqual(expandScenarioToArray(fleet(2), V1));
    expect(expandScenarioToArray(fleet(), V1)).not.toEqual(
      expandScenarioToArray(fleet(), resolveConfig({ model: "v3.8", cpuCount: 4, seed: 2 })),
    );
  });

  it("gives every model the same workload: only the era's set-up writes differ", () => {
    const strip = (cs: Command[]) => cs.filter((c) => c.op !== "writeFile");
    const s = scenario([churn]);
    expect(strip(expandScenarioToArray(s, V1))).toEqual(strip(expandScenarioToArray(s, V2)));
  });

  it("expands containerChurn into the command language, the pinned object after the frees", () => {
    const cmds = expandScenarioToArray(scenario([{ ...churn, containers: 1 }]), V1);
    for (const c of cmds) expect(parseCommand(c)).toEqual(c);
    expect(cmds.map((c) => c.op)).toEqual([
      "createCgroup", // /containers
      "writeFile", // use_hierarchy
      "writeFile", // kmem.limit_in_bytes (3.8 activation)
      "createCgroup", // /shared
      "writeFile",
      "writeFile",
      "createCgroup", // /containers/c1, inherits
      "spawnTask",
      "allocObjects",
      "freeObjects",
      "allocObjects", // the pinned dentry
      "exitTask",
      "removeCgroup",
      "advanceClock",
    ]);
    expect(cmds[2]).toEqual({
      op: "writeFile",
      cgroup: "/containers",
      file: "memory.kmem.limit_in_bytes",
      value: String(V1.memoryBytes),
    });
    expect(cmds[8]).toMatchObject({ op: "allocObjects", cache: "dentry", count: 4 });
    expect(cmds[9]).toMatchObject({ op: "freeObjects", cache: "dentry", count: 4 });
    expect(cmds[10]).toMatchObject({ op: "allocObjects", cache: "dentry", count: 1, reclaimable: false });
    expect(cmds[13]).toEqual({ op: "advanceClock", ms: 60_000 });
    // cgroup v2: no v1 files
    expect(
      expandScenarioToArray(scenario([{ ...churn, containers: 1 }]), V2).filter((c) => c.op === "writeFile"),
    ).toEqual([]);
  });

  it("writes memory.high on v2 and the v1 hard limit instead on v1", () => {
    const s = scenario([
      { generate: "dentryStormUnderHigh", dentries: 2500, batch: 1000, highBytes: 1048576 },
    ]);
    const limit = (cs: Command[]) => cs.find((c) => c.op === "updateCgroup");
    expect(limit(expandScenarioToArray(s, V2))).toEqual({
      op: "updateCgroup",
      path: "/storm",
      memoryHighBytes: 1048576,
    });
    expect(limit(expandScenarioToArray(s, V1))).toEqual({
      op: "updateCgroup",
      path: "/storm",
      memoryMaxBytes: 1048576,
    });
    const allocs = expandScenarioToArray(s, V2).filter((c) => c.op === "allocObjects");
    expect(allocs.map((c) => (c as { count: number }).count)).toEqual([1000, 1000, 500]);
  });

  it("hands generated tasks distinct pids that avoid the scenario's own", () => {
    const s = scenario([
      { op: "createCgroup", path: "/x" },
      { op: "spawnTask", cgroup: "/x", pid: 1_000_000 },
      { ...churn, tasksPerContainer: 3 },
    ]);
    const pids = expandScenarioToArray(s, V1).flatMap((c) => (c.op === "spawnTask" ? [c.pid] : []));
    expect(pids[0]).toBe(1_000_000);
    expect(new Set(pids).size).toBe(pids.length);
    expect(pids.slice(1, 4)).toEqual([1_000_001, 1_000_002, 1_000_003]);
  });

  it("does not recreate a parent the scenario created itself", () => {
    const s = scenario([
      { op: "createCgroup", path: "/containers" },
      { ...churn, containers: 1 },
    ]);
    const creates = expandScenarioToArray(s, V2).flatMap((c) => (c.op === "createCgroup" ? [c.path] : []));
    expect(creates).toEqual(["/containers", "/shared", "/containers/c1"]);
  });

  it("measures the expansion and stops at the command limit", () => {
    const s = scenario([{ ...churn, containers: 10 }]);
    expect(measureExpansion(s, V2)).toEqual({
      commandCount: expandScenarioToArray(s, V2).length,
      clockMs: 600_000,
    });
    expect(() => expandScenarioToArray(s, V2, 20)).toThrow(/more than 20 commands/);
  });

  it("runs every generator on every model without a refused command", () => {
    const s = parseScenario({
      config: { cpuCount: 4, memoryBytes: 268435456 },
      commands: [
        {
          op: "createCache",
          name: "dentry",
          objectSizeBytes: 192,
          flags: { account: true, reclaimAccount: true },
        },
        {
          op: "createCache",
          name: "inode_cache",
          objectSizeBytes: 600,
          flags: { account: true, reclaimAccount: true },
        },
        {
          generate: "containerChurn",
          containers: 4,
          objectsPerContainer: 30,
          leaveOneObjectPinnedBy: "/shared",
          reclaimEveryMinutes: 2,
          reclaimBytes: 65536,
        },
        {
          generate: "containerFleet",
          containers: 3,
          workingSet: [
            { cache: "dentry", median: 40 },
            { cache: "inode_cache", median: 20 },
          ],
          rounds: 2,
        },
        { generate: "dentryStormUnderHigh", dentries: 3000, batch: 500, highBytes: 8388608 },
        {
          generate: "fileServerReclaimableSlab",
          tenants: 2,
          steps: 3,
          filesPerStep: 50,
          fileBytes: 8192,
          memoryMaxBytes: 4194304,
        },
      ],
    });
    for (const model of ["rfc-2012", "v3.8", "v4.5", "v5.9"] as const) {
      const sim = new Simulation({ ...s.config, model });
      const out = runCommands(sim, expandScenarioToArray(s, sim.config));
      expect(out.errors, model).toEqual([]);
    }
  });
});

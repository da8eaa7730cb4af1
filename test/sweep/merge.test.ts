import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/errors.js";
import { runSweepCli, runSweepMergeCli, shardOf } from "../../src/sweep/cli.js";
import { checkSweepSpec } from "../../src/sweep/spec.js";
import { io, SMALL_SPEC, tmp, writeSpec } from "./helpers.js";

async function shards(d: string, spec = writeSpec(d)) {
  const dirs = [join(d, "s0"), join(d, "s1")];
  for (const [i, dir] of dirs.entries())
    expect(await runSweepCli([spec, "--out", dir, "--workers", "0", "--shard", `${i}/2`], io().io)).toBe(0);
  return dirs;
}

describe("sweep-merge", () => {
  it("reports the points no directory holds (exit 3) and still writes what it has", async () => {
    const d = tmp();
    const [s0] = await shards(d);
    const t = io();
    expect(
      await runSweepMergeCli([s0, "--out", join(d, "m.jsonl"), "--report", join(d, "r.html")], t.io),
    ).toBe(3);
    expect(t.err()).toContain("sweep-merge: 4/8 points");
    expect(t.err()).toContain("4 points missing:");
    expect(t.err()).toContain('point 1: model rfc-2012 {"containers":2,"cpuCount":1}');
    expect(t.err()).toContain('point 7: model rfc-2012 {"containers":3,"cpuCount":4}');
    expect(readFileSync(join(d, "m.jsonl"), "utf8").trim().split("\n")).toHaveLength(4);
    // the report: every column against each of the 2 axes, one chart per value of the other axis
    const html = readFileSync(join(d, "r.html"), "utf8");
    expect(html.match(/<figure /g)).toHaveLength(8 * 2 * 2);
    expect(html).toContain("slabBytes against containers, cpuCount = 4");
  });

  it("keeps identical duplicates once and refuses a point whose lines disagree, naming both places", async () => {
    const d = tmp();
    const [s0, s1] = await shards(d);
    const copy = join(d, "s0-copy");
    cpSync(s0, copy, { recursive: true });
    const ok = io();
    expect(await runSweepMergeCli([s0, s1, copy, "--out", join(d, "m.jsonl")], ok.io)).toBe(0);
    expect(ok.err()).toContain("8/8 points → ");
    expect(ok.err()).toContain("(4 identical duplicates kept once)");
    const file = join(copy, "results.jsonl");
    const lines = readFileSync(file, "utf8").split("\n");
    lines[1] = lines[1].replace('"oomKillCount":0', '"oomKillCount":1');
    writeFileSync(file, lines.join("\n"));
    const bad = io();
    expect(await runSweepMergeCli([s0, s1, copy, "--out", join(d, "m2.jsonl")], bad.io)).toBe(1);
    expect(bad.err()).toBe(
      `sweep-merge: point 2 disagrees between ${join(s0, "results.jsonl")}:2 and ${join(copy, "results.jsonl")}:2\n`,
    );
  });

  it("refuses directories of different sweeps, a torn line, and a damaged line, naming it", async () => {
    const d = tmp();
    const [s0] = await shards(d);
    const other = tmp();
    const [o0] = await shards(other, writeSpec(other, { ...SMALL_SPEC, models: ["v6.18"] }));
    const t = io();
    expect(await runSweepMergeCli([s0, o0, "--out", join(d, "m.jsonl")], t.io)).toBe(1);
    expect(t.err()).toMatch(/holds another sweep than .* \(spec digest/);
    const file = join(s0, "results.jsonl");
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.slice(0, -10));
    const torn = io();
    expect(await runSweepMergeCli([s0, "--out", join(d, "m.jsonl")], torn.io)).toBe(1);
    expect(torn.err()).toContain(`${file}: line 4 is torn (`);
    const lines = text.split("\n");
    lines[2] = "{not json";
    writeFileSync(file, lines.join("\n"));
    const damaged = io();
    expect(await runSweepMergeCli([s0, "--out", join(d, "m.jsonl")], damaged.io)).toBe(1);
    expect(damaged.err()).toContain(`${file}: line 3 is not valid JSON`);
    // resuming the damaged shard refuses too, naming the line (never drops it)
    const resume = io();
    expect(
      await runSweepCli([writeSpec(d), "--out", s0, "--shard", "0/2", "--workers", "0"], resume.io),
    ).toBe(1);
    expect(resume.err()).toContain(`${file}: line 3 is not valid JSON`);
  });
});

describe("sweep spec", () => {
  const fails = (spec: unknown, code: string, text: string) => {
    try {
      checkSweepSpec(spec, 1000);
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      expect((e as EngineError).code).toBe(code);
      expect((e as EngineError).message).toContain(text);
      return;
    }
    throw new Error("accepted");
  };

  it("refuses axes the scenario does not have or does not accept, repeats, and the model as an axis", () => {
    const axis = (a: object) => ({ ...SMALL_SPEC, axes: [a] });
    fails(
      axis({ name: "n", path: "commands.7.containers", values: [1] }),
      "INVALID_ARGUMENT",
      "commands.7 does not exist",
    );
    fails(
      axis({ name: "n", path: "commands.1.containers", values: [0] }),
      "INVALID_ARGUMENT",
      "axes.0.values.0",
    );
    fails(axis({ name: "n", path: "commands.1.bogus", values: [1] }), "INVALID_ARGUMENT", "bogus");
    // passes the scenario schema, not the engine's config resolution: caught before any point runs
    fails(
      axis({ name: "n", path: "config.cpuCount", values: [4, 0] }),
      "INVALID_ARGUMENT",
      "axes.0.values.1: config.cpuCount = 0",
    );
    fails(
      axis({ name: "n", path: "config.cpuCount", values: [2, 2] }),
      "INVALID_ARGUMENT",
      "value 2 is listed twice",
    );
    fails(
      axis({ name: "m", path: "config.model", values: ["v5.9"] }),
      "INVALID_ARGUMENT",
      "sweep models with `models`",
    );
    fails({ ...SMALL_SPEC, models: ["v9.9"] }, "INVALID_ARGUMENT", "models.0");
    fails({ ...SMALL_SPEC, scenario: "file.yaml" }, "INVALID_ARGUMENT", "send the scenario document itself");
  });

  it("counts points as models × axis lengths and refuses more than the limit (LIMIT_EXCEEDED)", () => {
    expect(checkSweepSpec(SMALL_SPEC).pointCount).toBe(8);
    const big = {
      ...SMALL_SPEC,
      axes: [{ name: "seed", path: "config.seed", values: Array.from({ length: 501 }, (_, i) => i) }],
    };
    fails(big, "LIMIT_EXCEEDED", "the sweep has 1002 points, more than the 1000 allowed");
  });

  it("takes the shard from --shard, else from JOB_COMPLETION_INDEX / JOB_COMPLETIONS", () => {
    expect(shardOf("1/3", {})).toEqual({ index: 1, count: 3 });
    expect(shardOf(undefined, { JOB_COMPLETION_INDEX: "4", JOB_COMPLETIONS: "5" })).toEqual({
      index: 4,
      count: 5,
    });
    expect(shardOf(undefined, {})).toEqual({ index: 0, count: 1 });
    expect(() => shardOf("3/3", {})).toThrow("I must be in [0, N)");
    expect(() => shardOf(undefined, { JOB_COMPLETION_INDEX: "1" })).toThrow("must be set together");
    expect(() => shardOf(undefined, { JOB_COMPLETION_INDEX: "5", JOB_COMPLETIONS: "5" })).toThrow(
      "must be below",
    );
  });
});

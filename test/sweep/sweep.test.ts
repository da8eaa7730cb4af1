import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareScenario } from "../../src/compare/compare.js";
import { runSweepCli, runSweepMergeCli } from "../../src/sweep/cli.js";
import { loadSweepSpecFile, pointAt, pointScenario } from "../../src/sweep/spec.js";
import { CLI, io, runCliProcess, tmp } from "./helpers.js";

const EXAMPLE = "examples/sweep.yaml";

describe("sweep of examples/sweep.yaml", () => {
  it("writes the same results.jsonl bytes on one thread, on 2 worker threads, and as two shard processes merged", async () => {
    const d = tmp();
    const one = join(d, "one");
    const two = join(d, "two");
    const [s0, s1] = [join(d, "s0"), join(d, "s1")];
    // the two shards in separate processes, as two pods would run them (the second from the Job's env)
    const shards = Promise.all([
      runCliProcess(["sweep", EXAMPLE, "--out", s0, "--shard", "0/2", "--workers", "1"]),
      runCliProcess(["sweep", EXAMPLE, "--out", s1, "--workers", "1"], {
        JOB_COMPLETION_INDEX: "1",
        JOB_COMPLETIONS: "2",
      }),
    ]);
    const a = io();
    expect(await runSweepCli([EXAMPLE, "--out", one, "--workers", "0"], a.io)).toBe(0);
    const b = io();
    expect(await runSweepCli([EXAMPLE, "--out", two, "--workers", "2"], b.io)).toBe(0);
    const [r0, r1] = await shards;
    expect(r0.code, r0.stderr).toBe(0);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stderr).toContain("shard 1/2 owns 22");
    const m = io();
    expect(await runSweepMergeCli([s0, s1, "--out", join(d, "merged.jsonl")], m.io)).toBe(0);

    const bytes = readFileSync(join(one, "results.jsonl"));
    expect(readFileSync(join(two, "results.jsonl")).equals(bytes)).toBe(true);
    expect(readFileSync(join(d, "merged.jsonl")).equals(bytes)).toBe(true);
    // each shard holds its own residue class only
    const idx = (f: string) =>
      readFileSync(f, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).index);
    expect(idx(join(s0, "results.jsonl"))).toEqual(Array.from({ length: 23 }, (_, k) => 2 * k));
    expect(idx(join(s1, "results.jsonl"))).toEqual(Array.from({ length: 22 }, (_, k) => 2 * k + 1));

    // 5 models × 3 containers × 3 CPU counts, model fastest, in index order
    const lines = bytes
      .toString("utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(45);
    expect(lines.map((l) => l.index)).toEqual(Array.from({ length: 45 }, (_, i) => i));
    expect(lines[0]).toMatchObject({ model: "rfc-2012", coords: { containers: 10, cpuCount: 2 } });
    expect(lines[44]).toMatchObject({ model: "v6.18", coords: { containers: 40, cpuCount: 16 } });
    expect(lines[17]).toMatchObject({ model: "v4.5", coords: { containers: 20, cpuCount: 2 } });
    // no wall-clock field in results; timings go to their own file
    expect(Object.keys(lines[0])).toEqual(["index", "model", "coords", "columns", "run", "cgroupfs"]);
    expect(readFileSync(join(one, "timings.jsonl"), "utf8").trim().split("\n")).toHaveLength(45);

    // every compare column of a point is what `compare` gives for that point's scenario and model
    const spec = await loadSweepSpecFile(EXAMPLE);
    for (const i of [0, 17, 44]) {
      const p = pointAt(spec, i);
      const cmp = await compareScenario(pointScenario(spec, p), [p.model]);
      const { model, ...columns } = cmp.models[0];
      expect(model).toBe(p.model);
      expect(lines[i].columns).toEqual(columns);
      expect(lines[i].run.commandCount).toBe(cmp.runs[0].commandCount);
      expect(lines[i].run.liveObjectBytes).toBe(cmp.runs[0].liveObjectBytes);
      // meminfo Slab (kB) is the slab pages × 4: the same pages as the slabBytes column
      expect(lines[i].cgroupfs.meminfo.Slab * 1024).toBe(columns.slabBytes);
    }
    // the cgroupfs figure of the fleet's parent: v1 usage_in_bytes = the memory column (one top-level cgroup)
    expect(lines[0].cgroupfs.cgroups["/services"]["memory.usage_in_bytes"]).toBe(
      lines[0].columns.memoryChargedBytes,
    );
    expect(lines[44].cgroupfs.cgroups["/services"]["memory.current"]).toBe(
      lines[44].columns.memoryChargedBytes,
    );
  }, 240_000);

  it("resumes where it stopped: the points written are skipped, a torn last line is named and rewritten", async () => {
    const d = tmp();
    const full = join(d, "full");
    expect(await runSweepCli([EXAMPLE, "--out", full, "--workers", "0"], io().io)).toBe(0);
    const bytes = readFileSync(join(full, "results.jsonl"));
    // a copy cut in the middle of line 6 (5 whole lines and 40 bytes of the sixth)
    const cut = join(d, "cut");
    cpSync(full, cut, { recursive: true });
    let end = 0;
    for (let k = 0; k < 5; k++) end = bytes.indexOf(0x0a, end) + 1;
    writeFileSync(join(cut, "results.jsonl"), bytes.subarray(0, end + 40));
    const t = io();
    expect(await runSweepCli([EXAMPLE, "--out", cut, "--workers", "2"], t.io)).toBe(0);
    expect(t.err()).toContain(`${join(cut, "results.jsonl")}: line 6 is torn (40 bytes without a newline`);
    expect(t.err()).toContain("45 points, shard 0/1 owns 45, 5 already done");
    expect(t.err()).toContain("sweep: 40 points in");
    expect(readFileSync(join(cut, "results.jsonl")).equals(bytes)).toBe(true);
    // a complete run resumed runs nothing
    const again = io();
    expect(await runSweepCli([EXAMPLE, "--out", cut, "--workers", "0"], again.io)).toBe(0);
    expect(again.err()).toContain("sweep: 0 points in");
  }, 240_000);

  it("resumes after the process is killed (SIGKILL) mid-sweep: the finished file is the uninterrupted bytes", async () => {
    const d = tmp();
    const full = join(d, "full");
    expect(await runSweepCli([EXAMPLE, "--out", full, "--workers", "0"], io().io)).toBe(0);
    const killed = join(d, "killed");
    // one process (node with tsx's loader), so the pid killed is the one writing
    const child = spawn(
      process.execPath,
      ["--import", "tsx", CLI, "sweep", EXAMPLE, "--out", killed, "--workers", "2"],
      {
        stdio: "ignore",
      },
    );
    const file = join(killed, "results.jsonl");
    const lines = () => (existsSync(file) ? readFileSync(file, "utf8").split("\n").length - 1 : 0);
    const deadline = Date.now() + 60_000;
    while (lines() < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const before = lines();
    expect(before).toBeGreaterThanOrEqual(5);
    expect(before).toBeLessThan(45);
    const t = io();
    expect(await runSweepCli([EXAMPLE, "--out", killed, "--workers", "2"], t.io)).toBe(0);
    expect(t.err()).toContain(`45 points, shard 0/1 owns 45, ${before} already done`);
    expect(readFileSync(file).equals(readFileSync(join(full, "results.jsonl")))).toBe(true);
  }, 240_000);
});

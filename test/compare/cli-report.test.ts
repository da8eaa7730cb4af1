import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { MODEL_NAMES } from "../../src/engine/config.js";
import { describe, expect, it } from "vitest";
import { runCompareCli } from "../../src/compare/cli.js";
import { compareScenario } from "../../src/compare/compare.js";
import { byteUnit, REPORT_FIGURES, renderReport } from "../../src/compare/report.js";
import { identicalSeries, legendLayout, textWidth } from "../../src/compare/svg.js";
import { handleCompareRequest } from "../../src/compare/rest.js";
import { loadScenarioFile } from "../../src/scenarios/load.js";

const SMALL = "examples/small-two-cgroups.json";

function io(tty = false) {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  return { io: { stdout, stderr }, out: () => out, err: () => err };
}

describe("compare CLI", () => {
  it("prints {models: [...]} with --json, one row per model asked", async () => {
    const t = io();
    expect(await runCompareCli([SMALL, "--models", "v4.5,v5.9", "--json"], t.io)).toBe(0);
    const json = JSON.parse(t.out());
    expect(
      json.models.map((m: { model: string; slabPageCount: number }) => [m.model, m.slabPageCount]),
    ).toEqual([
      ["v4.5", 6],
      ["v5.9", 4],
    ]);
    expect(json.series).toHaveLength(2);
    expect(t.err()).toBe("");
  });

  it("prints a table without a terminal, and a progress bar only on one", async () => {
    const plain = io(false);
    expect(await runCompareCli([SMALL, "--models", "rfc-2012,v5.9"], plain.io)).toBe(0);
    expect(plain.out()).toMatch(/model\s+slab\s+slab pages\s+utilization/);
    expect(plain.out()).toMatch(/rfc-2012\s+16\.0 KiB\s+4\s+30\.5%\s+12\.0 KiB/);
    expect(plain.err()).toBe("");
    const tty = io(true);
    expect(await runCompareCli([SMALL, "--models", "v5.9"], tty.io)).toBe(0);
    expect(tty.err()).toContain("v5.9 (1/1) 16/16");
  });

  it("writes the HTML report with --report", async () => {
    const dir = mkdtempSync(join(tmpdir(), "memcg-compare-"));
    const out = join(dir, "r.html");
    const t = io();
    expect(await runCompareCli([SMALL, "--report", out], t.io)).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(t.out()).toContain(`report written to ${out}`);
  });

  it("answers --help on stdout and usage errors with status 2", async () => {
    const h = io();
    expect(await runCompareCli(["--help"], h.io)).toBe(0);
    expect(h.out()).toContain("Usage: memcg-sim compare FILE");
    const none = io();
    expect(await runCompareCli([], none.io)).toBe(2);
    expect(none.err()).toContain("expected exactly one scenario FILE");
    const bad = io();
    expect(await runCompareCli([SMALL, "--models", "v4.5,v7"], bad.io)).toBe(2);
    expect(bad.err()).toContain('unknown model "v7"');
    const flag = io();
    expect(await runCompareCli([SMALL, "--frobnicate"], flag.io)).toBe(2);
  });

  it("fails with status 1 on a missing or invalid scenario file", async () => {
    const missing = io();
    expect(await runCompareCli(["examples/no-such-file.yaml"], missing.io)).toBe(1);
    expect(missing.err()).toContain("ENOENT");
    const invalid = io();
    expect(await runCompareCli(["test/scenarios/fixtures/invalid-generator.yaml"], invalid.io)).toBe(1);
    expect(invalid.err()).toContain("commands.1.containers");
  });
});

describe("renderReport", () => {
  it("is self-contained HTML with one SVG chart per figure", async () => {
    const r = await compareScenario(await loadScenarioFile("test/scenarios/fixtures/tiny-churn.yaml"));
    const html = renderReport(r, { title: "tiny <churn>" });
    const figures = [...html.matchAll(/<figure data-figure="([a-z]+)"[^>]*>(.*?)<\/figure>/gs)];
    expect(figures.map((f) => f[1])).toEqual([...REPORT_FIGURES]);
    // tiny-churn has no charge failure and no OOM kill: that figure is a sentence, not an empty chart
    for (const f of figures.slice(0, 3)) expect(f[2].match(/<svg /g)).toHaveLength(1);
    expect(figures[3][2]).not.toContain("<svg");
    expect(figures[3][2]).toContain("No charge failed and no task was OOM-killed under any model.");
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|<link|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain("memcg-sim compare: tiny &lt;churn&gt;");
    // one line per model in the dying chart, the kmem bars grouped by top-level cgroup
    const dying = figures[2][2];
    expect(dying.match(/<path d="[^"]*" fill="none"/g)).toHaveLength(MODEL_NAMES.length);
    expect(figures[1][2]).toContain("/containers");
    // /shared holds nothing charged under any model: named in the caption, no empty bar group
    expect(figures[1][2]).toContain("Nothing charged under any model: /shared.");
  });
});

describe("chart helpers", () => {
  it("wraps legend entries into rows that fit the chart width", () => {
    const items = ["rfc-2012", "v3.8", "v4.5", "v5.9"].flatMap((m) => [
      { name: `${m} slab memory (same as v3.8 slab memory)`, color: "#000" },
      { name: `${m} utilization`, color: "#000", dashed: true },
    ]);
    const layout = legendLayout(items, 728);
    expect(layout.map((l) => l.row)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    for (const [i, it] of items.entries()) expect(layout[i].x + 24 + textWidth(it.name)).toBeLessThanOrEqual(728);
  });

  it("names a series drawn exactly over an earlier one", () => {
    const pts: [number, number][] = [
      [0, 1],
      [1, 2],
    ];
    const same = identicalSeries([
      { name: "a", color: "#000", points: pts },
      { name: "b", color: "#000", points: [...pts] },
      { name: "c", color: "#000", points: [[0, 1]] },
      { name: "d", color: "#000", dashed: true, points: pts },
    ]);
    expect([...same]).toEqual([["b", "a"]]);
  });

  it("picks the axis unit from the data (28 slab pages are 112 KiB, not 0.1 MiB)", () => {
    expect(byteUnit(28 * 4096)).toEqual({ div: 1024, name: "KiB" });
    expect(byteUnit(113 * 1024 * 1024)).toEqual({ div: 1024 * 1024, name: "MiB" });
    expect(byteUnit(1000)).toEqual({ div: 1, name: "B" });
  });
});

describe("handleCompareRequest (POST /v1/compare)", () => {
  it("answers the same JSON as compare --json", async () => {
    const doc = JSON.parse(readFileSync(SMALL, "utf8"));
    const viaRest = await handleCompareRequest({ scenario: doc, models: ["v3.8", "v5.9"] });
    const t = io();
    await runCompareCli([SMALL, "--models", "v3.8,v5.9", "--json"], t.io);
    expect(JSON.parse(JSON.stringify(viaRest))).toEqual(JSON.parse(t.out()));
  });

  it("rejects unknown keys and invalid scenarios with INVALID_ARGUMENT and issue paths", async () => {
    await expect(handleCompareRequest({ scenario: { commands: [] }, extra: 1 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(handleCompareRequest({ scenario: { commands: [] }, models: ["v6"] })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(
      handleCompareRequest({ scenario: { commands: [{ generate: "containerChurn", containers: 0 }] } }),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      details: { issues: [{ path: "scenario.commands.0.containers" }] },
    });
  });

  it("refuses a scenario that expands past the server's command limit", async () => {
    const scenario = { commands: [{ generate: "containerChurn", containers: 1000 }] };
    await expect(handleCompareRequest({ scenario }, { maxCommands: 500 })).rejects.toMatchObject({
      code: "LIMIT_EXCEEDED",
    });
  });
});

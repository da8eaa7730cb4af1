import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runSweepCli } from "../../src/sweep/cli.js";
import { io, tmp, writeSpec } from "./helpers.js";

describe("sweep from the compiled JS (what the image's pods run)", () => {
  it("runs worker threads from dist/ and writes the bytes the sources write", () => {
    // compiled under node_modules/ so the compiled files resolve the project's packages
    const out = join(process.cwd(), "node_modules/.cache/memcg-sim-dist-test");
    rmSync(out, { recursive: true, force: true });
    execFileSync(join(process.cwd(), "node_modules/.bin/tsc"), [
      "-p",
      "tsconfig.build.json",
      "--outDir",
      out,
    ]);
    const d = tmp();
    const spec = writeSpec(d);
    execFileSync(
      process.execPath,
      [join(out, "src/cli/main.js"), "sweep", spec, "--out", join(d, "dist"), "--workers", "2"],
      { stdio: "pipe", timeout: 120_000 },
    );
    rmSync(out, { recursive: true, force: true });
    return runSweepCli([spec, "--out", join(d, "src"), "--workers", "0"], io().io).then((code) => {
      expect(code).toBe(0);
      expect(
        readFileSync(join(d, "dist", "results.jsonl")).equals(readFileSync(join(d, "src", "results.jsonl"))),
      ).toBe(true);
    });
  }, 180_000);
});

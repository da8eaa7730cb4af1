import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { stringify } from "yaml";
import type { SweepIo } from "../../src/sweep/cli.js";

export const TSX = join(process.cwd(), "node_modules/.bin/tsx");
export const CLI = join(process.cwd(), "src/cli/main.ts");

export function tmp(prefix = "sweep-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An in-process io for the CLI functions: captured stdout/stderr, the given environment. */
export function io(env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const value: SweepIo = { stdout, stderr, env };
  return { io: value, out: () => out, err: () => err };
}

/** The CLI in a process of its own, as `npm run cli` runs it (tsx); resolves with its exit code and output. */
export function runCliProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A small sweep (2 models × 2 × 2 = 8 points, each a few hundred commands). */
export const SMALL_SPEC = {
  description: "test grid",
  scenario: {
    config: { memoryBytes: 1073741824, seed: 3 },
    commands: [
      {
        op: "createCache",
        name: "dentry",
        objectSizeBytes: 192,
        flags: { account: true, reclaimAccount: true },
      },
      {
        generate: "containerFleet",
        containers: 2,
        parent: "/services",
        tasksPerContainer: 1,
        workingSet: [{ cache: "dentry", median: 100, spread: 0.5 }],
        rounds: 2,
        minutesBetween: 60,
      },
    ],
  },
  models: ["v5.9", "rfc-2012"],
  axes: [
    { name: "containers", path: "commands.1.containers", values: [2, 3] },
    { name: "cpuCount", path: "config.cpuCount", values: [1, 4] },
  ],
};

export function writeSpec(dir: string, spec: unknown = SMALL_SPEC, name = "spec.yaml"): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(spec));
  return file;
}

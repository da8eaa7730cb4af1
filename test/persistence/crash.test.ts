import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { Command } from "../../src/engine/commands.js";
import { EngineError } from "../../src/engine/errors.js";
import { Simulation } from "../../src/engine/simulation.js";
import { stateDigest } from "../../src/persistence/index.js";
import { Registry } from "../../src/registry.js";
import { server, tempDir } from "./helpers.js";
import { observe, randomCommands, setupCommands } from "./workload.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const WRITER = join(here, "fixtures/writer.ts");
const COUNT = 20_000;
const SEED = 21;

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** Runs the writer on `dataDir` and SIGKILLs it once `killAfterAcks` commands were acknowledged (or after `maxMs`). */
function runAndKill(
  dataDir: string,
  killAfterAcks: number,
  maxMs = 30_000,
): Promise<{ lines: string[]; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WRITER, dataDir, String(COUNT), String(SEED)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buf = "";
    let stderr = "";
    let acks = 0;
    const lines: string[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), maxMs);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      stderr += s;
    });
    child.stdout.on("data", (s: string) => {
      buf += s;
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line.startsWith("ack ") && ++acks === killAfterAcks) child.kill("SIGKILL");
        nl = buf.indexOf("\n");
      }
    });
    child.on("error", reject);
    // a partial last line (cut by the kill) was never acknowledged: it stays in `buf`, ignored
    child.on("close", (_code, signal) => {
      clearTimeout(timer);
      resolvePromise({ lines, signal, stderr });
    });
  });
}

/** The writer's command stream, and the first `n` commands of it that a fresh instance accepts. */
function acceptedPrefix(n: number): { accepted: Command[]; lastIndex: number } {
  const commands = [...setupCommands(2), ...randomCommands(Math.min(COUNT, n * 3 + 1000), SEED, 2)];
  const sim = new Simulation({ model: "v5.9" });
  const accepted: Command[] = [];
  let lastIndex = -1;
  for (let i = 0; i < commands.length && accepted.length < n; i++) {
    try {
      sim.execute(commands[i]);
      accepted.push(commands[i]);
      lastIndex = i;
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
    }
  }
  expect(accepted.length).toBe(n);
  return { accepted, lastIndex };
}

describe("a SIGKILL in the middle of a burst", () => {
  it.each([300, 4000])(
    "loses no acknowledged command (killed after %i acknowledgements)",
    async (killAfter) => {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const run = await runAndKill(t.dir, killAfter);
      expect(run.stderr).toBe("");
      expect(run.signal).toBe("SIGKILL");
      expect(run.lines).not.toContain("done");
      const acks = run.lines.filter((l) => l.startsWith("ack ")).map((l) => l.split(" ").map(Number));
      expect(acks.length).toBeGreaterThanOrEqual(killAfter);
      const lastAckIndex = Math.max(...acks.map((a) => a[1]));
      const lastAckCount = Math.max(...acks.map((a) => a[2]));

      // restart on the same directory
      const b = server(t.dir);
      expect(b.report.failed).toEqual([]);
      expect(b.report.snapshotMismatches).toEqual([]);
      const journaled = b.registry.get("crash").instance.commandCount;
      expect(journaled).toBeGreaterThanOrEqual(lastAckCount); // every acknowledged command is there

      // and the state is exactly the journaled prefix of the writer's accepted commands
      const { accepted, lastIndex } = acceptedPrefix(journaled);
      expect(lastIndex).toBeGreaterThanOrEqual(lastAckIndex);
      // with compaction the journal holds the commands after its base (the state of the first ones)
      const base = b.persistence.baseOf("crash")?.commandCount ?? 0;
      expect(b.persistence.commands("crash")).toEqual(accepted.slice(base));
      const fresh = new Registry();
      fresh.create("crash", { model: "v5.9" });
      for (const c of accepted) fresh.execute("crash", c);
      const restored = observe(b.registry, "crash");
      expect(restored).toEqual(observe(fresh, "crash"));
      expect(restored.digest).toBe(stateDigest(fresh.get("crash").instance));
      b.persistence.close();

      // a clean restart gives the identical state again
      const c = server(t.dir);
      expect(c.report.commandCount).toBe(journaled);
      expect(observe(c.registry, "crash")).toEqual(restored);
      c.persistence.close();
    },
  );
});

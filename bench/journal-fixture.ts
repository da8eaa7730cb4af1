/**
 * A data directory holding one instance with N journaled commands, as the server writes it, and
 * the server started on it — shared by bench/restart.ts (time to ready) and bench/export-memory.ts
 * (export size and memory).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { parseCommand } from "../src/commands/schemas.js";
import type { Command } from "../src/engine/commands.js";
import { Persistence } from "../src/persistence/index.js";
import { Registry } from "../src/registry.js";
import { setupCommands } from "../test/persistence/workload.js";

/** Cheap commands (an object allocated and freed, a clock tick), the journal's worst case per byte of state. */
const COMMANDS = [
  parseCommand({ op: "allocObjects", cache: "kmalloc-256", pid: 200, count: 3 }),
  parseCommand({ op: "freeObjects", cache: "kmalloc-256", pid: 200, count: 1 }),
  parseCommand({ op: "allocObjects", cache: "dentry", pid: 201, count: 2 }),
  parseCommand({ op: "freeObjects", cache: "dentry", pid: 201, count: 1 }),
  parseCommand({ op: "advanceClock", ms: 1 }),
];

/**
 * Writes instance `bench` (v6.18, cgroup v2) with the setup and `n` cheap commands to `dir`
 * through Registry + Persistence, a state every 10,000 commands, as the server does. `end`:
 * `crash` — the file left after the last commit, no final snapshot (the rows after the newest
 * state are replayed at restart); `close` — a clean shutdown.
 */
export function buildJournal(
  dir: string,
  n: number,
  compact: boolean,
  end: "crash" | "close",
): { ms: number; liveObjects: number } {
  const t0 = performance.now();
  const registry = new Registry({ ...new Registry().limits, maxLiveObjects: 50_000_000 });
  const p = new Persistence({ dataDir: dir, snapshotEveryCommands: 10_000, compact });
  p.start(registry);
  registry.create("bench", { model: "v6.18", cgroupVersion: 2 });
  registry.executeBatch("bench", setupCommands(2), false);
  p.flush();
  const batch: Command[] = [];
  for (let i = 0; i < n; i++) {
    batch.push(COMMANDS[i % COMMANDS.length]);
    if (batch.length === 1000 || i === n - 1) {
      registry.executeBatch("bench", batch.splice(0), false);
      p.flush();
    }
  }
  const liveObjects = registry.get("bench").instance.slab.liveObjects;
  if (end === "crash") (p as unknown as { store: { close(): void } }).store.close();
  else p.close();
  return { ms: performance.now() - t0, liveObjects };
}

/** `node dist/src/main.js` on `dir` (HTTP on a random loopback port, no gRPC, no demo); run `npm run build` first. */
export function startServerOn(dir: string, compact: boolean): { child: ChildProcess; port: number } {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(
    process.execPath,
    [
      "dist/src/main.js",
      "--data-dir",
      dir,
      "--http-port",
      String(port),
      "--grpc-port",
      "0",
      "--demo",
      "0",
      "--log-level",
      "warn",
      "--compact",
      compact ? "on" : "off",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  return { child, port };
}

/** Resolves at the server's first `/readyz` 200 (polling every 10 ms); throws if it exits first. */
export async function untilReady(child: ChildProcess, port: number): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** SIGKILL, and wait for the exit. */
export async function kill(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
}

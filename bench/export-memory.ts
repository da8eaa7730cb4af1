/**
 * `npx tsx bench/export-memory.ts [--sizes 1000000,3000000] [--compact on|off|both]` (issue #20 §4,
 * "exports stream with flat memory"): a data directory holding one instance with N journaled
 * commands (the cheap commands of bench/restart.ts, a state every 10,000 commands), the server
 * started on it (`node dist/src/main.js`; run `npm run build` first), then one
 * `GET /v1/instances/bench/export` read to its end. Prints the export's size and time, and the
 * server's RSS before it and its peak (VmHWM of /proc/PID/status) after it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommand } from "../src/commands/schemas.js";
import type { Command } from "../src/engine/commands.js";
import { Persistence } from "../src/persistence/index.js";
import { Registry } from "../src/registry.js";
import { setupCommands } from "../test/persistence/workload.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const sizes = (arg("--sizes") ?? "1000000,3000000").split(",").map(Number);
const modes = { on: [true], off: [false], both: [true, false] }[arg("--compact") ?? "both"];
if (modes === undefined) throw new Error("--compact must be on, off or both");

/** Cheap commands (an object allocated and freed, a clock tick), the journal's worst case per byte of state. */
function command(i: number): Command {
  return COMMANDS[i % COMMANDS.length];
}
const COMMANDS = [
  parseCommand({ op: "allocObjects", cache: "kmalloc-256", pid: 200, count: 3 }),
  parseCommand({ op: "freeObjects", cache: "kmalloc-256", pid: 200, count: 1 }),
  parseCommand({ op: "allocObjects", cache: "dentry", pid: 201, count: 2 }),
  parseCommand({ op: "freeObjects", cache: "dentry", pid: 201, count: 1 }),
  parseCommand({ op: "advanceClock", ms: 1 }),
];

function build(dir: string, n: number, compact: boolean): void {
  const registry = new Registry({ ...new Registry().limits, maxLiveObjects: 50_000_000 });
  const p = new Persistence({ dataDir: dir, snapshotEveryCommands: 10_000, compact });
  p.start(registry);
  registry.create("bench", { model: "v6.18", cgroupVersion: 2 });
  registry.executeBatch("bench", setupCommands(2), false);
  p.flush();
  const batch: Command[] = [];
  for (let i = 0; i < n; i++) {
    batch.push(command(i));
    if (batch.length === 1000 || i === n - 1) {
      registry.executeBatch("bench", batch.splice(0), false);
      p.flush();
    }
  }
  p.close();
}

function memKiB(pid: number, key: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no ${key} for ${pid}`);
  return Number(m[1]);
}

async function exportOnce(dir: string, compact: boolean) {
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
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 500));
    const rssBefore = memKiB(child.pid!, "VmRSS");
    const hwmBefore = memKiB(child.pid!, "VmHWM");
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/instances/bench/export`);
    if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    let head = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (head.length < 200) head += Buffer.from(chunk).toString("utf8", 0, Math.min(chunk.length, 200));
      bytes += chunk.length;
    }
    const ms = performance.now() - t0;
    const version = /"version":\s*(\d+)/.exec(head)?.[1] ?? "?";
    return { bytes, ms, version, rssBefore, hwmBefore, hwmAfter: memKiB(child.pid!, "VmHWM") };
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
  }
}

const MiB = (kib: number) => (kib / 1024).toFixed(0);
console.log(
  "N commands | compact | export version | export MB | export s | RSS before MiB | peak before MiB | peak after MiB",
);
for (const n of sizes)
  for (const compact of modes) {
    const dir = mkdtempSync(join(tmpdir(), "memcg-sim-export-"));
    try {
      build(dir, n, compact);
      const r = await exportOnce(dir, compact);
      console.log(
        `${n} | ${compact ? "on" : "off"} | ${r.version} | ${(r.bytes / 1e6).toFixed(1)} | ${(r.ms / 1000).toFixed(2)} | ${MiB(r.rssBefore)} | ${MiB(r.hwmBefore)} | ${MiB(r.hwmAfter)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

/**
 * `npx tsx bench/persistence.ts [--quick]` (issue "Reliability"): commands/s through
 * Registry.execute with persistence off (MEMCG_SIM_DATA_DIR=none: in-memory command log only)
 * and on (SQLite in a temp dir, WAL, synchronous NORMAL and FULL), for three ways a transport
 * can acknowledge:
 *   - batch:   `/batch` of 100 commands, then flush() — one commit per batch;
 *   - turn:    50 single-command requests in one event-loop turn, each awaiting durable() —
 *              one group commit at the end of the turn;
 *   - request: one command, then flush() — one commit per command (the worst case).
 * Each figure is the median of `runs` and is printed with its ratio to the `none` run of the same
 * pattern and workload, measured in this same invocation. Also: restore (replay) speed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommand } from "../src/commands/schemas.js";
import type { Command } from "../src/engine/commands.js";
import { Persistence, type Synchronous } from "../src/persistence/index.js";
import { Registry } from "../src/registry.js";
import { randomCommands, setupCommands } from "../test/persistence/workload.js";

const quick = process.argv.includes("--quick");
const runs = quick ? 1 : 3;
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Mode = "none" | Synchronous;
type Pattern = "batch" | "turn" | "request";

/**
 * Cheap commands (one object allocated and freed, a clock tick; ~0.2 µs each in the engine): the
 * worst case for the journal's fixed cost per command.
 */
function lightCommands(n: number): Command[] {
  const alloc = parseCommand({ op: "allocObjects", cache: "kmalloc-256", pid: 200, count: 1 });
  const free = parseCommand({ op: "freeObjects", cache: "kmalloc-256", pid: 200, count: 1 });
  const tick = parseCommand({ op: "advanceClock", ms: 1 });
  return Array.from({ length: n }, (_, i) => [alloc, free, alloc, free, tick][i % 5]);
}

async function run(mode: Mode, pattern: Pattern, commands: Command[]): Promise<number> {
  const dir = mode === "none" ? null : mkdtempSync(join(tmpdir(), "memcg-sim-bench-"));
  const registry = new Registry();
  const p = new Persistence({ dataDir: dir, synchronous: mode === "none" ? undefined : mode });
  p.start(registry);
  registry.create("bench", { model: "v5.9" });
  registry.executeBatch("bench", setupCommands(2), false);
  p.flush();
  const t0 = performance.now();
  if (pattern === "batch") {
    for (let i = 0; i < commands.length; i += 100) {
      registry.executeBatch("bench", commands.slice(i, i + 100), false);
      p.flush();
    }
  } else if (pattern === "request") {
    for (const c of commands) {
      try {
        registry.execute("bench", c);
      } catch {}
      p.flush();
    }
  } else {
    for (let i = 0; i < commands.length; i += 50) {
      const acks: Promise<void>[] = [];
      for (const c of commands.slice(i, i + 50)) {
        try {
          registry.execute("bench", c);
        } catch {}
        acks.push(p.durable());
      }
      await Promise.all(acks);
    }
  }
  const dt = (performance.now() - t0) / 1000;
  p.close();
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  return commands.length / dt;
}

async function restoreSpeed(commands: Command[]): Promise<{ perSec: number; engineOnlyPerSec: number; n: number }> {
  const dir = mkdtempSync(join(tmpdir(), "memcg-sim-bench-"));
  const r1 = new Registry();
  const p1 = new Persistence({ dataDir: dir });
  p1.start(r1);
  r1.create("bench", { model: "v5.9" });
  r1.executeBatch("bench", setupCommands(2), false);
  for (let i = 0; i < commands.length; i += 1000) r1.executeBatch("bench", commands.slice(i, i + 1000), false);
  const accepted = p1.commands("bench") ?? [];
  p1.close();
  const r2 = new Registry();
  const p2 = new Persistence({ dataDir: dir });
  const rep = p2.restore(r2);
  p2.close();
  rmSync(dir, { recursive: true, force: true });
  // the same replay straight from memory: what the engine alone costs
  const r3 = new Registry();
  const sim = r3.create("bench", { model: "v5.9" }).instance;
  const t0 = performance.now();
  for (const c of accepted) sim.execute(c);
  const engineMs = performance.now() - t0;
  return { perSec: rep.commandCount / (rep.ms / 1000), engineOnlyPerSec: accepted.length / (engineMs / 1000), n: rep.commandCount };
}

const fmt = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(1));
const workloads: [string, Command[]][] = [
  ["light", lightCommands(quick ? 20_000 : 200_000)],
  ["mixed", randomCommands(quick ? 2_000 : 10_000, 11, 2)],
];
console.log(`persistence bench: medians of ${runs} run(s); ratio = cmd/s with a data dir / cmd/s with MEMCG_SIM_DATA_DIR=none, same pattern`);
for (const [wname, commands] of workloads) {
  for (const pattern of ["batch", "turn", "request"] as Pattern[]) {
    const modes: Mode[] = ["none", "NORMAL", "FULL"];
    // FULL fsyncs every commit: one commit per command is ~1000× slower, so measure it on a slice
    const slice = (m: Mode) => (m === "FULL" && pattern === "request" ? commands.slice(0, Math.min(commands.length, 1000)) : commands);
    for (const m of modes) await run(m, pattern, slice(m).slice(0, 1000)); // warm-up
    const xs = new Map<Mode, number[]>(modes.map((m) => [m, []]));
    for (let i = 0; i < runs; i++) for (const m of modes) xs.get(m)!.push(await run(m, pattern, slice(m)));
    const base = median(xs.get("none")!);
    for (const m of modes) {
      const v = median(xs.get(m)!);
      console.log(
        `${`${wname.padEnd(6)} ${pattern.padEnd(8)} ${m}`.padEnd(30)} ${fmt(v).padStart(8)} cmd/s` + (m === "none" ? "" : `  ratio ${(v / base).toFixed(3)}`),
      );
    }
  }
}
const rs = await restoreSpeed(randomCommands(quick ? 2_000 : 20_000, 13, 2));
console.log(
  `${"restore (replay) mixed".padEnd(30)} ${fmt(rs.perSec).padStart(8)} cmd/s  (${rs.n} commands; engine alone ${fmt(rs.engineOnlyPerSec)} cmd/s, ratio ${(rs.perSec / rs.engineOnlyPerSec).toFixed(3)})`,
);

import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/engine/commands.js";
import { Simulation } from "../../src/engine/simulation.js";
import { captureState, restoreState } from "../../src/engine/snapshot.js";
import { DB_FILE, stateDigest } from "../../src/persistence/index.js";
import { server, tempDirs } from "./helpers.js";
import { MODEL_CASES, randomCommands, setupCommands } from "./workload.js";

// Issue "Durable and bounded" §1: restart used to replay every command since the instance's
// creation (2.4–3 µs each, 64.7 s for 153 heavy ones). A snapshot now writes the simulation's
// state (src/engine/snapshot.ts, src/persistence/state-file.ts) and restore starts from the newest
// one that checks out, then applies only the journal rows after it.

const dir = tempDirs();

const CASES = MODEL_CASES;

function answer(sim: Simulation, c: Command): string {
  try {
    return JSON.stringify(sim.execute(c));
  } catch (err) {
    return `error ${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
}

describe("the engine's state, captured and restored", () => {
  for (const c of CASES) {
    it(`${c.model} cgroup v${c.cgroupVersion}: the restored simulation answers every later command as the original does`, () => {
      const cmds = [...setupCommands(c.cgroupVersion), ...randomCommands(1500, 11, c.cgroupVersion)];
      const a = new Simulation({ ...c });
      for (const cmd of cmds.slice(0, 1000)) answer(a, cmd);
      const b = restoreState(structuredClone(captureState(a)));
      expect(stateDigest(b)).toBe(stateDigest(a));
      for (const cmd of cmds.slice(1000)) expect(answer(b, cmd)).toBe(answer(a, cmd));
      expect(stateDigest(b)).toBe(stateDigest(a));
    });
  }
  it("refuses a state of an older format (/1: 32-slot cgroup rows; /2: before the page-table slot; /3: before the per-CPU partial lists; /4: before socket memory), so restart replays the rows instead", () => {
    const a = new Simulation({ model: "v5.9", cgroupVersion: 2 });
    const graph = captureState(a);
    expect(graph.format).toBe("memcg-sim-state/5");
    for (const old of ["memcg-sim-state/1", "memcg-sim-state/2", "memcg-sim-state/3", "memcg-sim-state/4"])
      expect(() => restoreState({ ...graph, format: old } as unknown as typeof graph)).toThrow(
        `snapshot: unknown format ${old}`,
      );
  });
});

describe("restart from the newest state", () => {
  /** 730 commands in batches of 10 (the refused ones are not journaled), a state every ≥ 100 rows, then a crash. */
  async function build(d: string, compact = true) {
    const a = server(d, { snapshotEveryCommands: 100, keepSnapshots: 2, compact });
    a.registry.create("s", { model: "v6.18", cgroupVersion: 2 });
    const cmds = [...setupCommands(2), ...randomCommands(990, 3, 2)];
    for (let i = 0; i < 730; i += 10) {
      a.registry.executeBatch("s", cmds.slice(i, i + 10), false);
      a.persistence.flush();
    }
    const digest = stateDigest(a.registry.get("s").instance);
    const n = a.registry.get("s").instance.commandCount;
    // a kill -9: no close() (which would take a final snapshot); only the file's lock is released
    await a.persistence.settled();
    (a.persistence as unknown as { store: { close(): void } }).store.close();
    const seqs = readdirSync(`${d}/state`)
      .map((f) => Number(f.split(".")[3]))
      .sort((x, y) => x - y);
    return { digest, n, seqs };
  }

  it("applies only the journal rows after the newest state, and keeps the state files of the kept snapshots only", async () => {
    const d = dir();
    const { digest, n, seqs } = await build(d);
    // 2 kept (keepSnapshots), the older ones removed after the commits that pruned their rows
    expect(readdirSync(`${d}/state`).sort()).toEqual(seqs.map((q) => `s.1.0.${q}.state`));
    expect(seqs.length).toBe(2);
    // 668 rows journaled (62 of the 730 commands were refused); a state once ≥ 100 rows had passed since the last
    expect([n, ...seqs]).toEqual([668, 515, 620]);
    const b = server(d);
    expect(b.report.statesLoaded).toBe(1);
    expect(b.report.stateFallbacks).toEqual([]);
    expect(b.report.replayedCommandCount).toBe(n - seqs[1]);
    expect(b.report.commandCount).toBe(n);
    expect(stateDigest(b.registry.get("s").instance)).toBe(digest);
    b.persistence.close();
    await b.persistence.settled();
  });

  it("falls back to an older state, naming the damaged file, and restores the same state", async () => {
    const d = dir();
    const { digest, n, seqs } = await build(d);
    const f = `${d}/state/s.1.0.${seqs[1]}.state`;
    const bytes = readFileSync(f);
    bytes[bytes.length - 100] ^= 0x40;
    writeFileSync(f, bytes);
    const b = server(d);
    expect(b.report.stateFallbacks).toEqual([
      {
        name: "s",
        seq: seqs[1],
        error: expect.stringMatching(
          new RegExp(`s\\.1\\.0\\.${seqs[1]}\\.state: CRC-32 [0-9a-f]+ of bytes 0\\.\\.\\d+ does not match`),
        ),
      },
    ]);
    expect(b.report.statesLoaded).toBe(1);
    expect(b.report.replayedCommandCount).toBe(n - seqs[0]);
    expect(stateDigest(b.registry.get("s").instance)).toBe(digest);
    b.persistence.close();
    await b.persistence.settled();
  });

  // with compaction the rows before the base are gone and this is a start-up error (compaction.test.ts)
  it("replays from row 1 when no state file is left (compaction off: every row is kept)", async () => {
    const d = dir();
    const { digest, n, seqs } = await build(d, false);
    rmSync(`${d}/state`, { recursive: true });
    const b = server(d);
    expect(b.report.stateFallbacks.map((x) => x.seq)).toEqual([seqs[1], seqs[0]]);
    expect(b.report.statesLoaded).toBe(0);
    expect(b.report.replayedCommandCount).toBe(n);
    expect(stateDigest(b.registry.get("s").instance)).toBe(digest);
    b.persistence.close();
    await b.persistence.settled();
  });
});

describe("export reads the rows restart no longer reads", () => {
  // compaction off: with it those rows are deleted once their state is verified (compaction.test.ts)
  it("refuses to export a journal whose rows before the state fail their checksum, naming the row (compaction off)", async () => {
    const d = dir();
    const a = server(d, { snapshotEveryCommands: 100, compact: false });
    a.registry.create("s", { model: "v5.9" });
    const cmds = [...setupCommands(2), ...randomCommands(300, 4, 2)];
    a.registry.executeBatch("s", cmds, false);
    a.persistence.flush();
    a.persistence.close();
    await a.persistence.settled();
    const db = new Database(`${d}/${DB_FILE}`);
    db.prepare(
      "UPDATE journal SET command = replace(command, '\"op\"', '\"op\" ') WHERE instance = 's' AND seq = 5",
    ).run();
    db.close();
    const b = server(d, { compact: false });
    expect(b.report.statesLoaded).toBe(1);
    expect(b.report.failed).toEqual([]);
    expect(() => b.persistence.exportInstance(b.registry, "s")).toThrow(
      "the journal of instance s fails its integrity check at row 5: it cannot be exported (the running instance is not affected)",
    );
    b.persistence.close();
    await b.persistence.settled();
  });
});

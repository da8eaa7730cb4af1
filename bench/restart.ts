/**
 * `npx tsx bench/restart.ts [--sizes 10000,1000000,10000000] [--compact on|off|both]` (issue
 * "Durable and bounded" §1, issue #20 §1): time from launching the server (`node dist/src/main.js`,
 * as the README starts it; run `npm run build` first) to its first `/readyz` 200, for a data
 * directory holding one instance with N journaled commands, written through Registry +
 * Persistence with a state every 10,000 commands, as the server does, then a crash.
 *
 * With compaction on (the default): the data file's size, the state files' size and the journal
 * rows left (those after the base, the older of the 4 kept states), and the time to ready (restart
 * reads the newest state and the rows after it). With compaction off the same, plus the time with
 * the state files removed (restart replays all N rows, as before the state files existed; with
 * compaction on that is an integrity error, the rows before the base being gone). Prints one row
 * per N and mode.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DB_FILE } from "../src/persistence/index.js";
import { buildJournal, kill, startServerOn, untilReady } from "./journal-fixture.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const sizes = (arg("--sizes") ?? "10000,1000000,10000000").split(",").map(Number);
const modes = { on: [true], off: [false], both: [true, false] }[arg("--compact") ?? "both"];
if (modes === undefined) throw new Error("--compact must be on, off or both");

/** The data file's bytes (after the crash's checkpoint), the state files' bytes, the journal rows. */
function footprint(dir: string): { dbBytes: number; stateBytes: number; rows: number } {
  const stateDir = join(dir, "state");
  let stateBytes = 0;
  for (const f of readdirSync(stateDir)) stateBytes += statSync(join(stateDir, f)).size;
  const db = new Database(join(dir, DB_FILE), { readonly: true });
  const rows = db.prepare("SELECT count(*) FROM journal").pluck().get() as number;
  db.close();
  return { dbBytes: statSync(join(dir, DB_FILE)).size, stateBytes, rows };
}

async function timeToReady(dir: string, compact: boolean): Promise<number> {
  const t0 = performance.now();
  const { child, port } = startServerOn(dir, compact);
  try {
    await untilReady(child, port);
    return performance.now() - t0;
  } finally {
    await kill(child);
  }
}

{
  // the baseline: the same server on an empty data directory
  const dir = mkdtempSync(join(tmpdir(), "memcg-sim-restart-"));
  const ms = await timeToReady(dir, true);
  rmSync(dir, { recursive: true, force: true });
  console.log(`empty data directory: ready in ${ms.toFixed(0)} ms`);
}
const MB = (b: number) => (b / 1e6).toFixed(2);
console.log(
  "N commands | compact | build s | live objects | db MB | state MB | journal rows | ready ms | ready replaying all ms",
);
for (const n of sizes)
  for (const compact of modes) {
    const dir = mkdtempSync(join(tmpdir(), "memcg-sim-restart-"));
    try {
      const b = buildJournal(dir, n, compact, "crash");
      const f = footprint(dir);
      const withState = await timeToReady(dir, compact);
      let replayAll = "—";
      if (!compact) {
        rmSync(join(dir, "state"), { recursive: true, force: true });
        replayAll = (await timeToReady(dir, compact)).toFixed(0);
      }
      console.log(
        [
          String(n).padStart(10),
          (compact ? "on" : "off").padStart(7),
          (b.ms / 1000).toFixed(1).padStart(7),
          String(b.liveObjects).padStart(12),
          MB(f.dbBytes).padStart(5),
          MB(f.stateBytes).padStart(8),
          String(f.rows).padStart(12),
          withState.toFixed(0).padStart(8),
          replayAll.padStart(22),
        ].join(" | "),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

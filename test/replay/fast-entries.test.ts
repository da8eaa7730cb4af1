import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODEL_NAMES as MODELS } from "../../src/engine/config.js";
import { dumpState } from "../../src/engine/dump.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import type { Simulation } from "../../src/engine/simulation.js";
import { openRecording } from "../../src/replay/recording.js";
import { replayRecording } from "../../src/replay/run.js";

/**
 * The recording replay applies slab allocations and frees through the engine's fast entries
 * (replayAllocObjects / replayFreeObjects): the same report, the same final state (dumpState, every
 * event in the log, the command and per-op counts, the clock) as through `execute` of the
 * commands, under every model, for every shared recording (limits, OOM kills, forks, rmdir); and
 * the same again with the trace read and parsed on a thread of its own (records.ts).
 */
const FIXTURES = join(import.meta.dirname, "fixtures");
const CASES = ["fork-100", "mixed-3000", "mkdir-2000", "oom-2m", "pipes-500", "rmdir-reparent", "siblings-3"];

function stateOf(inst: Simulation) {
  return {
    dump: dumpState(inst),
    events: inst.events.since(0, 1e9),
    nextSeq: inst.events.nextSeq,
    commandCount: inst.commandCount,
    opCounts: [...inst.opCounts].sort(([a], [b]) => (a < b ? -1 : 1)),
    clockMs: inst.clockMs,
    liveObjects: inst.slab.liveObjects,
    oomKillCount: inst.oomKillCount,
    chargeFailures: { ...inst.chargeFailures },
  };
}

describe.each(CASES)("recording %s", (c) => {
  it("fast entries, commands, parsing thread: the same report and the same state, every model", async () => {
    const states = [new Map<string, unknown>(), new Map<string, unknown>(), new Map<string, unknown>()];
    const reports = [];
    const ways = [
      { fastEntries: true, thread: false },
      { fastEntries: false, thread: false },
      { fastEntries: true, thread: true },
    ];
    for (const [k, way] of ways.entries())
      reports.push(
        await replayRecording(openRecording(join(FIXTURES, c)), {
          ...way,
          inspect: (m, inst) => {
            expect(checkInvariants(inst)).toEqual([]);
            states[k].set(m, stateOf(inst));
          },
        }),
      );
    expect(reports[0]).toEqual(reports[1]);
    expect(reports[2]).toEqual(reports[0]);
    for (const m of MODELS) {
      const s = states[0].get(m) as ReturnType<typeof stateOf>;
      expect(s.commandCount).toBeGreaterThan(0);
      expect(s.opCounts.find(([op]) => op === "allocObjects")?.[1]).toBeGreaterThan(0);
      expect(s).toEqual(states[1].get(m));
      expect(states[2].get(m)).toEqual(s);
    }
  }, 120_000);
});

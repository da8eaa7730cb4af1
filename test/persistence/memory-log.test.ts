import { describe, expect, it } from "vitest";
import { CommandLog } from "../../src/persistence/command-log.js";
import { Persistence } from "../../src/persistence/index.js";
import { Registry } from "../../src/registry.js";

// Without a data directory export reads an in-memory log; a long-running server must not let it
// grow without bound (docs/ARCHITECTURE.md habit 4): past the cap the log is dropped and export says so.
describe("in-memory command log (MEMCG_SIM_DATA_DIR=none)", () => {
  it("exports while under the cap, refuses with 429 LIMIT_EXCEEDED past it, and recovers after a reset", () => {
    const registry = new Registry();
    const p = new Persistence({ dataDir: null, memoryLogMaxCommands: 3 });
    p.attach(registry);
    registry.create("m");
    for (let i = 0; i < 3; i++) registry.execute("m", { op: "advanceClock", ms: 1 });
    expect(p.exportInstance(registry, "m").commands).toHaveLength(3);
    registry.execute("m", { op: "advanceClock", ms: 1 });
    expect(() => p.exportInstance(registry, "m")).toThrowError(
      expect.objectContaining({ code: "LIMIT_EXCEEDED" }),
    );
    registry.reset("m");
    registry.execute("m", { op: "advanceClock", ms: 5 });
    expect(p.exportInstance(registry, "m").commands).toEqual([{ op: "advanceClock", ms: 5 }]);
    p.close();
  });
});

// Without a data directory answers leave at the same point as with one: the end of the event-loop
// turn (the journal's group-commit point), so the answers of one turn are written together.
describe("durable() with MEMCG_SIM_DATA_DIR=none", () => {
  it("resolves at the end of the current turn, one promise shared by the turn's callers", async () => {
    const p = new Persistence({ dataDir: null });
    const order: string[] = [];
    setImmediate(() => order.push("immediate queued before"));
    const a = p.durable();
    const b = p.durable();
    expect(b).toBe(a);
    void Promise.resolve().then(() => order.push("microtask"));
    await a;
    order.push("durable");
    expect(order).toEqual(["microtask", "immediate queued before", "durable"]);
    // the next turn gets a new promise
    const c = p.durable();
    expect(c).not.toBe(a);
    await c;
    p.close();
  });
});

describe("CommandLog keeps repeats as counts", () => {
  it("gives back every command in order, repeats included, and counts them against the cap", () => {
    const log = new CommandLog(5);
    log.begin("x");
    const a = JSON.stringify({ op: "advanceClock", ms: 1 });
    const b = JSON.stringify({ op: "advanceClock", ms: 2 });
    for (const j of [a, a, b, a]) log.append("x", j);
    expect(log.size("x")).toBe(4);
    expect(log.commands("x")).toEqual([
      { op: "advanceClock", ms: 1 },
      { op: "advanceClock", ms: 1 },
      { op: "advanceClock", ms: 2 },
      { op: "advanceClock", ms: 1 },
    ]);
    log.append("x", a);
    log.append("x", a); // the 6th passes the cap of 5
    expect(() => log.commands("x")).toThrow(/passed 5 commands and was dropped/);
  });
});

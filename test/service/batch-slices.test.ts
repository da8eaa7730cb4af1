import { afterEach, describe, expect, it } from "vitest";
import { parseCommand } from "../../src/commands/schemas.js";
import { type Command, EngineError } from "../../src/engine/index.js";
import { Persistence } from "../../src/persistence/index.js";
import { Registry } from "../../src/registry.js";
import { Service } from "../../src/service/service.js";
import { nextTurn, SliceBudget, steppingClock } from "../../src/service/slices.js";
import { tempDir } from "../persistence/helpers.js";
import { observe, randomCommands, setupCommands } from "../persistence/workload.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** A registry with its journal: on disk in a temp directory, or in memory (`null`). */
function journaled(onDisk: boolean): { registry: Registry; persistence: Persistence; service: Service } {
  const registry = new Registry();
  let dataDir: string | null = null;
  if (onDisk) {
    const t = tempDir();
    cleanups.push(t.cleanup);
    dataDir = t.dir;
  }
  const persistence = new Persistence({ dataDir, snapshotEveryCommands: 0 });
  persistence.start(registry);
  cleanups.push(() => persistence.close());
  // one command per slice: the budget is spent after every command (sliceMs 0)
  const service = new Service({
    registry,
    flush: () => persistence.flush(),
    durable: () => persistence.durable(),
    transfer: persistence,
    slice: { sliceMs: 0 },
  });
  return { registry, persistence, service };
}

const batchOf = (cgroupVersion: 1 | 2, n: number, seed: number): Command[] => [
  ...setupCommands(cgroupVersion),
  ...randomCommands(n, seed, cgroupVersion),
];

describe("SliceBudget", () => {
  it("ends a slice once its budget is spent on its clock, counting slices", () => {
    const b = new SliceBudget({ sliceMs: 3, now: steppingClock(1) });
    const due: boolean[] = [];
    for (let i = 0; i < 7; i++) {
      const d = b.due();
      due.push(d);
      if (d) b.begin();
    }
    // each due() reads the clock once: 3 reads per slice
    expect(due).toEqual([false, false, true, false, false, true, false]);
    expect(b.slices).toBe(3);
  });
});

describe("a batch in slices (Service.executeBatch)", () => {
  for (const cgroupVersion of [1, 2] as const)
    for (const stopOnError of [false, true])
      it(`answers, changes and journals exactly what the unsliced batch does (cgroup v${cgroupVersion}, stopOnError ${stopOnError})`, async () => {
        const commands = batchOf(cgroupVersion, 400, 7 + cgroupVersion);
        // the reference: the whole batch in one call of the registry, as before slices
        const ref = journaled(false);
        ref.registry.create("x", { cgroupVersion, seed: 3 });
        const want = ref.registry.executeBatch("x", commands, stopOnError);
        await ref.persistence.durable();

        const sliced = journaled(true);
        sliced.registry.create("x", { cgroupVersion, seed: 3 });
        await sliced.persistence.durable();
        const slots: number[] = [];
        const got = await sliced.service.executeBatch("x", commands, stopOnError, {
          onSlice: (n) => slots.push(n),
        });

        expect(JSON.stringify(got)).toBe(JSON.stringify(want));
        expect(observe(sliced.registry, "x")).toEqual(observe(ref.registry, "x"));
        expect(JSON.stringify(sliced.service.exportInstance("x"))).toBe(
          JSON.stringify(ref.service.exportInstance("x")),
        );
        // one slice per command run (sliceMs 0), each committed before the next
        expect(slots.length).toBe(want.results.length);
        expect(slots.at(-1)).toBe(want.results.length);
        if (stopOnError) expect(want.results.length).toBeLessThan(commands.length);
        else expect(want.results.length).toBe(commands.length);
      });

  it("keeps the instance's order: a command and a read sent during the batch come after it; other instances go on", async () => {
    const { registry, service } = journaled(false);
    registry.create("a");
    registry.create("b");
    const cmds = [
      parseCommand({ op: "createCgroup", path: "/w" }),
      ...Array.from({ length: 20 }, (_, i) => parseCommand({ op: "createCgroup", path: `/w/c${i}` })),
    ];
    const order: string[] = [];
    const batch = service.executeBatch("a", cmds).then((r) => {
      order.push("batch");
      return r;
    });
    // the first slice ran in this turn; the batch now holds "a"
    expect(registry.get("a").instance.cgroupCount).toBe(2);
    expect(service.idle("a")).toBeDefined();
    expect(service.idle("b")).toBeUndefined();
    const onA = service.execute("a", parseCommand({ op: "createCgroup", path: "/w/late" })).then(() => {
      order.push("a-command");
    });
    const readA = service.idle("a")?.then(() => {
      order.push(`a-read:${registry.get("a").instance.cgroupCount}`);
    });
    const onB = service.execute("b", parseCommand({ op: "createCgroup", path: "/x" })).then(() => {
      order.push(`b-command:${registry.get("a").instance.cgroupCount}`);
    });
    await Promise.all([batch, onA, readA, onB]);
    // b was answered while a held 2 cgroups (root and /w); a's read, sent after the late command,
    // saw the whole batch and that command (root + 21 + 1); the command's answer waits for its commit
    expect(order).toEqual(["b-command:2", "batch", "a-read:23", "a-command"]);
    expect(registry.get("a").instance.cgroupCount).toBe(23);
    // the late command was journaled after every command of the batch
    const doc = service.exportInstance("a") as unknown as { commands: { op: string; path?: string }[] };
    expect(doc.commands.at(-1)).toMatchObject({ op: "createCgroup", path: "/w/late" });
    expect(doc.commands.length).toBe(22);
    expect(service.idle("a")).toBeUndefined();
  });

  it("a refused commit ends the batch with 507 naming the commands kept before the refused slice", async () => {
    const registry = new Registry();
    registry.create("a");
    let commits = 0;
    const service = new Service({
      registry,
      // the third slice's commit is refused, as a full disk does
      durable: async () => {
        await nextTurn();
        commits++;
        if (commits === 3) throw new EngineError("INSUFFICIENT_STORAGE", "the journal could not be written");
      },
      slice: { sliceMs: 0 },
    });
    const cmds = Array.from({ length: 6 }, (_, i) => parseCommand({ op: "createCgroup", path: `/c${i}` }));
    const err = await service.executeBatch("a", cmds).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe("INSUFFICIENT_STORAGE");
    expect((err as EngineError).details).toMatchObject({ keptCommandCount: 2 });
    expect((err as EngineError).message).toContain("its first 2 commands were applied and are durable");
    expect(service.idle("a")).toBeUndefined();
  });

  it("refuses an unknown instance and maxBatchCommands before running anything, as before", async () => {
    const registry = new Registry({ ...new Registry().limits, maxBatchCommands: 3 });
    registry.create("a");
    const service = new Service({ registry });
    const cmds = Array.from({ length: 4 }, (_, i) => parseCommand({ op: "createCgroup", path: `/c${i}` }));
    await expect(service.executeBatch("nope", cmds)).rejects.toMatchObject({ code: "INSTANCE_NOT_FOUND" });
    await expect(service.executeBatch("a", cmds)).rejects.toMatchObject({
      code: "LIMIT_EXCEEDED",
      details: { limit: "maxBatchCommands", value: 3 },
    });
    expect(registry.get("a").instance.cgroupCount).toBe(1);
  });
});

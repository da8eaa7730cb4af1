import { afterEach, describe, expect, it } from "vitest";
import { parseCommand } from "../../src/commands/schemas.js";
import { stateDigest } from "../../src/persistence/index.js";
import { Service } from "../../src/service/service.js";
import { server, tempDir } from "./helpers.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

describe("a snapshot never captures a command between its parts", () => {
  for (const compact of [true, false])
    it(`a commit of the same instance while a large allocation runs takes no state of it; restart restores the whole command once (compaction ${compact ? "on" : "off"})`, async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const a = server(dir, { snapshotEveryCommands: 1, keepSnapshots: 2, compact });
      const service = new Service({
        registry: a.registry,
        flush: () => a.persistence.flush(),
        durable: () => a.persistence.durable(),
        transfer: a.persistence,
        slice: { sliceMs: 0 },
      });
      a.registry.create("a");
      for (const c of [
        { op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { account: true } },
        { op: "createCgroup", path: "/w" },
      ])
        await service.execute("a", parseCommand(c));
      const snapshotsBefore = a.persistence.stats().snapshotCount;
      // the cheap command applies at once (nothing runs on a yet) and commits at the end of this
      // turn, while the large one, started in the same turn, is between two of its parts
      const cheap = service.execute("a", parseCommand({ op: "createCgroup", path: "/x" }));
      const long = service.execute(
        "a",
        parseCommand({ op: "allocObjects", cache: "dentry", cgroup: "/w", count: 100_000 }),
      );
      await cheap;
      expect(a.registry.get("a").instance.commandInProgress).toBe(true);
      // the commit of /x took no snapshot of a (it is between two parts of the allocation)
      expect(a.persistence.stats().snapshotCount).toBe(snapshotsBefore);
      await long;
      await service.durable();
      // the allocation's own row made the snapshot due again: it was taken then
      expect(a.persistence.stats().snapshotCount).toBe(snapshotsBefore + 1);
      const digest = stateDigest(a.registry.get("a").instance);
      expect(a.registry.get("a").instance.slab.liveObjects).toBe(100_000);
      a.persistence.close();
      service.close();

      const b = server(dir, { snapshotEveryCommands: 1, keepSnapshots: 2, compact });
      cleanups.push(() => b.persistence.close());
      expect(b.report.failed).toEqual([]);
      expect(b.registry.get("a").instance.slab.liveObjects).toBe(100_000);
      expect(stateDigest(b.registry.get("a").instance)).toBe(digest);
    });
});

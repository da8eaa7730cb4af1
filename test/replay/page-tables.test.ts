import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openRecording } from "../../src/replay/recording.js";
import { replayRecording } from "../../src/replay/run.js";

/**
 * Page tables are not charged twice in a replay (audit row 22): the trace's accounted page events
 * (`mm_page_alloc` with ACCOUNT: fork-100's pgds and pud/pmd/pte pages) are the page tables, so the
 * replay places the traced tasks and their forked children (spawnTask without `fork`): the model
 * makes no mm, pgd or page table of its own for them. fork-100 under v6.18 stays at the real Δkmem
 * − 1 page (docs/REPLAY.md table).
 */
const FIXTURES = join(import.meta.dirname, "fixtures");
const KMEM = "memory.kmem.usage_in_bytes";

describe("replay: page tables only from the trace", () => {
  it("fork-100 under v5.9 and v6.18: no task with a simulated mm, Δkmem = real − 1 page", async () => {
    const simulatedMms: Record<string, number> = {};
    const r = await replayRecording(openRecording(join(FIXTURES, "fork-100")), {
      models: ["v5.9", "v6.18"],
      inspect: (m, inst) => {
        let n = 0;
        for (const t of inst.tasks.values()) if (t.pgdPageId !== 0 || t.ptePageIds.length > 0) n++;
        simulatedMms[m] = n;
      },
    });
    expect(simulatedMms).toEqual({ "v5.9": 0, "v6.18": 0 });
    for (const m of ["v5.9", "v6.18"])
      expect(r.models[m].cgroups["fork-100-0"].predicted[KMEM]).toBe(12390400 - 4096);
  });
});

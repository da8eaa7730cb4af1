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

  it("fork-100: the trace's page-table pages (GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP) are not charged before 4.8: v4.5 charges 1900 pages less", async () => {
    // 1700 order-0 pte/pmd/pud pages and 100 order-1 pgds: 1900 pages that 4.5 did not charge
    // (3e79ec7ddcb2 "arch: x86: charge page tables to kmemcg" is 4.8); v5.9 and v6.18 charge them.
    // With them v4.5 was the real Δkmem + 12 pages (its per-cgroup slab copies); without, − 1888.
    const r = await replayRecording(openRecording(join(FIXTURES, "fork-100")), {
      models: ["v4.5", "v5.9", "v6.18"],
    });
    const kmem = (m: string) => r.models[m].cgroups["fork-100-0"].predicted[KMEM];
    expect(kmem("v4.5")).toBe(12390400 + 12 * 4096 - 1900 * 4096);
    expect(kmem("v5.9")).toBe(12390400 - 4096);
    expect(kmem("v6.18")).toBe(12390400 - 4096);
    expect(r.models["v6.18"].lines).toEqual(r.models["v4.5"].lines);
  });
});

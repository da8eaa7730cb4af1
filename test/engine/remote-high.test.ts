import { describe, expect, it } from "vitest";
import { Simulation } from "../../src/engine/simulation.js";
import { checkInvariants } from "../../src/engine/invariants.js";

function setup(high: string | null) {
  // exact accounting (no per-CPU page stock): the first test counts the charged pages
  const sim = new Simulation({ model: "v5.9", cpuCount: 1, chargeBatchPages: 1 });
  sim.execute({ op: "createCgroup", path: "/a" });
  if (high !== null) sim.execute({ op: "writeFile", cgroup: "/a", file: "memory.high", value: high });
  sim.execute({
    op: "createCache",
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  return sim;
}

// docs/DOMAIN.md §4.1 step 16: a charge with no task to throttle (interrupt/kthread context; here a remote
// charge on behalf of a cgroup) schedules the memcg's high_work, which runs
// reclaim_high(memcg, MEMCG_CHARGE_BATCH) — memory.high is enforced by reclaim, never by failure.
describe("memory.high under remote charges (v5.9)", () => {
  it("charges every object when no high is set: 200000 × (192 + 8) B, rounded up to pages", () => {
    const sim = setup(null);
    sim.execute({
      op: "allocObjects",
      cache: "dentry",
      cgroup: "/a",
      count: 200_000,
      returnObjectIds: false,
    });
    expect(sim.readFile("/a", "memory.current")).toBe(`${Math.ceil((200_000 * 200) / 4096) * 4096}\n`);
  });

  it("runs high_work: usage is reclaimed back under memory.high and `high` events are raised", () => {
    const sim = setup("16M");
    const r = sim.execute({
      op: "allocObjects",
      cache: "dentry",
      cgroup: "/a",
      count: 200_000,
      returnObjectIds: false,
    }) as {
      allocatedCount: number;
      throttleMs: number;
    };
    expect(r.allocatedCount).toBe(200_000); // high never fails a charge
    expect(r.throttleMs).toBe(0); // nobody to throttle
    const current = Number(sim.readFile("/a", "memory.current"));
    expect(current).toBeLessThanOrEqual(16 * 1024 * 1024);
    const high = Number(/high (\d+)/.exec(sim.readFile("/a", "memory.events"))![1]);
    expect(high).toBeGreaterThanOrEqual(1);
    expect(checkInvariants(sim)).toEqual([]);
  });
});

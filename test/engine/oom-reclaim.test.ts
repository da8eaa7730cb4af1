import { describe, expect, it } from "vitest";
import { EVENT_KEYS } from "../../src/engine/cgroup.js";
import type { EngineError } from "../../src/engine/errors.js";
import { MiB, PAGE, Sim } from "./helpers.js";

/** The event counters behind memory.events, every key (the file prints the era's keys only: Era.v2EventKeys). */
const events = (s: Sim, p: string, file = "memory.events") => {
  const cg = s.cg(p);
  const counts = file === "memory.events" ? cg.events : cg.eventsLocal;
  return Object.fromEntries(EVENT_KEYS.map((k, i) => [k, counts[i]]));
};

describe("OOM killer (docs/DOMAIN.md §3.2, §4.1 step 13)", () => {
  it("kills when memory.max is written below anon usage, until usage fits", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    const big = s.spawn("/a", { pid: 10 });
    const small = s.spawn("/a", { pid: 11 });
    s.pages(big, "anon", 3 * MiB);
    s.pages(small, "anon", 1 * MiB);
    s.write("/a", "memory.max", "2M");
    expect(s.sim.tasks.has(10)).toBe(false);
    expect(s.sim.tasks.has(11)).toBe(true);
    expect(s.num("/a", "memory.current")).toBe(MiB);
    expect(events(s, "/a")).toEqual({ low: 0, high: 0, max: 0, oom: 1, oom_kill: 1, oom_group_kill: 0 });
  });

  it("kills the whole memory.oom.group and raises oom_group_kill on the group", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a", "/a/g", "/a/h");
    s.write("/a/g", "memory.oom.group", "1");
    const g1 = s.spawn("/a/g", { pid: 20 });
    const g2 = s.spawn("/a/g", { pid: 21 });
    const h = s.spawn("/a/h", { pid: 22 });
    s.pages(g1, "anon", 2 * MiB);
    s.pages(g2, "anon", 4 * PAGE);
    s.pages(h, "anon", MiB);
    s.write("/a", "memory.max", "2M");
    expect([...s.sim.tasks.keys()].sort()).toEqual([22]);
    expect(events(s, "/a/g")).toMatchObject({ oom_kill: 2, oom_group_kill: 1 });
    expect(events(s, "/a")).toMatchObject({ oom: 1, oom_kill: 2, oom_group_kill: 1 });
    expect(events(s, "/a/h").oom_kill).toBe(0);
  });

  it("never chooses oomScoreAdj −1000 and breaks ties towards the highest pid", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    const immune = s.spawn("/a", { pid: 30, oomScoreAdj: -1000 });
    const t1 = s.spawn("/a", { pid: 31 });
    const t2 = s.spawn("/a", { pid: 32 });
    s.pages(immune, "anon", 2 * MiB);
    s.pages(t1, "anon", 256 * PAGE);
    s.pages(t2, "anon", 256 * PAGE);
    s.write("/a", "memory.max", "2M");
    // the tie between 31 and 32 goes to 32; then 31 goes too; 30 stays though still above max
    expect([...s.sim.tasks.keys()]).toEqual([30]);
    expect(
      s.sim.events
        .since(0)
        .filter((e) => e.type === "oom_kill")
        .map((e) => e.pid),
    ).toEqual([32, 31]);
    expect(s.num("/a", "memory.current")).toBe(2 * MiB);
  });

  it("weighs oomScoreAdj by the limit: adj 1000 makes a small task the victim", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    s.write("/a", "memory.max", "4M");
    const big = s.spawn("/a", { pid: 40 });
    const adj = s.spawn("/a", { pid: 41, oomScoreAdj: 1000 });
    s.pages(big, "anon", 2 * MiB);
    s.pages(adj, "anon", 16 * PAGE);
    // at the OOM: 40 has 1008 pages → 1008 points; 41 → 16 + 1000 × (1024 / 1000 = 1) = 1016
    const r = s.pages(big, "anon", 2 * MiB);
    expect(r.oomKilledPids).toEqual([41]);
  });

  it("does not kill with v1 oom_kill_disable and fails the charge instead", () => {
    const s = new Sim({ model: "v4.5" });
    s.mkdir("/a");
    s.write("/a", "memory.limit_in_bytes", "1M");
    s.write("/a", "memory.oom_control", "1");
    const p = s.spawn("/a");
    const r = s.pages(p, "anon", 2 * MiB);
    expect(r).toMatchObject({ error: "ENOMEM", allocatedBytes: MiB, oomKilledPids: [] });
    // 4.5 prints no oom_kill line (4.13+)
    expect(s.read("/a", "memory.oom_control")).toBe("oom_kill_disable 1\nunder_oom 0\n");
  });
});

describe("reclaim", () => {
  it("answers EAGAIN from memory.reclaim when only anon memory is there (no swap)", () => {
    const s = new Sim({ model: "v6.18", chargeBatchPages: 1 });
    s.mkdir("/a");
    s.pages(s.spawn("/a"), "anon", MiB);
    try {
      s.write("/a", "memory.reclaim", "512K");
      expect.unreachable();
    } catch (e) {
      expect((e as EngineError).code).toBe("EAGAIN");
    }
    const r = s.ex({ op: "reclaim", cgroup: "/a", bytes: 512 * 1024 });
    expect(r).toEqual({
      reclaimedBytes: 0,
      fileReclaimedBytes: 0,
      slabReclaimedBytes: 0,
      scannedObjectCount: 0,
      freedObjectCount: 0,
      freedSlabCount: 0,
      error: "EAGAIN",
    });
    expect(s.num("/a", "memory.current")).toBe(MiB);
  });

  it("reclaims exactly what memory.reclaim asks of page cache when there is plenty", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    s.pages(s.spawn("/a"), "file", 8 * MiB);
    const r = s.ex({ op: "reclaim", cgroup: "/a", bytes: 4 * MiB });
    expect(r.error).toBeNull();
    expect(r.fileReclaimedBytes).toBe(r.reclaimedBytes);
    expect(r.reclaimedBytes).toBeGreaterThanOrEqual(4 * MiB);
    expect(s.num("/a", "memory.current")).toBe(8 * MiB - r.reclaimedBytes);
  });

  it("keeps page cache charged after the task exits, and reclaims it under a limit", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    const p = s.spawn("/a");
    s.pages(p, "file", 2 * MiB);
    s.pages(p, "anon", MiB);
    s.ex({ op: "exitTask", pid: p });
    expect(s.num("/a", "memory.current")).toBe(2 * MiB);
    s.write("/a", "memory.max", "3M");
    const q = s.spawn("/a");
    const r = s.pages(q, "anon", 2 * MiB);
    expect(r).toMatchObject({ error: null, oomKilledPids: [] });
    expect(r.reclaimedBytes).toBeGreaterThanOrEqual(MiB);
    expect(s.num("/a", "memory.current")).toBeLessThanOrEqual(3 * MiB);
    expect(events(s, "/a").max).toBeGreaterThan(0);
    expect(events(s, "/a").oom).toBe(0);
  });

  it("counts max events hierarchically on ancestors but locally only where the limit failed", () => {
    // 6.x: a GFP_ATOMIC charge forced at `nomem` raises MEMCG_MAX at `force` (5.9 forces it silently)
    const s = new Sim({ model: "v6.18", chargeBatchPages: 1 });
    s.mkdir("/p", "/p/q", "/p/q/r");
    s.write("/p/q", "memory.max", "64K");
    const t = s.spawn("/p/q/r");
    // /p/q holds 4 pages for /p/q/r's statistics (6.18, 4 CPUs: 13696 B); 12 more fill its 64K
    expect(s.num("/p/q", "memory.current")).toBe(4 * PAGE);
    expect(s.pages(t, "anon", 12 * PAGE).error).toBeNull();
    expect(s.num("/p/q", "memory.current")).toBe(16 * PAGE);
    s.pages(t, "anon", PAGE, "GFP_ATOMIC");
    expect(events(s, "/p/q/r")).toMatchObject({ max: 0 });
    expect(events(s, "/p/q", "memory.events.local")).toMatchObject({ max: 1 });
    expect(events(s, "/p/q")).toMatchObject({ max: 1 });
    expect(events(s, "/p")).toMatchObject({ max: 1 });
    expect(events(s, "/p", "memory.events.local")).toMatchObject({ max: 0 });
  });

  it("raises high events and reports throttling above memory.high, never OOM-killing", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    s.write("/a", "memory.high", "1M");
    const t = s.spawn("/a");
    const r = s.pages(t, "anon", 2 * MiB);
    expect(r.error).toBeNull();
    expect(r.oomKilledPids).toEqual([]);
    expect(events(s, "/a").high).toBeGreaterThan(0);
    // 5.9 handles the debt only on the return to user (mem_cgroup_handle_over_high from
    // tracehook_notify_resume; the synchronous call in try_charge is 5.18's c9afe31ec443): one
    // penalty, clamped at MEMCG_MAX_HIGH_DELAY_JIFFIES = 2 × HZ = 2000 ms
    expect(r.throttleMs).toBe(2000);
  });
});

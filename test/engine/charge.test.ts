import { describe, expect, it } from "vitest";
import { EVENT_KEYS } from "../../src/engine/cgroup.js";
import { MiB, PAGE, Sim } from "./helpers.js";

/**
 * The gfp matrix at a full limit with no reclaimable memory (docs/DOMAIN.md §12 S5, §4.1, §4.3).
 *
 * Counting `max` events (verified against mm/memcontrol.c try_charge_memcg, 6.x): the event is
 * raised once per pass of the retry loop that reaches reclaim — so for GFP_KERNEL with nothing to
 * reclaim: pass 1 reclaims, then drains the stocks (`drained`) and retries; passes 2..17 each burn
 * one of MAX_RECLAIM_RETRIES = 16 (`if (nr_retries--) goto retry`); pass 18 finds nr_retries == 0 and
 * calls mem_cgroup_oom. That is 18 `max` events, then one `oom`. A forced charge (nomem with
 * __GFP_NOFAIL or __GFP_HIGH) raises `max` only if no pass raised it (`raised_max_event`).
 */
function fullCgroup(model: "v4.5" | "v5.9", hogAdj = 0, smallAdj = 0) {
  // exact accounting (no per-CPU stock): the point here is the retry loop's decisions
  const s = new Sim({ model, cgroupVersion: 2, memoryBytes: 64 * MiB, chargeBatchPages: 1 });
  s.mkdir("/a", "/a/b");
  // /a pays for /a/b's per-CPU statistics from 5.9 (memcg-alloc.ts): 4 CPUs × (2 × 1112 + 2 × 296)
  // = 11264 B through the obj stock, 3 pages; 4.5 charges none of a new cgroup
  const structures = model === "v5.9" ? 3 : 0;
  expect(s.num("/a", "memory.current")).toBe(structures * PAGE);
  s.write("/a", "memory.max", "1M");
  const hog = s.spawn("/a/b", { pid: 200, oomScoreAdj: hogAdj });
  const small = s.spawn("/a/b", { pid: 201, oomScoreAdj: smallAdj });
  expect(s.pages(hog, "anon", 200 * PAGE).error).toBeNull();
  expect(s.pages(small, "anon", (56 - structures) * PAGE).error).toBeNull();
  expect(s.num("/a", "memory.current")).toBe(MiB);
  return { s, hog, small };
}

/**
 * The event counters behind `memory.events` / `memory.events.local`, every key: the files print
 * only the era's keys (Era.v2EventKeys: 4.5 stops at `oom`, 5.9 at `oom_kill`).
 */
const ev = (s: Sim, path: string, file = "memory.events") => {
  const cg = s.cg(path);
  const counts = file === "memory.events" ? cg.events : cg.eventsLocal;
  return Object.fromEntries(EVENT_KEYS.map((k, i) => [k, counts[i]]));
};

/**
 * The era's numbers: passes = 1 drain pass + MEM_CGROUP_RECLAIM_RETRIES (5 until 5.8, 16 from 5.9:
 * "mm, memcg: unify reclaim retry limits with page allocator") + 1.
 */
const ERA = {
  "v4.5": { passes: 7 },
  "v5.9": { passes: 18 },
} as const;

describe.each(["v5.9", "v4.5"] as const)("gfp matrix at a full memory.max (%s)", (model) => {
  const passes = ERA[model].passes;
  it("GFP_KERNEL: one max event per pass (1 drain pass + the era's retries + 1), one oom, kills the biggest task, then charges", () => {
    const { s, hog, small } = fullCgroup(model);
    const r = s.pages(small, "anon", PAGE);
    expect(r).toMatchObject({ allocatedBytes: PAGE, error: null, oomKilledPids: [hog], reclaimedBytes: 0 });
    expect(ev(s, "/a")).toEqual({ low: 0, high: 0, max: passes, oom: 1, oom_kill: 1, oom_group_kill: 0 });
    expect(ev(s, "/a", "memory.events.local")).toEqual({
      low: 0,
      high: 0,
      max: passes,
      oom: 1,
      oom_kill: 0,
      oom_group_kill: 0,
    });
    // oom_kill is raised on the victim's cgroup (and its ancestors); max/oom on mem_over_limit only
    expect(ev(s, "/a/b")).toEqual({ low: 0, high: 0, max: 0, oom: 0, oom_kill: 1, oom_group_kill: 0 });
    expect(ev(s, "/a/b", "memory.events.local").oom_kill).toBe(1);
    expect(s.num("/a", "memory.current")).toBe(57 * PAGE);
  });

  it("GFP_NOWAIT: ENOMEM at once, no event, failedAt names the limited ancestor", () => {
    const { s, small } = fullCgroup(model);
    const r = s.pages(small, "anon", PAGE, "GFP_NOWAIT");
    expect(r).toMatchObject({
      allocatedBytes: 0,
      failedBytes: PAGE,
      error: "ENOMEM",
      failedAt: "/a",
      oomKilledPids: [],
    });
    expect(ev(s, "/a").max).toBe(0);
    expect(s.num("/a", "memory.current")).toBe(MiB);
  });

  // 4.x try_charge: `if (!gfpflags_allow_blocking(gfp_mask)) goto nomem` — ENOMEM, no event.
  // 5.9: `if (gfp_mask & __GFP_ATOMIC) goto force` before any reclaim — forced, no MAX event.
  it("GFP_ATOMIC: the era's rule (4.5 ENOMEM; 5.9 forced without a max event)", () => {
    const { s, small } = fullCgroup(model);
    const r = s.pages(small, "anon", 2 * PAGE, "GFP_ATOMIC");
    if (model === "v4.5") {
      expect(r).toMatchObject({ allocatedBytes: 0, error: "ENOMEM", failedAt: "/a" });
      expect(ev(s, "/a")).toMatchObject({ max: 0, oom: 0, oom_kill: 0 });
      expect(s.num("/a", "memory.current")).toBe(MiB);
      return;
    }
    expect(r).toMatchObject({
      allocatedBytes: 2 * PAGE,
      error: null,
      failedAt: null,
      chargedBytes: 2 * PAGE,
    });
    expect(ev(s, "/a")).toMatchObject({ max: 0, oom: 0, oom_kill: 0 });
    expect(s.num("/a", "memory.current")).toBe(MiB + 2 * PAGE);
    // the watermark (memory.peak exists only from 5.19)
    expect(s.cg("/a").memory.watermark).toBe(256 + 2);
  });

  it("GFP_NOWAIT|__GFP_NOFAIL: forced without blocking and without a max event (4.x/5.x `force:` raises none)", () => {
    const { s, small } = fullCgroup(model);
    expect(s.pages(small, "anon", PAGE, "GFP_NOWAIT|__GFP_NOFAIL").error).toBeNull();
    expect(ev(s, "/a")).toMatchObject({ max: 0, oom: 0 });
    expect(s.num("/a", "memory.current")).toBe(MiB + PAGE);
  });

  it("__GFP_NORETRY: ENOMEM after two reclaim passes (the drain pass and one more)", () => {
    const { s, small } = fullCgroup(model);
    expect(s.pages(small, "anon", PAGE, "GFP_KERNEL|__GFP_NORETRY").error).toBe("ENOMEM");
    expect(ev(s, "/a")).toMatchObject({ max: 2, oom: 0, oom_kill: 0 });
  });

  it("__GFP_RETRY_MAYFAIL: ENOMEM after the era's passes, never the OOM killer", () => {
    const { s, small } = fullCgroup(model);
    expect(s.pages(small, "anon", PAGE, "GFP_KERNEL|__GFP_RETRY_MAYFAIL").error).toBe("ENOMEM");
    expect(ev(s, "/a")).toMatchObject({ max: passes, oom: 0, oom_kill: 0 });
  });

  // 4.x–5.17 try_charge: `if (gfp_mask & __GFP_NOFAIL) goto force;` before the OOM killer
  it("__GFP_NOFAIL with no killable task: the era's max events, no oom, then forced without another max", () => {
    const { s, small } = fullCgroup(model, -1000, -1000);
    const r = s.pages(small, "anon", PAGE, "GFP_KERNEL|__GFP_NOFAIL");
    expect(r).toMatchObject({ error: null, oomKilledPids: [] });
    expect(ev(s, "/a")).toMatchObject({ max: passes, oom: 0, oom_kill: 0 });
    expect(s.num("/a", "memory.current")).toBe(MiB + PAGE);
  });

  // OOM_FAILED: 5.9 `case OOM_FAILED: goto force` (until 5.16); 4.5 has no synchronous OOM result: ENOMEM
  it("GFP_KERNEL with no killable task: after the oom event, 4.5 ENOMEM, 5.9 forced over the limit", () => {
    const { s, small } = fullCgroup(model, -1000, -1000);
    const r = s.pages(small, "anon", PAGE);
    expect(ev(s, "/a")).toMatchObject({ max: passes, oom: 1, oom_kill: 0 });
    if (model === "v4.5") {
      expect(r.error).toBe("ENOMEM");
      expect(s.num("/a", "memory.current")).toBe(MiB);
    } else {
      expect(r).toMatchObject({ error: null, allocatedBytes: PAGE, oomKilledPids: [] });
      expect(s.num("/a", "memory.current")).toBe(MiB + PAGE);
    }
  });

  it("reports OOM_KILLED when the allocating task is the victim", () => {
    const { s, small, hog } = fullCgroup(model, -1000, 0);
    const r = s.pages(small, "anon", PAGE);
    expect(r).toMatchObject({ error: "OOM_KILLED", oomKilledPids: [small], allocatedBytes: 0 });
    expect(s.sim.tasks.has(small)).toBe(false);
    expect(s.sim.tasks.has(hog)).toBe(true);
    // the hog's pages and, from 5.9, /a/b's statistics (3 pages)
    expect(s.num("/a", "memory.current")).toBe((200 + (model === "v5.9" ? 3 : 0)) * PAGE);
  });
});

describe("3.x charge path for user pages (rfc-2012, v3.8; docs/DOMAIN.md §4.3)", () => {
  function full(model: "rfc-2012" | "v3.8") {
    // exact accounting (no per-CPU stock): the point here is the retry loop's decisions
    const s = new Sim({ model, memoryBytes: 64 * MiB, chargeBatchPages: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.limit_in_bytes", "1M");
    const hog = s.spawn("/a", { pid: 300 });
    const small = s.spawn("/a", { pid: 301 });
    s.pages(hog, "anon", 200 * PAGE);
    s.pages(small, "anon", 56 * PAGE);
    return { s, hog, small };
  }

  it.each(["rfc-2012", "v3.8"] as const)(
    "%s: GFP_ATOMIC fails (no __GFP_WAIT, no __GFP_HIGH forcing)",
    (model) => {
      const { s, small } = full(model);
      expect(s.pages(small, "anon", PAGE, "GFP_ATOMIC")).toMatchObject({ error: "ENOMEM", failedAt: "/a" });
      expect(s.read("/a", "memory.failcnt")).toBe("1\n");
      expect(s.read("/a", "memory.usage_in_bytes")).toBe(`${MiB}\n`);
    },
  );

  it.each(["rfc-2012", "v3.8"] as const)("%s: __GFP_NOFAIL bypasses to the root, uncharged", (model) => {
    const { s, small } = full(model);
    const r = s.pages(small, "anon", PAGE, "GFP_KERNEL|__GFP_NOFAIL");
    expect(r).toMatchObject({ error: null, allocatedBytes: PAGE, chargedBytes: 0, oomKilledPids: [] });
    expect(s.read("/a", "memory.usage_in_bytes")).toBe(`${MiB}\n`);
    // __GFP_NOFAIL sets oom = false: the first CHARGE_NOMEM goes to nomem → bypass
    expect(s.read("/a", "memory.failcnt")).toBe("1\n");
  });

  it.each(["rfc-2012", "v3.8"] as const)(
    "%s: GFP_KERNEL fails the res_counter 6 times (5 retries, then the OOM pass) and kills the hog",
    (model) => {
      const { s, small, hog } = full(model);
      const r = s.pages(small, "anon", PAGE);
      expect(r).toMatchObject({ error: null, oomKilledPids: [hog] });
      expect(s.read("/a", "memory.failcnt")).toBe("6\n");
      expect(s.read("/a", "memory.usage_in_bytes")).toBe(`${57 * PAGE}\n`);
    },
  );
});

describe("charge batching (chargeBatchPages, docs/DOMAIN.md §4.1 steps 1–2, 16)", () => {
  it("pre-charges a batch into the per-CPU stock and serves later pages from it", () => {
    const s = new Sim({ model: "v5.9", chargeBatchPages: 32 });
    s.mkdir("/a");
    const pid = s.spawn("/a", { cpu: 0 });
    s.pages(pid, "anon", PAGE);
    expect(s.num("/a", "memory.current")).toBe(32 * PAGE);
    s.pages(pid, "anon", 31 * PAGE);
    expect(s.num("/a", "memory.current")).toBe(32 * PAGE);
    s.pages(pid, "anon", PAGE);
    expect(s.num("/a", "memory.current")).toBe(64 * PAGE);
  });

  it("retries a failed batch at the real size (a failcnt bump without a shortage in v1)", () => {
    const s = new Sim({ model: "v4.5", chargeBatchPages: 32 });
    s.mkdir("/a");
    s.write("/a", "memory.limit_in_bytes", "64K");
    const pid = s.spawn("/a", { cpu: 0 });
    expect(s.pages(pid, "anon", PAGE).error).toBeNull();
    expect(s.read("/a", "memory.usage_in_bytes")).toBe(`${PAGE}\n`);
    expect(s.read("/a", "memory.failcnt")).toBe("1\n");
  });

  it("drains the stock on rmdir so a dying cgroup is released", () => {
    const s = new Sim({ model: "v5.9", chargeBatchPages: 32 });
    s.mkdir("/a");
    const pid = s.spawn("/a", { cpu: 0 });
    s.pages(pid, "anon", PAGE);
    s.ex({ op: "exitTask", pid });
    expect(s.num("/a", "memory.current")).toBe(31 * PAGE);
    s.rmdir("/a");
    expect(s.sim.dyingCount).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import { MiB, Sim, valuesClose } from "./helpers.js";

/**
 * tools/testing/selftests/cgroup/test_memcontrol.c test_memcg_protection(min|low):
 *   A memory.max 200M; A/B protection 50M; B/C 75M, B/D 25M, B/E 0, B/F 500M;
 *   50M of page cache in C, D and E (processes stay); then 148M anon in A/G (process exits).
 * Expected: B ≈ 50M (values_close 3), C ≈ 29M (15), D ≈ 21M (20), F = 0; a further 170M in G
 * fails for min (OOM) and succeeds for low with B ≈ 30M; C and D saw low events, E and F none
 * (no memory_recursiveprot), no child saw oom; memory.reclaim on C gets it to 10M.
 */
function layout(attr: "memory.min" | "memory.low") {
  // v6.18: memory.reclaim is 5.19+ (the kselftest of this layout uses it)
  const s = new Sim({ model: "v6.18", chargeBatchPages: 1, memoryBytes: 1024 * MiB });
  s.mkdir("/A", "/A/B", "/A/G", "/A/B/C", "/A/B/D", "/A/B/E", "/A/B/F");
  s.write("/A", "memory.max", "200M");
  for (const k of ["C", "D", "E"]) s.pages(s.spawn(`/A/B/${k}`), "file", 50 * MiB);
  s.write("/A/B", attr, "50M");
  s.write("/A/B/C", attr, "75M");
  s.write("/A/B/D", attr, "25M");
  s.write("/A/B/E", attr, "0");
  s.write("/A/B/F", attr, "500M");
  expect(valuesClose(s.num("/A/B", "memory.current"), 150 * MiB, 3)).toBe(true);
  const g = s.spawn("/A/G");
  expect(s.pages(g, "anon", 148 * MiB).error).toBeNull();
  s.ex({ op: "exitTask", pid: g });
  return s;
}

const cur = (s: Sim, p: string) => s.num(p, "memory.current");
const key = (s: Sim, p: string, k: string) =>
  Number(
    /^(\S+) (\d+)$/m.exec(
      s
        .read(p, "memory.events")
        .split("\n")
        .find((l) => l.startsWith(`${k} `))!,
    )![2],
  );

describe.each(["memory.min", "memory.low"] as const)("kselftest protection layout with %s", (attr) => {
  it("lands B, C, D and F inside the selftest windows after 148M of anon pressure", () => {
    const s = layout(attr);
    const c = ["C", "D", "E", "F"].map((k) => cur(s, `/A/B/${k}`));
    expect(valuesClose(cur(s, "/A/B"), 50 * MiB, 3)).toBe(true);
    expect(valuesClose(c[0], 29 * MiB, 15)).toBe(true);
    expect(valuesClose(c[1], 21 * MiB, 20)).toBe(true);
    expect(c[2]).toBeLessThan(2 * MiB);
    expect(c[3]).toBe(0);
    // exact figures of this deterministic run (pages reclaimed in SWAP_CLUSTER_MAX batches)
    expect(c).toEqual([30789632, 22786048, 839680, 0]);
  });

  it(`then ${attr === "memory.min" ? "fails" : "allows"} 170M more in G, keeps B at ${attr === "memory.min" ? 50 : 30}M, and memory.reclaim takes C to 10M`, () => {
    const s = layout(attr);
    const g = s.spawn("/A/G");
    const r = s.pages(g, "anon", 170 * MiB);
    if (attr === "memory.min") {
      expect(r.error).toBe("OOM_KILLED");
      expect(r.oomKilledPids).toEqual([g]);
      expect(valuesClose(cur(s, "/A/B"), 50 * MiB, 3)).toBe(true);
    } else {
      expect(r.error).toBeNull();
      s.ex({ op: "exitTask", pid: g });
      expect(valuesClose(cur(s, "/A/B"), 30 * MiB, 3)).toBe(true);
    }
    for (const k of ["C", "D", "E", "F"]) expect(key(s, `/A/B/${k}`, "oom")).toBe(0);
    if (attr === "memory.low") {
      expect(key(s, "/A/B/C", "low")).toBeGreaterThan(0);
      expect(key(s, "/A/B/D", "low")).toBeGreaterThan(0);
      expect(key(s, "/A/B/E", "low")).toBe(0);
      expect(key(s, "/A/B/F", "low")).toBe(0);
    } else {
      for (const k of ["C", "D", "E", "F"]) expect(key(s, `/A/B/${k}`, "low")).toBe(0);
    }
    // reclaim_until(C, 10M): the target's own protection is ignored
    s.write("/A/B/C", "memory.reclaim", String(cur(s, "/A/B/C") - 10 * MiB));
    expect(valuesClose(cur(s, "/A/B/C"), 10 * MiB, 3)).toBe(true);
  });
});

describe("protection arithmetic", () => {
  it("gives siblings their proportional share when they claim more than the parent affords", () => {
    const s = layout("memory.min");
    const C = s.cg("/A/B/C");
    const D = s.cg("/A/B/D");
    // after the run C and D sit at their effective min: emin(C) + emin(D) = B's 50M = 12800 pages
    expect(C.emin + D.emin).toBeGreaterThanOrEqual(12799);
    expect(C.emin + D.emin).toBeLessThanOrEqual(12800);
  });

  it("skips a cgroup below memory.min even when that leaves an OOM", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a", "/a/p", "/a/q");
    s.write("/a", "memory.max", "8M");
    s.pages(s.spawn("/a/p"), "file", 4 * MiB);
    s.write("/a/p", "memory.min", "4M");
    const q = s.spawn("/a/q");
    const r = s.pages(q, "anon", 5 * MiB);
    expect(r.error).toBe("OOM_KILLED");
    expect(cur(s, "/a/p")).toBe(4 * MiB);
  });
});

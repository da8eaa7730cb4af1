import { describe, expect, it } from "vitest";
import type { Command } from "../../src/engine/commands.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { Simulation } from "../../src/engine/simulation.js";
import { stateDigest } from "../../src/persistence/digest.js";
import { lcg, MODEL_CASES, randomCommands, setupCommands } from "../persistence/workload.js";

/**
 * A large allocObjects or freeObjects runs in parts on the server (Simulation.begin → step … → finish, with the
 * event loop turning between parts): each part must leave what one whole command leaves. For every
 * model and cgroup version, the same random workload — allocations of up to 15,000 objects under
 * limits and memory.high, so parts end in charge failures, reclaim and OOM kills — runs whole on one
 * simulation and in parts of 1–3,000 objects on another: every answer, every event and the state
 * digest after every command are the same, and the invariants hold after every part of an
 * allocation and after every command.
 */
const CASES = MODEL_CASES;

function outcome(f: () => unknown): string {
  try {
    return JSON.stringify(f());
  } catch (err) {
    return `error ${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
}

/** The workload's allocations and frees made 50 and 10 times larger (allocations up to 15,000 objects, frees up to 2,000: parts of 1–3,000 split both). */
function workload(cgroupVersion: 1 | 2, seed: number): Command[] {
  const MiB = 1024 * 1024;
  // tighter limits than the setup's, and v1 kmem accounting on (3.8 and 4.5 account kmem only
  // after a kmem.limit_in_bytes write), so allocations fail, reclaim and OOM-kill
  // (activation needs a cgroup with no child and no task yet: right after its creation)
  // (caches first: under rfc-2012 a cgroup gets copies of the caches registered before it)
  const base = setupCommands(cgroupVersion);
  const setup = [
    ...base.filter((c) => c.op === "createCache"),
    ...base.filter((c) => c.op !== "createCache"),
  ].flatMap((c): Command[] =>
    c.op === "createCgroup" && cgroupVersion === 1
      ? [c, { op: "writeFile", cgroup: c.path, file: "memory.kmem.limit_in_bytes", value: "1G" }]
      : [c],
  );
  const tight: Command[] = [
    { op: "updateCgroup", path: "/a", memoryMaxBytes: 8 * MiB },
    { op: "updateCgroup", path: "/c", memoryMaxBytes: 6 * MiB },
  ];
  return [...setup, ...tight, ...randomCommands(400, seed, cgroupVersion)].map((c) =>
    (c.op === "allocObjects" || c.op === "freeObjects") && c.count !== undefined
      ? { ...c, count: c.count * (c.op === "allocObjects" ? 50 : 10) }
      : c,
  );
}

describe("a command in parts leaves what the whole command leaves", () => {
  for (const c of CASES)
    it(`${c.model} cgroup v${c.cgroupVersion}`, () => {
      const whole = new Simulation({ ...c, memoryBytes: 256 * 1024 * 1024 });
      const parts = new Simulation({ ...c, memoryBytes: 256 * 1024 * 1024 });
      const r = lcg(7);
      let partCount = 0;
      let failedOrKilled = 0;
      let freesInParts = 0;
      for (const cmd of workload(c.cgroupVersion, 3)) {
        const a = outcome(() => whole.execute(cmd));
        const b = outcome(() => {
          const run = parts.begin(cmd);
          if (run === null) return parts.execute(cmd);
          for (let part = 1; ; part++) {
            const done = run.step(1 + r(3000));
            if (part === 2 && cmd.op === "freeObjects") freesInParts++;
            partCount++;
            // (between the parts of a free, the uncharge of the objects freed so far is still
            // batched, as in the middle of one call: the invariants hold again after finish)
            if (cmd.op === "allocObjects") expect(checkInvariants(parts)).toEqual([]);
            if (done) break;
          }
          const result = run.finish();
          expect(checkInvariants(parts)).toEqual([]);
          return result;
        });
        expect(b).toBe(a);
        if (cmd.op === "allocObjects" && /"failedCount":[1-9]/.test(a)) failedOrKilled++;
        expect(stateDigest(parts)).toBe(stateDigest(whole));
      }
      expect(parts.events.since(0, 1e9)).toEqual(whole.events.since(0, 1e9));
      expect(parts.commandCount).toBe(whole.commandCount);
      // the workload did run in parts, and some of them ended in a failure
      expect(partCount).toBeGreaterThan(100);
      expect(failedOrKilled).toBeGreaterThan(0);
      expect(freesInParts).toBeGreaterThan(0);
    });

  it("answers null for every command but allocObjects and freeObjects, and refuses before changing anything", () => {
    const sim = new Simulation({ model: "v6.18" });
    for (const cmd of setupCommands(2)) sim.execute(cmd);
    expect(sim.begin({ op: "createCgroup", path: "/z" })).toBeNull();
    const before = stateDigest(sim);
    expect(outcome(() => sim.begin({ op: "allocObjects", cache: "nope", pid: 200, count: 100_000 }))).toBe(
      "error CACHE_NOT_FOUND: cache nope not found",
    );
    expect(stateDigest(sim)).toBe(before);
  });
});

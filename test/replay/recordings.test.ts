import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MODEL_NAMES as MODELS } from "../../src/engine/config.js";
import { openRecording } from "../../src/replay/recording.js";
import { type ReplayReport, replayRecording } from "../../src/replay/run.js";

/**
 * One replay per shared recording (test/replay/fixtures: copies of the real Linux 6.18 recordings,
 * README facts in docs/REPLAY.md). Held to what the real kernel showed: under v5.9 (per-object
 * charging, the kernel's design since 5.9) each non-parent cgroup's Δmemory.kmem.usage_in_bytes
 * within (1 + CPUs) pages of the real one; every trace line accounted for.
 */
const FIXTURES = join(import.meta.dirname, "fixtures");
const CASES = ["fork-100", "mixed-3000", "mkdir-2000", "oom-2m", "pipes-500", "rmdir-reparent", "siblings-3"];
const KMEM = "memory.kmem.usage_in_bytes";

const reports = new Map<string, ReplayReport>();
beforeAll(async () => {
  for (const c of CASES) reports.set(c, await replayRecording(openRecording(join(FIXTURES, c))));
}, 120_000);

describe.each(CASES)("recording %s", (c) => {
  const meta = JSON.parse(readFileSync(join(FIXTURES, c, "meta.json"), "utf8"));
  const cpus = Math.max(...(meta.cpus as number[])) + 1;

  it("replays under every model, every line counted once", () => {
    const r = reports.get(c)!;
    expect(Object.keys(r.models)).toEqual([...MODELS]);
    for (const m of MODELS) {
      const lines = r.models[m].lines;
      expect(lines.parsed).toBe(meta.trace_lines);
      const skipped = Object.values(lines.skipped).reduce((a, b) => a + b, 0);
      expect(lines.used + skipped).toBe(meta.trace_lines);
    }
  });

  it(`v5.9: each non-parent cgroup's Δkmem within (1 + ${cpus}) pages of the real one`, () => {
    const v59 = reports.get(c)!.models["v5.9"];
    const names = Object.keys(meta.before).filter((k) => k !== "parent");
    expect(Object.keys(v59.cgroups).sort()).toEqual(["parent", ...names].sort());
    for (const name of names) {
      const { predicted, real } = v59.cgroups[name];
      const realDelta = meta.after[name][KMEM] - meta.before[name][KMEM];
      expect(real?.[KMEM]).toBe(realDelta);
      expect(
        Math.abs(predicted[KMEM] - realDelta),
        `${c} ${name}: predicted ${predicted[KMEM]}, real ${realDelta}`,
      ).toBeLessThanOrEqual((1 + cpus) * 4096);
    }
  });

  it(`v6.18: each non-parent cgroup's Δkmem within (1 + ${cpus}) pages of the real one`, () => {
    const m = reports.get(c)!.models["v6.18"];
    for (const name of Object.keys(meta.before).filter((k) => k !== "parent")) {
      const realDelta = meta.after[name][KMEM] - meta.before[name][KMEM];
      expect(
        Math.abs(m.cgroups[name].predicted[KMEM] - realDelta),
        `${c} ${name}: predicted ${m.cgroups[name].predicted[KMEM]}, real ${realDelta}`,
      ).toBeLessThanOrEqual((1 + cpus) * 4096);
    }
  });

  it("only oom-2m has an OOM kill, in any model that kills", () => {
    const r = reports.get(c)!;
    if (c !== "oom-2m") for (const m of MODELS) expect(r.models[m].oomKills, m).toEqual([]);
  });
});

describe("the facts of the recordings", () => {
  it("v6.18: Δmemory.usage_in_bytes moves in the kernel's 64-page batches: exactly the real one where the trace holds every charge", () => {
    const USAGE = "memory.usage_in_bytes";
    for (const [c, names] of [
      ["mkdir-2000", ["mkdir-2000-0"]],
      ["pipes-500", ["pipes-500-0"]],
      ["rmdir-reparent", ["rmdir-reparent-0"]],
      ["siblings-3", ["siblings-3-0", "siblings-3-1", "siblings-3-2"]],
    ] as const) {
      const m = reports.get(c)!.models["v6.18"];
      for (const name of names) {
        const { predicted, real } = m.cgroups[name];
        expect(predicted[USAGE], `${c} ${name}`).toBe(real![USAGE]);
        expect(predicted[USAGE] % (64 * 4096), `${c} ${name}: whole batches`).toBe(0);
      }
    }
  });

  it("rmdir-reparent: removing the child with its objects alive leaves the parent's kmem unchanged (v5.9, v6.18), as recorded", () => {
    const r = reports.get("rmdir-reparent")!;
    for (const m of ["v5.9", "v6.18"]) {
      const a = r.models[m].afterRmdir!;
      expect(a.parent.real).toEqual({ kmemBytes: 0, usageBytes: -196608 });
      expect(a.parent.predicted.kmemBytes, m).toBe(0);
    }
    // both drain the child's page stock at offline (mem_cgroup_css_offline → drain_all_stock):
    // the parent's usage drops by the child's stocked pages (v5.9: 20 pages of its 32-page batches)
    expect(r.models["v6.18"].afterRmdir!.parent.predicted.usageBytes).toBeLessThan(0);
    expect(r.models["v5.9"].afterRmdir!.parent.predicted.usageBytes).toBe(-81920);
  });

  it("fork-100: 100 kernel stacks of 16384 bytes are in the v5.9 prediction, absent from rfc-2012's", () => {
    const r = reports.get("fork-100")!;
    const v59 = r.models["v5.9"].cgroups["fork-100-0"].predicted[KMEM];
    // real: 12390400 = slab objects + ACCOUNT pages + 100 × 16384
    expect(Math.abs(v59 - 12390400)).toBeLessThanOrEqual(2 * 4096);
    expect(r.models["v5.9"].lines.used).toBe(15897);
    expect(r.models["rfc-2012"].cgroups["fork-100-0"].predicted[KMEM]).toBeLessThan(12390400 - 100 * 16384);
  });

  it("oom-2m: v4.5 kills nothing — 3.12–4.18 kmem charges from syscalls only record the memcg OOM and fail with ENOMEM", () => {
    const r = reports.get("oom-2m")!;
    expect(r.models["v4.5"].oomKills).toEqual([]);
    expect(r.models["v4.5"].cgroups["oom-2m-0"].predicted.oom_kill).toBe(0);
    // the real kernel's after − before at the limit: kmem grew by 2088960
    expect(r.models["v4.5"].cgroups["oom-2m-0"].real?.[KMEM]).toBe(2088960);
  });

  it("oom-2m: v5.9 and v6.18 OOM-kill pid 11812 on line 11983, the dentry allocation the kernel failed; v6.18 with the kernel's failcnt 36", () => {
    const r = reports.get("oom-2m")!;
    for (const m of ["v5.9", "v6.18"]) {
      const kills = r.models[m].oomKills;
      expect(kills, m).toEqual([{ pid: 11812, cgroup: "oom-2m-0", atLine: 11983 }]);
      expect(kills[0].atLine).toBeGreaterThanOrEqual(Math.ceil(12007 * 0.97));
      expect(r.models[m].cgroups["oom-2m-0"].predicted.oom_kill).toBe(1);
      // the other cgroups' use of CPU 0's object stock, which the trace cannot show, stood in once
      expect(r.models[m].notes?.objStockTakenOver).toBe(1);
    }
    const v618 = r.models["v6.18"].cgroups["oom-2m-0"];
    // try_charge_memcg's 1 + 1 + 1 + 16 tries, the kill, 1 + 16 more (5.16+ passed_oom): the real 36
    expect(v618.predicted["memory.failcnt"]).toBe(36);
    expect(v618.real?.["memory.failcnt"]).toBe(36);
    expect(v618.predicted["memory.usage_in_bytes"]).toBe(v618.real?.["memory.usage_in_bytes"]);
    expect(v618.predicted[KMEM]).toBe(2088960);
  });

  it("rmdir-reparent and siblings-3: the parent's Δkmem is the sum of its children's", () => {
    for (const c of ["rmdir-reparent", "siblings-3"]) {
      const cg = reports.get(c)!.models["v5.9"].cgroups;
      const kids = Object.entries(cg).filter(([k]) => k !== "parent");
      expect(cg.parent.predicted[KMEM]).toBe(kids.reduce((a, [, v]) => a + v.predicted[KMEM], 0));
    }
  });
});

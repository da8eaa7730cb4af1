import { describe, expect, it } from "vitest";
import { compareScenario } from "../../src/compare/compare.js";
import { measure } from "../../src/compare/measure.js";
import { deriveModelConfig } from "../../src/compare/model-config.js";
import { Simulation } from "../../src/engine/simulation.js";
import { expandScenarioToArray } from "../../src/scenarios/expand.js";
import { loadScenarioFile } from "../../src/scenarios/load.js";
import { runCommands } from "../../src/scenarios/run.js";

const SMALL = "examples/small-two-cgroups.json";

/*
 * examples/small-two-cgroups.json, derived by hand (4 KiB pages, 4 CPUs, cgroup v1 for every
 * model, chargeBatchPages 1 = no page stock).
 *
 * Geometry (docs/DOMAIN.md §5.1): 4 CPUs → min_objects = 4 × (fls(4) + 1) = 16.
 *   dentry 192 B: 16 × 192 = 3072 → order 0; waste 4096 mod 192 = 64 ≤ 4096/16 → o0, 21 objects/slab, 1 page.
 *   kmalloc-64:   16 × 64 = 1024 → order 0; waste 0 → o0, 64 objects/slab, 1 page.
 * Task 10 in /a runs on CPU 0, task 20 in /b on CPU 1. Steps: /a 30 dentries; /b 5 dentries;
 * /a 3 kmalloc-64 with GFP_KERNEL; rm /b (after its task exits); /a frees its 10 oldest dentries.
 * Live objects at the end: 25 dentries + 3 kmalloc-64 = 25 × 192 + 3 × 64 = 4992 B.
 *
 * rfc-2012 (eager copies of registered caches; dentry is registered by flags.account, kmalloc-64
 *   is not; gfp ignored): /a's copy: 21 + 9 objects → 2 slabs; /b's copy: 5 → 1 slab; kmalloc-64
 *   in the shared base cache: 1 slab. rm /b: its copy holds objects → kept, /b dying (1).
 *   Freeing /a's 10 oldest leaves the first slab with 11: no slab freed.
 *   Slab 4 pages = 16384 B; utilization 4992 / 16384 = 0.3046875.
 *   Charged (memory counter, kmemIndependentAccounting off): /a 2 pages + /b 1 page = 12288 B
 *   kernel and memory.
 * v3.8 (kmem activated by the kmem.limit_in_bytes writes; every cache accounted; copies lazy:
 *   the allocation that misses is served by the root cache, unaccounted, the copy serves the next):
 *   dentry: /a #1 → base (CPU 0 slab), #2–#30 (29) → copy: 21 + 8 → 2 slabs; /b #1 → base CPU 1
 *   slab (a second base slab), #2–#5 → copy: 1 slab. kmalloc-64 with GFP_KERNEL is accounted in
 *   3.8 too: #1 → base (1 slab), #2–#3 → /a's copy (1 slab). Slabs: dentry base 2 + /a 2 + /b 1 +
 *   kmalloc base 1 + /a 1 = 7 pages = 28672 B; utilization 4992 / 28672 = 0.17410714285714285.
 *   Charged: /a 2 + 1, /b 1 = 4 pages = 16384 B (kmem, then res: both counters).
 *   rm /b: deactivated copy still holds a slab with 4 objects → /b dying (1).
 * v4.5 (opt-in: dentry is SLAB_ACCOUNT, kmalloc-64 with GFP_KERNEL is not accounted): as v3.8 for
 *   dentry (5 slabs); kmalloc-64 → base only, 1 slab. 6 pages = 24576 B; 4992 / 24576 = 0.203125.
 *   Charged /a 2 + /b 1 = 12288 B. /b dying (1).
 * v5.9 (shared caches, per-object bytes through the per-CPU obj stock, docs/DOMAIN.md §7.2, obj_full_size
 *   = 192 + 8 = 200 B): dentry base: CPU 0 slab gets /a's 21, a new one its other 9; CPU 1 a new
 *   slab for /b's 5 → 3 slabs; kmalloc-64 (not accounted) 1 slab → 4 pages = 16384 B,
 *   utilization 0.3046875.
 *   /a on CPU 0: #1 charges 1 page, stock 3896; #2–#20 use 3800 → 96; #21 charges a page, stock
 *   3992; #22–#30 use 1800 → 2192. /a: 2 pages. /b on CPU 1: 1 page, stock 3096.
 *   rm /b: its stock is drained (3096 B, sub-page, parked on the objcg), its 1 charged page leaves
 *   /b and, reparented to the root, is charged to no one; nothing pins /b → released, 0 dying.
 *   /a frees 10 on CPU 0: stock 2192 + 10 × 200 = 4192 > 4096 → 1 page uncharged, stock 96.
 *   Charged: /a 1 page = 4096 B.
 */
const EXPECTED = [
  {
    model: "rfc-2012",
    slabBytes: 16384,
    slabPageCount: 4,
    slabUtilization: 0.3046875,
    kmemChargedBytes: 12288,
    memoryChargedBytes: 12288,
    dyingCgroupCount: 1,
    chargeFailureCount: 0,
    oomKillCount: 0,
  },
  {
    model: "v3.8",
    slabBytes: 28672,
    slabPageCount: 7,
    slabUtilization: 4992 / 28672,
    kmemChargedBytes: 16384,
    // /a: one 32-page batch (CHARGE_BATCH); the removed /b: its one slab page, its stock drained at rmdir
    memoryChargedBytes: 135168,
    dyingCgroupCount: 1,
    chargeFailureCount: 0,
    oomKillCount: 0,
  },
  {
    model: "v4.5",
    slabBytes: 24576,
    slabPageCount: 6,
    slabUtilization: 0.203125,
    kmemChargedBytes: 12288,
    // /a: one 32-page batch (MEMCG_CHARGE_BATCH); the removed /b: its one slab page
    memoryChargedBytes: 135168,
    dyingCgroupCount: 1,
    chargeFailureCount: 0,
    oomKillCount: 0,
  },
  {
    model: "v5.9",
    slabBytes: 16384,
    slabPageCount: 4,
    slabUtilization: 0.3046875,
    kmemChargedBytes: 4096,
    // /a: one 32-page batch, the page its frees gave back refilling the stock (5.9 __memcg_kmem_uncharge)
    memoryChargedBytes: 131072,
    dyingCgroupCount: 0,
    chargeFailureCount: 0,
    oomKillCount: 0,
  },
];

describe("compareScenario", () => {
  it("gives the hand-derived numbers of the small scenario for every model", async () => {
    const scenario = await loadScenarioFile(SMALL);
    const r = await compareScenario(scenario, ["rfc-2012", "v3.8", "v4.5", "v5.9"]);
    expect(r.models).toEqual(EXPECTED);
    expect(
      r.runs.map((x) => [x.commandCount, x.commandErrorCount, x.liveObjectCount, x.liveObjectBytes]),
    ).toEqual(Array(4).fill([16, 0, 28, 4992]));
  });

  it("answers exactly the fields of docs/API.md §11 in each model row, in the order the models were asked", async () => {
    const scenario = await loadScenarioFile(SMALL);
    const r = await compareScenario(scenario, ["v5.9", "v3.8"]);
    expect(r.models.map((m) => m.model)).toEqual(["v5.9", "v3.8"]);
    for (const m of r.models)
      expect(Object.keys(m)).toEqual([
        "model",
        "slabBytes",
        "slabPageCount",
        "slabUtilization",
        "kmemChargedBytes",
        "memoryChargedBytes",
        "dyingCgroupCount",
        "chargeFailureCount",
        "oomKillCount",
      ]);
  });

  it("agrees with running the same commands directly on an Simulation, as run does", async () => {
    const scenario = await loadScenarioFile("test/scenarios/fixtures/tiny-churn.yaml");
    const r = await compareScenario(scenario, ["rfc-2012", "v3.8", "v4.5", "v5.9"]);
    for (const model of ["rfc-2012", "v3.8", "v4.5", "v5.9"] as const) {
      const sim = new Simulation(deriveModelConfig(scenario.config, model).config);
      const commands = expandScenarioToArray(scenario, sim.config);
      const out = runCommands(sim, commands);
      expect(out.errorCount).toBe(0);
      expect(r.models.find((m) => m.model === model)).toEqual(measure(model, sim));
      expect(r.runs.find((x) => x.model === model)?.commandCount).toBe(commands.length);
    }
  });

  it("records a time series per model that starts at 0 and ends at the end state", async () => {
    const scenario = await loadScenarioFile("test/scenarios/fixtures/tiny-churn.yaml");
    const r = await compareScenario(scenario, ["v4.5", "v5.9"], { maxSamples: 10 });
    for (const s of r.series) {
      const row = r.models.find((m) => m.model === s.model)!;
      const n = s.clockMs.length;
      expect(s.clockMs[0]).toBe(0);
      expect(n).toBeLessThanOrEqual(12);
      for (const col of [
        s.commandIndex,
        s.slabPageCount,
        s.slabUtilization,
        s.dyingCgroupCount,
        s.chargeFailureCount,
        s.oomKillCount,
      ])
        expect(col).toHaveLength(n);
      expect(s.slabPageCount[n - 1]).toBe(row.slabPageCount);
      expect(s.dyingCgroupCount[n - 1]).toBe(row.dyingCgroupCount);
      const kmemAtEnd = Object.values(s.kmemChargedBytesByCgroup).reduce((a, v) => a + v[n - 1], 0);
      expect(kmemAtEnd).toBe(row.kmemChargedBytes);
      expect(Object.keys(s.kmemChargedBytesByCgroup).sort()).toEqual(["/containers", "/shared"]);
    }
  });

  it("reports progress per model up to the command count", async () => {
    const scenario = await loadScenarioFile(SMALL);
    const seen: string[] = [];
    await compareScenario(scenario, ["v3.8", "v5.9"], {
      onProgress: (p) =>
        seen.push(`${p.model}:${p.modelIndex}/${p.modelCount}:${p.commandsDone}/${p.commandCount}`),
    });
    expect(seen).toEqual(["v3.8:0/2:0/16", "v3.8:0/2:16/16", "v5.9:1/2:0/16", "v5.9:1/2:16/16"]);
  });

  it("refuses unknown or repeated models before running anything", async () => {
    const scenario = await loadScenarioFile(SMALL);
    await expect(compareScenario(scenario, ["v4.5", "v9.9"])).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(compareScenario(scenario, ["v4.5", "v4.5"])).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(compareScenario(scenario, [])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("runs a v2 scenario on every model through the derived per-model config", async () => {
    const scenario = await loadScenarioFile("test/scenarios/fixtures/tiny-churn.yaml");
    scenario.config = { ...scenario.config, cgroupVersion: 2, kmemIndependentAccounting: true };
    const r = await compareScenario(scenario, ["rfc-2012", "v3.8", "v4.5", "v5.9"]);
    expect(
      r.runs.map((x) => [
        x.model,
        x.config.cgroupVersion,
        x.config.kmemIndependentAccounting,
        x.commandErrorCount,
      ]),
    ).toEqual([
      ["rfc-2012", 1, true, 0],
      ["v3.8", 1, false, 0],
      ["v4.5", 2, false, 0],
      ["v5.9", 2, false, 0],
    ]);
    expect(r.runs[1].configAdjustments).toEqual([
      "cgroupVersion 2 → 1: v3.8 predates the cgroup v2 memory controller",
      "kmemIndependentAccounting dropped: a knob of the rfc-2012 patch only",
    ]);
  });
});

describe("deriveModelConfig", () => {
  it("overrides the model and keeps every era-neutral key", () => {
    expect(deriveModelConfig({ model: "v5.9", cpuCount: 8, seed: 3, chargeBatchPages: 32 }, "v4.5")).toEqual({
      config: { model: "v4.5", cpuCount: 8, seed: 3, chargeBatchPages: 32 },
      adjustments: ["model v5.9 → v4.5"],
    });
  });

  it("keeps cgroup v1 for v5.9 when the scenario asks for it, and leaves an unset version to each model's default", () => {
    expect(deriveModelConfig({ cgroupVersion: 1 }, "v5.9").config.cgroupVersion).toBe(1);
    expect(deriveModelConfig({}, "v5.9").config.cgroupVersion).toBeUndefined();
    expect(new Simulation(deriveModelConfig({}, "v5.9").config).config.cgroupVersion).toBe(2);
  });

  it("drops the seed-only knobs for the other models and keeps them for rfc-2012", () => {
    const cfg = { kmemIndependentAccounting: true, reclaimOnKmemFailure: false };
    expect(deriveModelConfig(cfg, "rfc-2012").config).toEqual({ model: "rfc-2012", ...cfg });
    const v38 = deriveModelConfig(cfg, "v3.8");
    expect(v38.config).toEqual({ model: "v3.8" });
    expect(v38.adjustments).toEqual(["kmemIndependentAccounting dropped: a knob of the rfc-2012 patch only"]);
  });
});

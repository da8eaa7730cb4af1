import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/engine/config.js";
import { EngineError } from "../../src/engine/errors.js";

// docs/API.md §3: every key optional, per-model defaults, unknown keys rejected.
describe("resolveConfig", () => {
  it("defaults to today's kernel, v6.18: cgroup v2, the 64-page charge batch, 16 reclaim retries", () => {
    expect(resolveConfig(undefined)).toEqual({
      model: "v6.18",
      cgroupVersion: 2,
      memoryBytes: 8589934592,
      cpuCount: 4,
      pageSizeBytes: 4096,
      kmemIndependentAccounting: false,
      reclaimOnKmemFailure: false,
      chargeBatchPages: 64,
      maxReclaimRetries: 16,
      slubMaxOrder: 3,
      slubMinObjects: 0,
      minPartial: null,
      cacheCreationDelayMs: 0,
      seed: 1,
    });
  });

  it("resolves the docs/API.md §3 defaults for the seed model", () => {
    expect(resolveConfig({ model: "rfc-2012" })).toEqual({
      model: "rfc-2012",
      cgroupVersion: 1,
      memoryBytes: 8589934592,
      cpuCount: 4,
      pageSizeBytes: 4096,
      kmemIndependentAccounting: false,
      reclaimOnKmemFailure: false,
      chargeBatchPages: 32,
      maxReclaimRetries: 5,
      slubMaxOrder: 3,
      slubMinObjects: 0,
      minPartial: null,
      cacheCreationDelayMs: 0,
      seed: 1,
    });
  });

  it.each([
    ["rfc-2012", 1, 5],
    ["v3.8", 1, 5],
    // MEM_CGROUP_RECLAIM_RETRIES 5 until 5.8; MAX_RECLAIM_RETRIES 16 from 5.9
    ["v4.5", 1, 5],
    ["v5.9", 2, 16],
    ["v6.18", 2, 16],
  ] as const)("gives model %s cgroup v%i and %i reclaim retries", (model, version, retries) => {
    const c = resolveConfig({ model });
    expect(c.cgroupVersion).toBe(version);
    expect(c.maxReclaimRetries).toBe(retries);
  });

  it("is frozen", () => {
    expect(Object.isFrozen(resolveConfig({}))).toBe(true);
  });

  it("rejects unknown keys with the offending path", () => {
    try {
      resolveConfig({ modle: "v5.9" } as never);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      expect((e as EngineError).code).toBe("INVALID_ARGUMENT");
      expect((e as EngineError).details).toEqual({
        issues: [{ path: "config.modle", message: "unknown key" }],
      });
    }
  });

  it.each([
    [{ model: "v6.1" }],
    [{ cpuCount: 0 }],
    [{ cpuCount: 257 }],
    [{ memoryBytes: 16 * 1024 * 1024 - 4096 }],
    [{ memoryBytes: 16 * 1024 * 1024 + 1 }],
    [{ pageSizeBytes: 65536 }],
    [{ chargeBatchPages: 65 }],
    [{ maxReclaimRetries: 0 }],
    [{ model: "v3.8", cgroupVersion: 2 }],
    [{ model: "rfc-2012", cgroupVersion: 2 }],
    [{ model: "v4.5", kmemIndependentAccounting: true }],
    [{ model: "v5.9", reclaimOnKmemFailure: true }],
    [{ seed: 1.5 }],
  ])("rejects %j", (input) => {
    expect(() => resolveConfig(input as never)).toThrowError(EngineError);
  });

  it("accepts v4.5 on cgroup v2 and the seed knobs on rfc-2012", () => {
    expect(resolveConfig({ model: "v4.5", cgroupVersion: 2 }).cgroupVersion).toBe(2);
    const c = resolveConfig({
      model: "rfc-2012",
      kmemIndependentAccounting: true,
      reclaimOnKmemFailure: true,
    });
    expect([c.kmemIndependentAccounting, c.reclaimOnKmemFailure]).toEqual([true, true]);
  });
});

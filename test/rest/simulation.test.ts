import { describe, expect, it } from "vitest";
import { build, expectProblem, json, withDentry } from "./helpers.js";

describe("simulation verbs (docs/API.md §5)", () => {
  it("allocates 21 dentries into one 4 KiB slab charged to /a's kmem counter", async () => {
    const { call } = await build();
    await withDentry(call);
    await call("PATCH", "/v1/instances/t/cgroups/a", { memoryMaxBytes: 1048576, kmemMaxBytes: 524288 });
    const r = await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 100, count: 21 });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toEqual({
      allocatedCount: 21,
      failedCount: 0,
      error: null,
      failedAt: null,
      chargedBytes: 4096,
      reclaimedBytes: 0,
      oomKilledPids: [],
      throttleMs: 0,
      objectIds: Array.from({ length: 21 }, (_, i) => i),
    });
    expect((await call("GET", "/v1/instances/t/fs/a/memory.kmem.usage_in_bytes")).body).toBe("4096\n");
    expect((await call("GET", "/v1/instances/t/fs/a/memory.kmem.max_usage_in_bytes")).body).toBe("4096\n");
    // kmemIndependentAccounting: the slab page is on the kmem counter, not the memory counter
    expect((await call("GET", "/v1/instances/t/fs/a/memory.usage_in_bytes")).body).toBe("0\n");
    const a = json(await call("GET", "/v1/instances/t/cgroups/a"));
    expect(a.kmem).toEqual({ usageBytes: 4096, maxBytes: 524288, peakBytes: 4096, failCount: 0 });
    expect(a.caches).toEqual([
      {
        name: "dentry",
        displayName: "dentry-1",
        activeObjectCount: 21,
        objectCount: 21,
        slabCount: 1,
        state: "active",
      },
    ]);
    // the 22nd object needs a second slab page
    expect(
      json(await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 100 })).chargedBytes,
    ).toBe(4096);
    expect((await call("GET", "/v1/instances/t/fs/a/memory.kmem.usage_in_bytes")).body).toBe("8192\n");
  });

  it("stops at the memory limit with ENOMEM as data, failedAt the limited cgroup, failcnt 1", async () => {
    const { call } = await build();
    await withDentry(call, { model: "rfc-2012" });
    await call("PATCH", "/v1/instances/t/cgroups/a", { memoryMaxBytes: 65536 });
    const r = json(
      await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 100, count: 400 }),
    );
    // 16 pages of 21 objects fit under 64 KiB
    expect(r).toMatchObject({
      allocatedCount: 336,
      failedCount: 64,
      error: "ENOMEM",
      failedAt: "/a",
      chargedBytes: 65536,
    });
    expect((await call("GET", "/v1/instances/t/fs/a/memory.usage_in_bytes")).body).toBe("65536\n");
    expect((await call("GET", "/v1/instances/t/fs/a/memory.failcnt")).body).toBe("1\n");
    const events = json(await call("GET", "/v1/instances/t/events?sinceSeq=3")).events;
    expect(events).toEqual([
      {
        seq: 3,
        clockMs: 0,
        type: "charge_failed",
        cgroup: "/a",
        cache: "dentry",
        failedAt: "/a",
        reason: "kmem",
      },
    ]);
  });

  it("frees by ids and by selection, allocates and frees pages, reclaims and advances the clock", async () => {
    const { call } = await build();
    await withDentry(call, { model: "v5.9" });
    await call("POST", "/v1/instances/t/objects/alloc", {
      cache: "dentry",
      pid: 100,
      count: 42,
      gfp: "GFP_KERNEL_ACCOUNT",
    });
    const byIds = json(await call("POST", "/v1/instances/t/objects/free", { objectIds: [0, 1, 2] }));
    expect(byIds).toMatchObject({ freedCount: 3, missingCount: 0 });
    const again = json(await call("POST", "/v1/instances/t/objects/free", { objectIds: [0] }));
    expect(again).toMatchObject({ freedCount: 0, missingCount: 1 });
    const sel = json(
      await call("POST", "/v1/instances/t/objects/free", {
        cache: "dentry",
        pid: 100,
        count: 39,
        order: "oldest",
      }),
    );
    expect(sel).toMatchObject({ freedCount: 39, missingCount: 0 });
    const pages = json(
      await call("POST", "/v1/instances/t/pages/alloc", { pid: 100, kind: "anon", bytes: 5000 }),
    );
    expect(pages).toMatchObject({ allocatedBytes: 8192, failedBytes: 0, error: null, chargedBytes: 8192 });
    expect(
      json(await call("POST", "/v1/instances/t/pages/free", { pid: 100, kind: "anon", bytes: 4096 })),
    ).toMatchObject({ freedBytes: 4096, unchargedBytes: 4096 });
    await call("POST", "/v1/instances/t/pages/alloc", { pid: 100, kind: "file", bytes: 12288 });
    const rec = json(await call("POST", "/v1/instances/t/reclaim", { cgroup: "/a", bytes: 8192 }));
    expect(rec).toMatchObject({
      reclaimedBytes: 12288,
      fileReclaimedBytes: 12288,
      slabReclaimedBytes: 0,
      error: null,
    });
    expect(json(await call("POST", "/v1/instances/t/clock/advance", { ms: 250 }))).toEqual({ clockMs: 250 });
    expect(json(await call("GET", "/v1/instances/t")).clockMs).toBe(250);
  });

  it("refuses malformed verbs with 400 and unknown targets with 404", async () => {
    const { call } = await build();
    await withDentry(call);
    expectProblem(
      await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 100, count: 0 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 100, count: 1.5 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/objects/alloc", { cache: "nope", pid: 100 }),
      404,
      "CACHE_NOT_FOUND",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 999 }),
      404,
      "TASK_NOT_FOUND",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/pages/alloc", { pid: 100, kind: "slab", bytes: 1 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/pages/alloc", { pid: 100, kind: "anon", bytes: 2 ** 40 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(await call("POST", "/v1/instances/t/clock/advance", { ms: -1 }), 400, "INVALID_ARGUMENT");
    expectProblem(
      await call("POST", "/v1/instances/t/reclaim", { cgroup: "/zz", bytes: 4096 }),
      404,
      "CGROUP_NOT_FOUND",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 100, count: 1e12 }),
      429,
      "LIMIT_EXCEEDED",
    );
  });
});

describe("batch (docs/API.md §6)", () => {
  it("reports each command in its slot and stops at the first error by default", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t" });
    const cmds = [
      { op: "createCgroup", path: "/b" },
      { op: "createCgroup", path: "/b" },
      { op: "createCgroup", path: "/c" },
    ];
    const r = json(await call("POST", "/v1/instances/t/batch", { commands: cmds }));
    expect(r.executedCount).toBe(1);
    expect(r.results).toHaveLength(2);
    expect(r.results[0]).toMatchObject({ ok: true, result: { path: "/b" } });
    expect(r.results[1]).toEqual({
      ok: false,
      error: { code: "CGROUP_EXISTS", detail: "cgroup /b already exists" },
    });
  });

  it("goes on with stopOnError false and names the malformed command's field", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t" });
    const cmds = [
      { op: "createCgroup", path: "/b" },
      { op: "createCgroup", pth: "/x" },
      { op: "advanceClock", ms: 5 },
    ];
    const r = json(await call("POST", "/v1/instances/t/batch", { commands: cmds, stopOnError: false }));
    expect(r.executedCount).toBe(2);
    expect(r.results[1].ok).toBe(false);
    expect(r.results[1].error.code).toBe("INVALID_ARGUMENT");
    expect(r.results[1].error.detail).toContain("commands.1.");
    expect(r.results[2]).toEqual({ ok: true, result: { clockMs: 5 } });
  });

  it("refuses a batch over the server's command limit with 429 and a non-array with 400", async () => {
    const { call } = await build({ limits: { maxBatchCommands: 2 } });
    await call("POST", "/v1/instances", { name: "t" });
    const three = Array.from({ length: 3 }, () => ({ op: "advanceClock", ms: 1 }));
    expectProblem(await call("POST", "/v1/instances/t/batch", { commands: three }), 429, "LIMIT_EXCEEDED");
    expectProblem(await call("POST", "/v1/instances/t/batch", { commands: {} }), 400, "INVALID_ARGUMENT");
    expectProblem(
      await call("POST", "/v1/instances/t/batch", { commands: [], extra: 1 }),
      400,
      "INVALID_ARGUMENT",
    );
  });
});

describe("kmem limit (rfc-2012, kmemIndependentAccounting)", () => {
  // Was an engine assertion (500) until a01a927: the failing kmem counter's cgroup is now named.
  it("answers ENOMEM as data when memory.kmem.limit_in_bytes is hit", async () => {
    const { call } = await build();
    await withDentry(call);
    await call("PATCH", "/v1/instances/t/cgroups/a", { kmemMaxBytes: 65536 });
    const r = await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 100, count: 400 });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({
      allocatedCount: 336,
      failedCount: 64,
      error: "ENOMEM",
      failedAt: "/a",
      chargedBytes: 65536,
    });
    expect((await call("GET", "/v1/instances/t/fs/a/memory.kmem.failcnt")).body).toBe("1\n");
    expect((await call("GET", "/v1/instances/t/fs/a/memory.kmem.usage_in_bytes")).body).toBe("65536\n");
  });
});

import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_DETAILS_TRAILER } from "../../src/grpc/errors.js";
import { type Obj, plain, startTestServer, type TestServer } from "./helpers.js";

const MiB = 1024 * 1024;
let t: TestServer;
const I = "t";

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

const cgroupOf = (r: Obj) => plain(r.cgroup) as Obj;

describe("instances", () => {
  it("creates an instance with its config resolved", async () => {
    const r = plain(
      await t.rpc("CreateInstance", { name: I, config: { model: "rfc-2012", memoryBytes: 64 * MiB } }),
    ) as Obj;
    expect(r.instance).toEqual({
      name: I,
      config: {
        model: "rfc-2012",
        cgroupVersion: 1,
        memoryBytes: 67108864,
        cpuCount: 4,
        pageSizeBytes: 4096,
        kmemIndependentAccounting: false,
        reclaimOnKmemFailure: false,
        chargeBatchPages: 32,
        maxReclaimRetries: 5,
        slubMaxOrder: 3,
        slubMinObjects: 0,
        cacheCreationDelayMs: 0,
        seed: 1,
      },
      clockMs: 0,
      cgroupCount: 1,
      taskCount: 0,
      cacheCount: 0,
      liveObjectCount: 0,
      commandCount: 0,
    });
  });

  it("answers ALREADY_EXISTS with INSTANCE_EXISTS in the trailer for a taken name", async () => {
    const e = await t.rpcError("CreateInstance", { name: I });
    expect(e).toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
      errorCode: "INSTANCE_EXISTS",
      details: "instance t already exists",
    });
  });

  it("refuses an invalid config with INVALID_ARGUMENT and the issues in the details trailer", async () => {
    const e = await t.rpcError("CreateInstance", { name: "bad", config: { model: "v9" } });
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.errorCode).toBe("INVALID_ARGUMENT");
    const details = JSON.parse((e.trailers.get(ERROR_DETAILS_TRAILER)[0] as Buffer).toString("utf8"));
    expect(details.issues.map((i: { path: string }) => i.path)).toEqual(["config.model"]);
    const name = await t.rpcError("CreateInstance", { name: "Bad Name" });
    expect(name).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, errorCode: "INVALID_ARGUMENT" });
  });

  it("lists, gets, resets and deletes instances", async () => {
    await t.rpc("CreateInstance", { name: "tmp", config: { model: "v5.9" } });
    const list = plain(await t.rpc("ListInstances")) as { instances: Obj[] };
    expect(list.instances.map((i) => i.name)).toEqual(["t", "tmp"]);
    await t.rpc("CreateCgroup", { instance: "tmp", path: "/x" });
    expect(((await t.rpc("GetInstance", { name: "tmp" })).instance as Obj).commandCount).toBe(1);
    const reset = (await t.rpc("ResetInstance", { name: "tmp" })).instance as Obj;
    expect(reset).toMatchObject({
      commandCount: 0,
      cgroupCount: 1,
      config: { model: "v5.9", cgroupVersion: 2 },
    });
    expect(await t.rpc("DeleteInstance", { name: "tmp" })).toEqual({});
    expect(await t.rpcError("GetInstance", { name: "tmp" })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "INSTANCE_NOT_FOUND",
    });
    expect(await t.rpcError("DeleteInstance", { name: "tmp" })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "INSTANCE_NOT_FOUND",
    });
    expect(await t.rpcError("ResetInstance", { name: "tmp" })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "INSTANCE_NOT_FOUND",
    });
  });
});

// before the cgroups: under rfc-2012 a cgroup gets copies of the caches registered before its
// creation only (mem_cgroup_create; docs/MODELS.md row 31)
describe("caches", () => {
  it("creates a reclaimable cache with the default shrinker, and one without with no_shrinker", async () => {
    const dentry = plain(
      (
        await t.rpc("CreateCache", {
          instance: I,
          name: "dentry",
          objectSizeBytes: 192,
          flags: { reclaimAccount: true },
        })
      ).cache,
    ) as Obj;
    expect(dentry).toMatchObject({
      name: "dentry",
      objectSizeBytes: 192,
      sizeBytes: 192,
      alignBytes: 8,
      order: 0,
      objectsPerSlab: 21,
      pagesPerSlab: 1,
      minPartial: 5,
      flags: { account: false, reclaimAccount: true, hwcacheAlign: false },
      shrinker: { memcgAware: true, seeks: 2 },
      accounted: false,
    });
    const bare = plain(
      (
        await t.rpc("CreateCache", {
          instance: I,
          name: "bare",
          objectSizeBytes: 64,
          flags: { reclaimAccount: true },
          noShrinker: true,
        })
      ).cache,
    ) as Obj;
    expect(bare.shrinker).toBeUndefined();
    const custom = plain(
      (
        await t.rpc("CreateCache", {
          instance: I,
          name: "custom",
          objectSizeBytes: 64,
          shrinker: { seeks: 4 },
        })
      ).cache,
    ) as Obj;
    expect(custom.shrinker).toEqual({ memcgAware: true, seeks: 4 });
    // SLAB_TYPESAFE_BY_RCU: the free pointer after the object (docs/DOMAIN.md §5.1)
    const rcu = plain(
      (
        await t.rpc("CreateCache", {
          instance: I,
          name: "anon_vma",
          objectSizeBytes: 192,
          flags: { typesafeByRcu: true },
        })
      ).cache,
    ) as Obj;
    expect(rcu).toMatchObject({ sizeBytes: 200, objectsPerSlab: 20 });
    expect(rcu.flags).toEqual({
      account: false,
      reclaimAccount: false,
      hwcacheAlign: false,
      typesafeByRcu: true,
    });
    expect(await t.rpc("DeleteCache", { instance: I, name: "anon_vma" })).toEqual({});
  });

  it("registers, lists, gets and deletes caches", async () => {
    expect(((await t.rpc("RegisterCache", { instance: I, name: "dentry" })).cache as Obj).accounted).toBe(
      true,
    );
    const list = (await t.rpc("ListCaches", { instance: I })) as { caches: Obj[] };
    expect(list.caches.map((c) => c.name)).toEqual(["dentry", "bare", "custom"]);
    expect(((await t.rpc("GetCache", { instance: I, name: "bare" })).cache as Obj).objectSizeBytes).toBe(64);
    expect(await t.rpc("DeleteCache", { instance: I, name: "bare" })).toEqual({});
    expect(await t.rpcError("GetCache", { instance: I, name: "bare" })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "CACHE_NOT_FOUND",
    });
    expect(
      await t.rpcError("CreateCache", { instance: I, name: "dentry", objectSizeBytes: 8 }),
    ).toMatchObject({ code: grpc.status.ALREADY_EXISTS, errorCode: "CACHE_EXISTS" });
    expect(await t.rpcError("CreateCache", { instance: I, name: "big", objectSizeBytes: 0 })).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });
});

describe("cgroups", () => {
  it("creates, lists and gets cgroups", async () => {
    const a = cgroupOf(await t.rpc("CreateCgroup", { instance: I, path: "/a" }));
    expect(a).toMatchObject({ path: "/a", state: "online", taskPids: [], children: [], descendantCount: 0 });
    expect(a.memory).toEqual({ usageBytes: 0, lowBytes: 0, minBytes: 0, peakBytes: 0, failCount: 0 });
    await t.rpc("CreateCgroup", { instance: I, path: "/a/b" });
    const list = (await t.rpc("ListCgroups", { instance: I })) as { cgroups: Obj[] };
    expect(list.cgroups.map((c) => c.path)).toEqual(["/", "/a", "/a/b"]);
    expect(cgroupOf(await t.rpc("GetCgroup", { instance: I, path: "/a" })).children).toEqual(["/a/b"]);
  });

  it("maps cgroup errors to NOT_FOUND, ALREADY_EXISTS and INVALID_ARGUMENT", async () => {
    expect(await t.rpcError("GetCgroup", { instance: I, path: "/nope" })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "CGROUP_NOT_FOUND",
      details: "cgroup /nope not found",
    });
    expect(await t.rpcError("CreateCgroup", { instance: I, path: "/a" })).toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
      errorCode: "CGROUP_EXISTS",
    });
    expect(await t.rpcError("CreateCgroup", { instance: I, path: "/x/y" })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "CGROUP_NOT_FOUND",
    });
    expect(await t.rpcError("CreateCgroup", { instance: I, path: "" })).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      errorCode: "INVALID_ARGUMENT",
    });
    expect(await t.rpcError("ListCgroups", { instance: "nope" })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "INSTANCE_NOT_FOUND",
    });
  });

  it("sets a limit with Limit.bytes, lifts it with Limit.unlimited and leaves absent fields unchanged", async () => {
    const set = cgroupOf(
      await t.rpc("UpdateCgroup", {
        instance: I,
        path: "/a/b",
        memoryMaxBytes: { bytes: 8 * MiB },
        kmemMaxBytes: { bytes: 4 * MiB },
      }),
    );
    expect((set.memory as Obj).maxBytes).toBe(8 * MiB);
    expect((set.kmem as Obj).maxBytes).toBe(4 * MiB);
    const lifted = cgroupOf(
      await t.rpc("UpdateCgroup", { instance: I, path: "/a/b", kmemMaxBytes: { unlimited: true } }),
    );
    expect((lifted.memory as Obj).maxBytes).toBe(8 * MiB);
    expect((lifted.kmem as Obj).maxBytes).toBeUndefined();
    const e = await t.rpcError("UpdateCgroup", { instance: I, path: "/a/b", memoryHighBytes: {} });
    expect(e).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      errorCode: "INVALID_ARGUMENT",
      details: "invalid memoryHighBytes: give bytes or unlimited: true",
    });
  });

  it("refuses a 64-bit value that a double cannot hold exactly instead of rounding it", async () => {
    const e = await t.rpcError("UpdateCgroup", {
      instance: I,
      path: "/a/b",
      memoryMaxBytes: { bytes: "9007199254740993" },
    });
    expect(e).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, errorCode: "INVALID_ARGUMENT" });
    const max = cgroupOf(
      await t.rpc("UpdateCgroup", {
        instance: I,
        path: "/a/b",
        memoryMaxBytes: { bytes: "9007199254736896" },
      }),
    );
    expect((max.memory as Obj).maxBytes).toBe(9007199254736896);
    await t.rpc("UpdateCgroup", { instance: I, path: "/a/b", memoryMaxBytes: { bytes: 8 * MiB } });
  });

  it("answers FAILED_PRECONDITION with CGROUP_BUSY for a cgroup with children, and deletes a leaf", async () => {
    expect(await t.rpcError("DeleteCgroup", { instance: I, path: "/a" })).toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      errorCode: "CGROUP_BUSY",
    });
    await t.rpc("CreateCgroup", { instance: I, path: "/gone" });
    expect(await t.rpc("DeleteCgroup", { instance: I, path: "/gone" })).toEqual({});
    expect(await t.rpcError("GetCgroup", { instance: I, path: "/gone" })).toMatchObject({
      errorCode: "CGROUP_NOT_FOUND",
    });
  });
});

describe("tasks", () => {
  it("spawns, lists, gets and moves tasks", async () => {
    expect((await t.rpc("SpawnTask", { instance: I, cgroup: "/a/b", pid: 500 })).task).toEqual({
      pid: 500,
      cgroup: "/a/b",
      cpu: 0,
      oomScoreAdj: 0,
      anonBytes: 0,
      state: "running",
    });
    expect(((await t.rpc("SpawnTask", { instance: I, cgroup: "/a" })).task as Obj).pid).toBe(100);
    expect(((await t.rpc("ListTasks", { instance: I })).tasks as Obj[]).map((x) => x.pid)).toEqual([
      100, 500,
    ]);
    expect(((await t.rpc("GetTask", { instance: I, pid: 500 })).task as Obj).cgroup).toBe("/a/b");
    expect(((await t.rpc("MoveTask", { instance: I, pid: 100, cgroup: "/" })).task as Obj).cgroup).toBe("/");
    expect(await t.rpcError("SpawnTask", { instance: I, cgroup: "/a", pid: 500 })).toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
      errorCode: "TASK_EXISTS",
    });
  });

  it("exits a task and answers TASK_NOT_FOUND after", async () => {
    expect(await t.rpc("ExitTask", { instance: I, pid: 100 })).toEqual({});
    expect(await t.rpcError("GetTask", { instance: I, pid: 100 })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "TASK_NOT_FOUND",
    });
    expect(await t.rpcError("ExitTask", { instance: I, pid: 100 })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "TASK_NOT_FOUND",
    });
  });
});

describe("simulation verbs", () => {
  it("allocates objects and frees them by id and by selection", async () => {
    const alloc = plain(await t.rpc("AllocObjects", { instance: I, cache: "dentry", pid: 500, count: 3 }));
    expect(alloc).toEqual({
      allocatedCount: 3,
      failedCount: 0,
      chargedBytes: 4096,
      reclaimedBytes: 0,
      oomKilledPids: [],
      throttleMs: 0,
      objectIds: [0, 1, 2],
    });
    expect(await t.rpc("FreeObjects", { instance: I, objectIds: [0] })).toEqual({
      freedCount: 1,
      missingCount: 0,
      unchargedBytes: 0,
      freedSlabCount: 0,
    });
    expect(
      await t.rpc("FreeObjects", { instance: I, cache: "dentry", pid: 500, count: 1, order: "oldest" }),
    ).toEqual({
      freedCount: 1,
      missingCount: 0,
      unchargedBytes: 0,
      freedSlabCount: 0,
    });
    expect(await t.rpcError("AllocObjects", { instance: I, cache: "dentry", count: 1 })).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    expect(await t.rpcError("AllocObjects", { instance: I, cache: "nope", pid: 500 })).toMatchObject({
      errorCode: "CACHE_NOT_FOUND",
    });
    expect(
      await t.rpcError("FreeObjects", {
        instance: I,
        cache: "dentry",
        pid: 500,
        count: 1,
        order: "sideways",
      }),
    ).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it("reports ENOMEM as data, with the failing cgroup (no reclaim, no OOM under GFP_NOWAIT)", async () => {
    const r = plain(
      await t.rpc("AllocPages", { instance: I, pid: 500, kind: "anon", bytes: 9 * MiB, gfp: "GFP_NOWAIT" }),
    ) as Obj;
    expect(r).toMatchObject({ allocatedBytes: 8 * MiB - 4096 * 1, error: "ENOMEM", failedAt: "/a/b" });
    expect(r.failedBytes).toBe(9 * MiB - (r.allocatedBytes as number));
  });

  it("allocates and frees pages, reclaims and advances the clock", async () => {
    expect(await t.rpc("FreePages", { instance: I, pid: 500, kind: "anon", bytes: 8 * MiB - 4096 })).toEqual({
      freedBytes: 8 * MiB - 4096,
      missingCount: 0,
      unchargedBytes: 8 * MiB - 4096,
      freedSlabCount: 0,
    });
    expect(plain(await t.rpc("AllocPages", { instance: I, pid: 500, kind: "file", bytes: 8192 }))).toEqual({
      allocatedBytes: 8192,
      failedBytes: 0,
      chargedBytes: 8192,
      reclaimedBytes: 0,
      oomKilledPids: [],
      throttleMs: 0,
    });
    const rec = plain(await t.rpc("Reclaim", { instance: I, cgroup: "/a", bytes: 4096 })) as Obj;
    expect(rec).toMatchObject({ fileReclaimedBytes: rec.reclaimedBytes });
    expect(rec.reclaimedBytes).toBeGreaterThanOrEqual(4096);
    expect(await t.rpc("AdvanceClock", { instance: I, ms: 0 })).toEqual({ clockMs: 0 });
    expect(await t.rpc("AdvanceClock", { instance: I, ms: 250 })).toEqual({ clockMs: 250 });
    expect(await t.rpcError("AdvanceClock", { instance: I, ms: -1 })).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });
});

describe("cgroupfs and /proc", () => {
  it("writes and reads files byte for byte", async () => {
    expect(
      await t.rpc("WriteFile", {
        instance: I,
        cgroup: "/a/b",
        file: "memory.limit_in_bytes",
        value: "16M\n",
      }),
    ).toEqual({});
    expect(await t.rpc("ReadFile", { instance: I, cgroup: "/a/b", file: "memory.limit_in_bytes" })).toEqual({
      value: "16777216\n",
    });
    expect(
      (await t.rpc("ReadFile", { instance: I, cgroup: "/", file: "memory.usage_in_bytes" })).value,
    ).toMatch(/^\d+\n$/);
  });

  it("maps errnos: ENOENT to NOT_FOUND, EINVAL to INVALID_ARGUMENT", async () => {
    expect(
      await t.rpcError("ReadFile", { instance: I, cgroup: "/a/b", file: "memory.current" }),
    ).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "ENOENT",
      details: "memory.current: no such file in cgroup v1",
    });
    expect(
      await t.rpcError("WriteFile", {
        instance: I,
        cgroup: "/a/b",
        file: "memory.limit_in_bytes",
        value: "abc",
      }),
    ).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      errorCode: "EINVAL",
    });
  });

  it("reads /proc/slabinfo and /proc/meminfo", async () => {
    const slab = (await t.rpc("ReadProcSlabinfo", { instance: I })).value as string;
    expect(slab.startsWith("slabinfo - version: 2.1\n")).toBe(true);
    expect(slab).toMatch(/^dentry /m);
    const mem = (await t.rpc("ReadProcMeminfo", { instance: I })).value as string;
    expect(mem.split("\n")[0]).toBe("MemTotal:          65536 kB");
  });
});

describe("events", () => {
  it("pages events with next_seq, named fields set and other fields in extra", async () => {
    const page = plain(await t.rpc("ListEvents", { instance: I, sinceSeq: 0, limit: 2 })) as {
      events: Obj[];
      nextSeq: number;
    };
    expect(page.events).toEqual([
      { seq: 1, clockMs: 0, type: "cgroup_created", cgroup: "/a" },
      // the seed makes /a's copy of the registered dentry cache as it creates /a
      { seq: 2, clockMs: 0, type: "cache_created", cgroup: "/a", cache: "dentry", displayName: "dentry-1" },
    ]);
    expect(page.nextSeq).toBe(3);
    const all = plain(await t.rpc("ListEvents", { instance: I, sinceSeq: 3 })) as {
      events: Obj[];
      nextSeq: number;
    };
    expect(all.events[0].seq).toBe(3);
    expect(all.nextSeq).toBe((all.events.at(-1)!.seq as number) + 1);
    const failed = all.events.find((e) => e.type === "charge_failed")!;
    expect(failed).toMatchObject({ cgroup: "/a/b", pid: 500, failedAt: "/a/b", reason: "memory" });
    expect(await t.rpcError("ListEvents", { instance: I, limit: 0 })).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  it("carries event fields the Event message does not name in extra", async () => {
    const r = t.registry.get(I).instance;
    r.events.emit(r.clockMs, "high", { cgroup: "/a", futureField: 7, nested: { ok: true } });
    const page = (await t.rpc("ListEvents", { instance: I, sinceSeq: r.events.nextSeq - 1 })) as {
      events: Obj[];
    };
    expect(page.events[0].extra).toEqual({
      fields: {
        futureField: { numberValue: 7, kind: "numberValue" },
        nested: {
          structValue: { fields: { ok: { boolValue: true, kind: "boolValue" } } },
          kind: "structValue",
        },
      },
    });
  });
});

describe("batch", () => {
  it("runs typed and JSON commands in order, each result in its op's field", async () => {
    const r = plain(
      await t.rpc("ExecuteBatch", {
        instance: I,
        commands: [
          { createCgroup: { path: "/batch" } },
          { json: JSON.stringify({ op: "spawnTask", cgroup: "/batch", pid: 900 }) },
          { allocObjects: { instance: I, cache: "dentry", pid: 900, count: 2 } },
          { advanceClock: { ms: 0 } },
        ],
      }),
    ) as { results: Obj[]; executedCount: number };
    expect(r.executedCount).toBe(4);
    expect(r.results.map((x) => x.result)).toEqual([
      "createCgroup",
      "spawnTask",
      "allocObjects",
      "advanceClock",
    ]);
    expect((r.results[0].createCgroup as Obj).cgroup).toMatchObject({ path: "/batch" });
    expect((r.results[1].spawnTask as Obj).task).toMatchObject({ pid: 900, cgroup: "/batch" });
    expect(r.results[2].allocObjects).toMatchObject({ allocatedCount: 2, failedCount: 0 });
    expect((r.results[2].allocObjects as Obj).objectIds).toHaveLength(2);
    expect(r.results.every((x) => x.ok === true)).toBe(true);
  });

  it("reports a refused or malformed command in its slot and stops unless stop_on_error is false", async () => {
    const stop = (await t.rpc("ExecuteBatch", {
      instance: I,
      commands: [{ exitTask: { pid: 12345 } }, { createCgroup: { path: "/never" } }],
    })) as {
      results: Obj[];
      executedCount: number;
    };
    expect(stop.executedCount).toBe(0);
    expect(stop.results).toHaveLength(1);
    expect(stop.results[0]).toMatchObject({
      ok: false,
      error: { code: "TASK_NOT_FOUND", detail: "task 12345 not found" },
    });

    const go = (await t.rpc("ExecuteBatch", {
      instance: I,
      stopOnError: false,
      commands: [
        { json: "{not json" },
        {},
        { createCgroup: { instance: "other", path: "/x" } },
        { removeCgroup: { path: "/batch" } },
        { exitTask: { pid: 900 } },
      ],
    })) as { results: Obj[]; executedCount: number };
    expect(go.results.map((x) => (x.ok ? "ok" : (x.error as Obj).code))).toEqual([
      "INVALID_ARGUMENT",
      "INVALID_ARGUMENT",
      "INVALID_ARGUMENT",
      "CGROUP_BUSY",
      "ok",
    ]);
    expect(go.executedCount).toBe(1);
    expect(await t.rpcError("ExecuteBatch", { instance: "nope", commands: [] })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      errorCode: "INSTANCE_NOT_FOUND",
    });
  });
});

describe("server limits and bugs", () => {
  it("answers RESOURCE_EXHAUSTED with LIMIT_EXCEEDED when a server limit is reached", async () => {
    const small = await startTestServer({ maxInstances: 1, maxBatchCommands: 1 });
    try {
      await small.rpc("CreateInstance", { name: "one" });
      expect(await small.rpcError("CreateInstance", { name: "two" })).toMatchObject({
        code: grpc.status.RESOURCE_EXHAUSTED,
        errorCode: "LIMIT_EXCEEDED",
      });
      const two = [{ advanceClock: { ms: 1 } }, { advanceClock: { ms: 1 } }];
      expect(await small.rpcError("ExecuteBatch", { instance: "one", commands: two })).toMatchObject({
        code: grpc.status.RESOURCE_EXHAUSTED,
        errorCode: "LIMIT_EXCEEDED",
      });
    } finally {
      await small.close();
    }
  });

  it("answers INTERNAL without the bug's message or stack", async () => {
    const original = t.registry.list;
    t.registry.list = () => {
      throw new Error("secret invariant text");
    };
    try {
      const e = await t.rpcError("ListInstances");
      expect(e).toMatchObject({
        code: grpc.status.INTERNAL,
        errorCode: "INTERNAL",
        details: "internal error",
      });
      expect(JSON.stringify(e.trailers.getMap())).not.toContain("secret");
    } finally {
      t.registry.list = original;
    }
  });
});

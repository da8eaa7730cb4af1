import { describe, expect, it } from "vitest";
import { build, expectProblem, json } from "./helpers.js";

describe("cgroups (docs/API.md §4)", () => {
  it("creates, lists in pre-order root first, gets by wildcard path and the root at /cgroups/", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "rfc-2012" } });
    expect((await call("POST", "/v1/instances/t/cgroups", { path: "/a" })).statusCode).toBe(201);
    const ab = await call("POST", "/v1/instances/t/cgroups", { path: "/a/b" });
    expect(json(ab)).toMatchObject({ path: "/a/b", state: "online", children: [], descendantCount: 0 });
    await call("POST", "/v1/instances/t/cgroups", { path: "/c" });
    expect(
      json(await call("GET", "/v1/instances/t/cgroups")).cgroups.map((c: { path: string }) => c.path),
    ).toEqual(["/", "/a", "/a/b", "/c"]);
    expect(json(await call("GET", "/v1/instances/t/cgroups/a/b")).path).toBe("/a/b");
    const root = json(await call("GET", "/v1/instances/t/cgroups/"));
    expect(root).toMatchObject({
      path: "/",
      children: ["/a", "/c"],
      descendantCount: 3,
      dyingDescendantCount: 0,
    });
  });

  it("answers 404 for a missing parent, 409 for a taken path, 400 for a bad path", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "rfc-2012" } });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    expectProblem(await call("POST", "/v1/instances/t/cgroups", { path: "/x/y" }), 404, "CGROUP_NOT_FOUND");
    expectProblem(await call("POST", "/v1/instances/t/cgroups", { path: "/a" }), 409, "CGROUP_EXISTS");
    expectProblem(await call("POST", "/v1/instances/t/cgroups", { path: "a" }), 400, "INVALID_ARGUMENT");
    expectProblem(
      await call("POST", "/v1/instances/t/cgroups", { path: "/memory.x" }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(await call("GET", "/v1/instances/t/cgroups/nope"), 404, "CGROUP_NOT_FOUND");
    expectProblem(await call("GET", "/v1/instances/nope/cgroups/a"), 404, "INSTANCE_NOT_FOUND");
  });

  it("PATCH sets limits like the file writes, null is unlimited, unknown fields are refused", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "v4.5", cgroupVersion: 1 } });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    const r = await call("PATCH", "/v1/instances/t/cgroups/a", {
      memoryMaxBytes: 1048576,
      kmemMaxBytes: 65536,
    });
    expect(r.statusCode).toBe(200);
    expect(json(r).memory.maxBytes).toBe(1048576);
    expect(json(r).kmem.maxBytes).toBe(65536);
    expect((await call("GET", "/v1/instances/t/fs/a/memory.limit_in_bytes")).body).toBe("1048576\n");
    expect(
      json(await call("PATCH", "/v1/instances/t/cgroups/a", { memoryMaxBytes: null })).memory.maxBytes,
    ).toBeNull();
    expect((await call("GET", "/v1/instances/t/fs/a/memory.limit_in_bytes")).body).toBe(
      "9223372036854771712\n",
    );
    const bad = expectProblem(
      await call("PATCH", "/v1/instances/t/cgroups/a", { memoryMax: 1 }),
      400,
      "INVALID_ARGUMENT",
    );
    expect(bad.details.issues).toEqual([{ path: "", message: 'Unrecognized key: "memoryMax"' }]);
    expectProblem(
      await call("PATCH", "/v1/instances/t/cgroups/a", { memoryMaxBytes: -1 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("PATCH", "/v1/instances/t/cgroups/zz", { memoryMaxBytes: 1 }),
      404,
      "CGROUP_NOT_FOUND",
    );
  });

  it("DELETE answers 204, 409 CGROUP_BUSY with children or tasks, 400 on the root", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "rfc-2012" } });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a/b" });
    expectProblem(await call("DELETE", "/v1/instances/t/cgroups/a"), 409, "CGROUP_BUSY");
    expect((await call("DELETE", "/v1/instances/t/cgroups/a/b")).statusCode).toBe(204);
    await call("POST", "/v1/instances/t/tasks", { cgroup: "/a", pid: 7 });
    expectProblem(await call("DELETE", "/v1/instances/t/cgroups/a"), 409, "CGROUP_BUSY");
    expectProblem(await call("DELETE", "/v1/instances/t/cgroups/"), 400, "INVALID_ARGUMENT");
  });

  it("keeps a removed but pinned cgroup answering GET as dying", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "v4.5", cgroupVersion: 2 } });
    await call("POST", "/v1/instances/t/cgroups", { path: "/jobs" });
    await call("POST", "/v1/instances/t/cgroups", { path: "/jobs/build" });
    await call("POST", "/v1/instances/t/caches", {
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    });
    await call("POST", "/v1/instances/t/tasks", { cgroup: "/jobs/build", pid: 300 });
    expect(
      json(await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 300, count: 100 }))
        .allocatedCount,
    ).toBe(100);
    expect((await call("DELETE", "/v1/instances/t/tasks/300")).statusCode).toBe(204);
    expect((await call("DELETE", "/v1/instances/t/cgroups/jobs/build")).statusCode).toBe(204);
    expect(json(await call("GET", "/v1/instances/t/cgroups/jobs/build")).state).toBe("dying");
    expect(json(await call("GET", "/v1/instances/t/cgroups/jobs")).dyingDescendantCount).toBe(1);
  });
});

describe("caches (docs/API.md §4)", () => {
  it("creates dentry 192 B: 21 objects per 4 KiB slab, a memcg-aware shrinker, not accounted until registered", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "rfc-2012" } });
    const r = await call("POST", "/v1/instances/t/caches", {
      name: "dentry",
      objectSizeBytes: 192,
      flags: { reclaimAccount: true },
    });
    expect(r.statusCode).toBe(201);
    expect(json(r)).toMatchObject({
      name: "dentry",
      objectSizeBytes: 192,
      sizeBytes: 192,
      order: 0,
      objectsPerSlab: 21,
      pagesPerSlab: 1,
      shrinker: { memcgAware: true, seeks: 2 },
      accounted: false,
      objectCount: 0,
      children: [],
    });
    const reg = await call("POST", "/v1/instances/t/caches/dentry/register");
    expect(reg.statusCode).toBe(200);
    expect(json(reg).accounted).toBe(true);
    expect(
      json(await call("GET", "/v1/instances/t/caches")).caches.map((c: { name: string }) => c.name),
    ).toEqual(["dentry"]);
    expect(json(await call("GET", "/v1/instances/t/caches/dentry")).accounted).toBe(true);
  });

  it("refuses a taken name (409), an unknown cache (404), a busy cache (409), bad sizes (400)", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "rfc-2012" } });
    await call("POST", "/v1/instances/t/caches", { name: "k", objectSizeBytes: 256 });
    expectProblem(
      await call("POST", "/v1/instances/t/caches", { name: "k", objectSizeBytes: 256 }),
      409,
      "CACHE_EXISTS",
    );
    expectProblem(await call("GET", "/v1/instances/t/caches/none"), 404, "CACHE_NOT_FOUND");
    expectProblem(await call("POST", "/v1/instances/t/caches/none/register"), 404, "CACHE_NOT_FOUND");
    expectProblem(await call("DELETE", "/v1/instances/t/caches/none"), 404, "CACHE_NOT_FOUND");
    expectProblem(
      await call("POST", "/v1/instances/t/caches", { name: "big", objectSizeBytes: 1 << 20 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/caches", {
        name: "f",
        objectSizeBytes: 64,
        flags: { acount: true },
      }),
      400,
      "INVALID_ARGUMENT",
    );
    await call("POST", "/v1/instances/t/tasks", { cgroup: "/", pid: 1 });
    await call("POST", "/v1/instances/t/objects/alloc", { cache: "k", pid: 1, count: 1 });
    expectProblem(await call("DELETE", "/v1/instances/t/caches/k"), 409, "CACHE_BUSY");
    await call("POST", "/v1/instances/t/objects/free", { cache: "k", pid: 1, count: 1 });
    expect((await call("DELETE", "/v1/instances/t/caches/k")).statusCode).toBe(204);
  });
});

describe("tasks (docs/API.md §4)", () => {
  it("spawns, lists by pid, moves (charges stay) and exits", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "rfc-2012" } });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    await call("POST", "/v1/instances/t/cgroups", { path: "/b" });
    const s = await call("POST", "/v1/instances/t/tasks", {
      cgroup: "/a",
      pid: 42,
      cpu: 1,
      oomScoreAdj: 100,
    });
    expect(s.statusCode).toBe(201);
    expect(json(s)).toEqual({
      pid: 42,
      cgroup: "/a",
      cpu: 1,
      oomScoreAdj: 100,
      anonBytes: 0,
      state: "running",
    });
    const chosen = json(await call("POST", "/v1/instances/t/tasks", { cgroup: "/b" }));
    expect(chosen.pid).toBeGreaterThan(0);
    await call("POST", "/v1/instances/t/pages/alloc", { pid: 42, kind: "anon", bytes: 8192 });
    const moved = await call("POST", "/v1/instances/t/tasks/42/move", { cgroup: "/b" });
    expect(json(moved)).toMatchObject({ pid: 42, cgroup: "/b", anonBytes: 8192 });
    // the 2 pages stay charged to /a, with the rest of its 32-page charge batch in CPU 1's stock
    expect(json(await call("GET", "/v1/instances/t/cgroups/a")).memory.usageBytes).toBe(32 * 4096);
    expect(json(await call("GET", "/v1/instances/t/tasks")).tasks.map((t: { pid: number }) => t.pid)).toEqual(
      [42, chosen.pid].sort((x, y) => x - y),
    );
    expect(json(await call("GET", "/v1/instances/t/tasks/42")).cgroup).toBe("/b");
    expect((await call("DELETE", "/v1/instances/t/tasks/42")).statusCode).toBe(204);
    expectProblem(await call("GET", "/v1/instances/t/tasks/42"), 404, "TASK_NOT_FOUND");
  });

  it("refuses a taken pid (409), a bad pid (400), an unknown cgroup (404)", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "rfc-2012" } });
    await call("POST", "/v1/instances/t/tasks", { cgroup: "/", pid: 5 });
    expectProblem(await call("POST", "/v1/instances/t/tasks", { cgroup: "/", pid: 5 }), 409, "TASK_EXISTS");
    expectProblem(
      await call("POST", "/v1/instances/t/tasks", { cgroup: "/", pid: 0 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(await call("POST", "/v1/instances/t/tasks", { cgroup: "/zz" }), 404, "CGROUP_NOT_FOUND");
    expectProblem(await call("GET", "/v1/instances/t/tasks/abc"), 400, "INVALID_ARGUMENT");
    expectProblem(await call("GET", "/v1/instances/t/tasks/99999999"), 400, "INVALID_ARGUMENT");
    expectProblem(await call("POST", "/v1/instances/t/tasks/6/move", { cgroup: "/" }), 404, "TASK_NOT_FOUND");
    expectProblem(await call("DELETE", "/v1/instances/t/tasks/6"), 404, "TASK_NOT_FOUND");
  });
});

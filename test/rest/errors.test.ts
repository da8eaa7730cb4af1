import { describe, expect, it } from "vitest";
import { Registry } from "../../src/registry.js";
import { build, expectProblem } from "./helpers.js";

describe("errors are problem+json (docs/API.md §2)", () => {
  it("answers 400 to bad JSON, 415 to a wrong content type, 413 to a body over the limit", async () => {
    const { call } = await build({ limits: { maxBodyBytes: 1024 } });
    await call("POST", "/v1/instances", { name: "t" });
    expectProblem(
      await call("POST", "/v1/instances/t/cgroups", "{bad", { "content-type": "application/json" }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/cgroups", '{"path":"/a"}', { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/cgroups", "<a/>", { "content-type": "application/xml" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/cgroups", { path: `/${"a".repeat(2000)}` }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/cgroups", '{"__proto__":{"x":1},"path":"/a"}', {
        "content-type": "application/json",
      }),
      400,
      "INVALID_ARGUMENT",
    );
  });

  it("answers 404 NOT_FOUND for an unknown route or method", async () => {
    const { call } = await build();
    const p = expectProblem(await call("GET", "/v2/nothing"), 404, "NOT_FOUND");
    expect(p.detail).toBe("no route GET /v2/nothing");
    expectProblem(await call("PUT", "/v1/instances"), 404, "NOT_FOUND");
  });

  it("answers a bug with 500 INTERNAL and no detail, stack or message of the cause", async () => {
    class Broken extends Registry {
      override execute(): unknown {
        throw new TypeError("secret internals at /work/main/src/engine/x.ts:1");
      }
    }
    const { call } = await build({ registry: new Broken() });
    await call("POST", "/v1/instances", { name: "t" });
    const r = await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    const p = expectProblem(r, 500, "INTERNAL");
    expect(p).toEqual({
      type: "about:blank",
      title: "Internal error",
      status: 500,
      detail: "internal error; the server log has the cause",
      code: "INTERNAL",
    });
    expect(r.body).not.toContain("secret");
    expect(r.body).not.toContain("src/");
  });

  it("echoes a client's x-request-id and generates one otherwise", async () => {
    const { call } = await build();
    expect(
      (await call("GET", "/livez", undefined, { "x-request-id": "abc-123" })).headers["x-request-id"],
    ).toBe("abc-123");
    expect(
      (await call("GET", "/livez", undefined, { "x-request-id": "bad id\twith spaces" })).headers[
        "x-request-id"
      ],
    ).toMatch(/^req-/);
  });

  it("never answers a 5xx to hostile input (a deterministic fuzz over every route)", async () => {
    const { call } = await build({ limits: { maxBodyBytes: 64 * 1024 } });
    await call("POST", "/v1/instances", { name: "t", config: { model: "v4.5" } });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    await call("POST", "/v1/instances/t/caches", {
      name: "c",
      objectSizeBytes: 64,
      flags: { account: true },
    });
    await call("POST", "/v1/instances/t/tasks", { cgroup: "/a", pid: 1 });
    const values: unknown[] = [
      null,
      true,
      0,
      -1,
      1.5,
      2 ** 53,
      -(2 ** 60),
      1e308,
      "",
      "x",
      "/",
      "/a",
      "//",
      "/a/../b",
      "\u0000",
      "%2F",
      "a".repeat(5000),
      [],
      [1],
      {},
      { op: "createCgroup" },
      { __proto__: null },
      "GFP_KERNEL|__GFP_NOFAIL",
      "max",
      "-1",
      "1e3",
      "NaN",
    ];
    const fields = [
      "name",
      "path",
      "cgroup",
      "cache",
      "pid",
      "count",
      "bytes",
      "kind",
      "gfp",
      "ms",
      "objectIds",
      "order",
      "memoryMaxBytes",
      "objectSizeBytes",
      "commands",
      "config",
      "flags",
      "shrinker",
      "file",
      "value",
      "stopOnError",
    ];
    const posts = [
      "/v1/instances",
      "/v1/instances/t/reset",
      "/v1/instances/t/cgroups",
      "/v1/instances/t/caches",
      "/v1/instances/t/caches/c/register",
      "/v1/instances/t/tasks",
      "/v1/instances/t/tasks/1/move",
      "/v1/instances/t/objects/alloc",
      "/v1/instances/t/objects/free",
      "/v1/instances/t/pages/alloc",
      "/v1/instances/t/pages/free",
      "/v1/instances/t/reclaim",
      "/v1/instances/t/clock/advance",
      "/v1/instances/t/batch",
    ];
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const statuses = new Map<number, number>();
    for (let i = 0; i < 600; i++) {
      const body: Record<string, unknown> = {};
      for (let k = rnd(4); k >= 0; k--) body[fields[rnd(fields.length)]] = values[rnd(values.length)];
      if (rnd(5) === 0) body.commands = [{ op: "allocObjects", cache: "c", pid: 1, ...body }];
      const url = posts[rnd(posts.length)];
      const method = rnd(6) === 0 ? "PATCH" : "POST";
      const target =
        method === "PATCH"
          ? `/v1/instances/t/cgroups/${["a", "", "a/b", "%00", "..", "memory.max"][rnd(6)]}`
          : url;
      const r = await call(method, target, body);
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      if (r.statusCode >= 500)
        throw new Error(`${method} ${target} ${JSON.stringify(body)} → ${r.statusCode} ${r.body}`);
    }
    const paths = [
      "/v1/instances/t/fs/a/memory.stat",
      "/v1/instances/t/fs/%2e%2e/x",
      "/v1/instances/t/fs/a/b/c/d",
      "/v1/instances/t/cgroups/a%2Fb",
      "/v1/instances/t/tasks/-1",
      "/v1/instances/t/events?sinceSeq=abc",
      "/v1/instances/t/events?limit=0",
      "/v1/instances/t/events?x=1",
      "/v1/instances/%ZZ",
    ];
    for (const p of paths) expect((await call("GET", p)).statusCode).toBeLessThan(500);
    for (const v of ["", "max", "-1", "\u0000", "9".repeat(30), "1 2", "1M", "0x10"])
      for (const f of [
        "memory.max",
        "memory.high",
        "memory.reclaim",
        "cgroup.procs",
        "memory.oom.group",
        "nope",
      ])
        expect(
          (await call("PUT", `/v1/instances/t/fs/a/${f}`, v, { "content-type": "text/plain" })).statusCode,
        ).toBeLessThan(500);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
  });
});

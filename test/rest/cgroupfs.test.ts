import { describe, expect, it } from "vitest";
import { build, expectProblem, json, withDentry } from "./helpers.js";

describe("cgroupfs facade (docs/API.md §7)", () => {
  it("reads files byte-for-byte as text/plain, the root's at /fs/{file}", async () => {
    const { call } = await build();
    await withDentry(call, { model: "v5.9" });
    const r = await call("GET", "/v1/instances/t/fs/a/memory.max");
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(r.body).toBe("max\n");
    expect((await call("GET", "/v1/instances/t/fs/a/cgroup.procs")).body).toBe("100\n");
    const stat = (await call("GET", "/v1/instances/t/fs/memory.stat")).body;
    expect(stat.endsWith("\n")).toBe(true);
    expect(stat).toMatch(/^anon \d+\n/);
  });

  it("PUT text/plain is echo > file: trimmed, 204, and visible in the next read", async () => {
    const { call } = await build();
    await withDentry(call, { model: "v5.9" });
    const w = await call("PUT", "/v1/instances/t/fs/a/memory.max", "1048576\n", {
      "content-type": "text/plain",
    });
    expect(w.statusCode).toBe(204);
    expect((await call("GET", "/v1/instances/t/fs/a/memory.max")).body).toBe("1048576\n");
    expect(json(await call("GET", "/v1/instances/t/cgroups/a")).memory.maxBytes).toBe(1048576);
    await call("POST", "/v1/instances/t/cgroups", { path: "/b" });
    expect(
      (
        await call("PUT", "/v1/instances/t/fs/b/cgroup.procs", "100", {
          "content-type": "text/plain; charset=utf-8",
        })
      ).statusCode,
    ).toBe(204);
    expect(json(await call("GET", "/v1/instances/t/tasks/100")).cgroup).toBe("/b");
  });

  it("answers errnos as problem codes: ENOENT 404, EINVAL 400", async () => {
    const { call } = await build();
    await withDentry(call, { model: "v5.9" });
    expectProblem(await call("GET", "/v1/instances/t/fs/a/memory.kmem.usage_in_bytes"), 404, "ENOENT");
    expectProblem(await call("GET", "/v1/instances/t/fs/a/"), 404, "ENOENT");
    expectProblem(await call("GET", "/v1/instances/t/fs/zz/memory.max"), 404, "CGROUP_NOT_FOUND");
    expectProblem(
      await call("PUT", "/v1/instances/t/fs/a/memory.max", "lots", { "content-type": "text/plain" }),
      400,
      "EINVAL",
    );
  });

  it("takes only text/plain on PUT (415 otherwise) and limits the value like the command language", async () => {
    const { call } = await build();
    await withDentry(call, { model: "v5.9" });
    expectProblem(
      await call("PUT", "/v1/instances/t/fs/a/memory.max", '"1M"', { "content-type": "application/json" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expectProblem(await call("PUT", "/v1/instances/t/fs/a/memory.max"), 415, "UNSUPPORTED_MEDIA_TYPE");
    expectProblem(
      await call("PUT", "/v1/instances/t/fs/a/memory.max", "9".repeat(5000), {
        "content-type": "text/plain",
      }),
      400,
      "INVALID_ARGUMENT",
    );
  });

  it("serves /proc/slabinfo and /proc/meminfo", async () => {
    const { call } = await build();
    await withDentry(call);
    await call("POST", "/v1/instances/t/objects/alloc", { cache: "dentry", pid: 100, count: 21 });
    const slab = await call("GET", "/v1/instances/t/proc/slabinfo");
    expect(slab.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(slab.body.split("\n")[0]).toBe("slabinfo - version: 2.1");
    // the default model (rfc-2012) lists the cgroup's copy on its own line, as the seed did
    expect(slab.body).toMatch(/^dentry-1\s+21\s+21\s+192\s+21\s+1 /m);
    const mem = (await call("GET", "/v1/instances/t/proc/meminfo")).body;
    expect(mem).toMatch(/^MemTotal:\s+8388608 kB$/m);
    expect(mem).toMatch(/^Slab:\s+4 kB$/m);
    expectProblem(await call("GET", "/v1/instances/nope/proc/meminfo"), 404, "INSTANCE_NOT_FOUND");
  });
});

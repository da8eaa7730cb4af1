import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { build, expectProblem, json } from "../rest/helpers.js";

/** `POST /v1/instances/{name}/replay`: the mkdir-2000 recording streamed into a v5.9 instance. */
const FIXTURE = join(import.meta.dirname, "fixtures", "mkdir-2000");
const gz = readFileSync(join(FIXTURE, "trace.txt.gz"));
const CG = "/parent/mkdir-2000-0";
const URL = `/v1/instances/r/replay?pidCgroup=11431=${CG}`;

async function setup() {
  const t = await build();
  await t.call("POST", "/v1/instances", {
    name: "r",
    config: { model: "v5.9", cgroupVersion: 1, cpuCount: 1 },
  });
  await t.call("POST", "/v1/instances/r/cgroups", { path: "/parent" });
  await t.call("POST", "/v1/instances/r/cgroups", { path: CG });
  return t;
}

describe("REST replay", () => {
  it("replays a gzip trace into the instance: Δkmem 1921024, as the real kernel's (after − before)", async () => {
    const { app, call } = await setup();
    const r = await app.inject({
      method: "POST",
      url: URL,
      payload: gz,
      headers: { "content-type": "application/gzip" },
    });
    expect(r.statusCode).toBe(200);
    const body = json(r);
    expect(body.cgroups[CG].predicted["memory.kmem.usage_in_bytes"]).toBe(1921024);
    expect(body.cgroups[CG].real).toBeNull();
    expect(body.lines).toEqual({ parsed: 11045, used: 11045, skipped: {} });
    expect(body.oomKills).toEqual([]);
    // the instance shows it: the cgroupfs file, the live objects
    const f = await call("GET", `/v1/instances/r/fs${CG}/memory.kmem.usage_in_bytes`);
    expect(f.body.trim()).toBe("1921024");
  });

  it("takes plain text and the pid map from the header, same answer", async () => {
    const { app } = await setup();
    const r = await app.inject({
      method: "POST",
      url: "/v1/instances/r/replay",
      payload: gunzipSync(gz),
      headers: { "content-type": "text/plain", "memcg-sim-pid-cgroup": `11431=${CG}` },
    });
    expect(r.statusCode).toBe(200);
    expect(json(r).cgroups[CG].predicted["memory.kmem.usage_in_bytes"]).toBe(1921024);
  });

  it("bad input: 4xx problem+json, nothing changed", async () => {
    const { app, call } = await setup();
    const before = json(await call("GET", "/v1/instances/r"));
    const post = (url: string, payload: Buffer | string, type = "application/gzip") =>
      app.inject({ method: "POST", url, payload, headers: { "content-type": type } });
    expectProblem(await post("/v1/instances/nope/replay?pidCgroup=1=/a", gz), 404, "INSTANCE_NOT_FOUND");
    expectProblem(await post("/v1/instances/r/replay", gz), 400, "INVALID_ARGUMENT");
    expectProblem(await post("/v1/instances/r/replay?pidCgroup=11431=/nowhere", gz), 404, "CGROUP_NOT_FOUND");
    expectProblem(await post("/v1/instances/r/replay?pidCgroup=x=/a", gz), 400, "INVALID_ARGUMENT");
    const notGz = expectProblem(
      await post(URL, "python3-1 [000] ..... 1.0: kfree: ptr=1\n"),
      400,
      "INVALID_ARGUMENT",
    );
    expect(notGz.details.reason).toBe("NOT_GZIP");
    expect(notGz.detail).toBe("the trace is not gzip data: byte 0 is 0x70, gzip starts with 0x1f 0x8b");
    const empty = expectProblem(await post(URL, "", "text/plain"), 400, "INVALID_ARGUMENT");
    expect(empty.details.reason).toBe("EMPTY_TRACE");
    expectProblem(await post(URL, "{}", "application/json"), 415, "UNSUPPORTED_MEDIA_TYPE");
    const after = json(await call("GET", "/v1/instances/r"));
    expect(after).toEqual(before);
  });

  it("a truncated gzip stops where it breaks, naming the byte and the lines applied", async () => {
    const { app } = await setup();
    const r = await app.inject({
      method: "POST",
      url: URL,
      payload: gz.subarray(0, 40_000),
      headers: { "content-type": "application/gzip" },
    });
    const p = expectProblem(r, 400, "INVALID_ARGUMENT");
    expect(p.details.reason).toBe("TRUNCATED_GZIP");
    expect(p.details.offset).toBe(40_000);
    expect(p.detail).toMatch(
      /^truncated gzip: the input ends at byte 40000 inside a compressed member \(\d+ complete lines read\); the \d+ lines before it were applied$/,
    );
  });

  it("rfc-2012: the instance's cgroups as they are — caches the replay registers after them get no copy (nothing charged); registered before them, charged", async () => {
    const run = async (registerFirst: boolean) => {
      const t = await build();
      await t.call("POST", "/v1/instances", {
        name: "r",
        config: { model: "rfc-2012", cgroupVersion: 1, cpuCount: 1, kmemIndependentAccounting: true },
      });
      if (registerFirst)
        for (const [name, size] of [
          ["dentry", 192],
          ["shmem_inode_cache", 752],
        ] as const) {
          await t.call("POST", "/v1/instances/r/caches", { name, objectSizeBytes: size });
          await t.call("POST", `/v1/instances/r/caches/${name}/register`, {});
        }
      await t.call("POST", "/v1/instances/r/cgroups", { path: "/parent" });
      await t.call("POST", "/v1/instances/r/cgroups", { path: CG });
      const r = await t.app.inject({
        method: "POST",
        url: URL,
        payload: gz,
        headers: { "content-type": "application/gzip" },
      });
      expect(r.statusCode).toBe(200);
      return json(r).cgroups[CG].predicted["memory.kmem.usage_in_bytes"] as number;
    };
    // registered by the replay at their first accounted line: /parent and CG existed already
    expect(await run(false)).toBe(0);
    // registered before the cgroups (as at boot): every accounted object in CG's copies, the
    // recording replay's rfc-2012 figure (real + 11 pages, docs/REPLAY.md)
    expect(await run(true)).toBe(1921024 + 11 * 4096);
  });
});

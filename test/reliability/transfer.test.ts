import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { json, startBoth } from "./helpers.js";

const MiB = 1024 * 1024;

/** A small but varied history: tree, limits, caches, tasks, objects, pages, a failing charge, a file write. */
async function buildHistory(s: Awaited<ReturnType<typeof startBoth>>, name: string) {
  const I = `/v1/instances/${name}`;
  await s.call("POST", "/v1/instances", { name, config: { model: "v4.5", memoryBytes: 64 * MiB, seed: 7 } });
  for (const p of ["/a", "/a/x", "/b"]) await s.call("POST", `${I}/cgroups`, { path: p });
  await s.call("PATCH", `${I}/cgroups/a`, { memoryMaxBytes: 2 * MiB });
  await s.call("POST", `${I}/caches`, {
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  await s.call("POST", `${I}/tasks`, { cgroup: "/a/x", pid: 10 });
  await s.call("POST", `${I}/tasks`, { cgroup: "/b", pid: 11 });
  await s.call("POST", `${I}/objects/alloc`, { cache: "dentry", pid: 10, count: 5000 });
  await s.call("POST", `${I}/pages/alloc`, { pid: 11, kind: "file", bytes: MiB });
  await s.call("POST", `${I}/objects/free`, { cache: "dentry", pid: 10, count: 700, order: "random" });
  await s.call("PUT", `${I}/fs/b/memory.limit_in_bytes`, "4M", { "content-type": "text/plain" });
  await s.call("POST", `${I}/tasks/10/move`, { cgroup: "/b" });
  await s.call("POST", `${I}/clock/advance`, { ms: 1234 });
}

async function observe(s: Awaited<ReturnType<typeof startBoth>>, name: string) {
  const I = `/v1/instances/${name}`;
  const { name: _n, ...instance } = json(await s.call("GET", I));
  return {
    instance,
    cgroups: json(await s.call("GET", `${I}/cgroups`)),
    caches: json(await s.call("GET", `${I}/caches`)),
    tasks: json(await s.call("GET", `${I}/tasks`)),
    events: json(await s.call("GET", `${I}/events?limit=10000`)),
    slabinfo: (await s.call("GET", `${I}/proc/slabinfo`)).body,
    meminfo: (await s.call("GET", `${I}/proc/meminfo`)).body,
    stat: (await s.call("GET", `${I}/fs/a/memory.stat`)).body,
    // the next answers too: the seeded PRNG and every counter continue identically
    next: [
      json(await s.call("POST", `${I}/objects/alloc`, { cache: "dentry", pid: 11, count: 300 })),
      json(
        await s.call("POST", `${I}/objects/free`, {
          cache: "dentry",
          cgroup: "/a/x",
          count: 50,
          order: "random",
        }),
      ),
      json(await s.call("POST", `${I}/reclaim`, { cgroup: "/", bytes: MiB })),
    ],
  };
}

describe("export / import (REST and gRPC)", () => {
  it("an instance exported over REST and imported into another server over gRPC answers identically", async () => {
    const src = await startBoth();
    await buildHistory(src, "orig");
    const exported = await src.call("GET", "/v1/instances/orig/export");
    expect(exported.statusCode).toBe(200);
    const doc = json(exported);
    expect(doc).toMatchObject({ format: "memcg-sim-export", version: 1, name: "orig" });
    expect(doc.commands.length).toBe(src.registry.get("orig").instance.commandCount);

    const dst = await startBoth();
    const imported = await dst.rpc("ImportInstance", { documentJson: exported.body, name: "copy" });
    expect(imported.ok).toBe(true);
    expect((imported.response!.instance as { name: string }).name).toBe("copy");

    const [a, b] = [await observe(src, "orig"), await observe(dst, "copy")];
    expect(a.instance.liveObjectCount).toBeGreaterThan(4000);
    expect(b).toEqual(a);
  });

  it("gRPC ExportInstance gives the REST document; REST import answers 201 Instance and refuses a taken name", async () => {
    const s = await startBoth();
    await buildHistory(s, "orig");
    const viaGrpc = await s.rpc("ExportInstance", { name: "orig" });
    expect(JSON.parse(viaGrpc.response!.documentJson as string)).toEqual(
      json(await s.call("GET", "/v1/instances/orig/export")),
    );
    const r = await s.call(
      "POST",
      "/v1/instances/import?name=twin",
      JSON.parse(viaGrpc.response!.documentJson as string),
    );
    expect(r.statusCode).toBe(201);
    expect(json(r).name).toBe("twin");
    expect(json(r).liveObjectCount).toBe(json(await s.call("GET", "/v1/instances/orig")).liveObjectCount);
    expect(
      json(await s.call("POST", "/v1/instances/import", JSON.parse(viaGrpc.response!.documentJson as string)))
        .code,
    ).toBe("INSTANCE_EXISTS");
    expect((await s.rpc("ExportInstance", { name: "nope" })).code).toBe(grpc.status.NOT_FOUND);
  });

  it("refuses malformed documents with 400 / INVALID_ARGUMENT and leaves nothing behind", async () => {
    const s = await startBoth();
    for (const body of [
      { format: "nope" },
      { format: "memcg-sim-export", version: 2, name: "x", config: {}, commands: [] },
      {
        format: "memcg-sim-export",
        version: 1,
        name: "x",
        config: {},
        commands: [{ op: "removeCgroup", path: "/missing" }],
      },
    ]) {
      const r = await s.call("POST", "/v1/instances/import", body);
      expect(r.statusCode).toBe(400);
      expect(json(r).code).toBe("INVALID_ARGUMENT");
    }
    for (const text of [
      "{",
      "[]",
      '{"__proto__": {"polluted": 1}}',
      '{"constructor": {"prototype": {"polluted": 1}}}',
    ]) {
      const o = await s.rpc("ImportInstance", { documentJson: text });
      expect(o.code).toBe(grpc.status.INVALID_ARGUMENT);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(s.registry.list()).toEqual([]);
  });
});

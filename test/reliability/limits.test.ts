import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { expectGrpcLimit, expectLimit, json, startBoth } from "./helpers.js";

const MiB = 1024 * 1024;

/** Creates with `make(i)` until a refusal; returns how many were accepted and the refusal. */
async function fillUntilRefused<T extends { statusCode: number }>(make: (i: number) => Promise<T>, max = 50) {
  for (let i = 0; i < max; i++) {
    const r = await make(i);
    if (r.statusCode !== 201) return { accepted: i, refused: r };
  }
  throw new Error(`no refusal after ${max}`);
}

describe("limits on everything a client controls (docs/ARCHITECTURE.md habit 4): 429 LIMIT_EXCEEDED naming the limit", () => {
  it("maxInstances: REST create, gRPC CreateInstance and ImportInstance", async () => {
    const s = await startBoth({ limits: { maxInstances: 2 } });
    expect((await s.call("POST", "/v1/instances", { name: "a" })).statusCode).toBe(201);
    expect((await s.rpc("CreateInstance", { name: "b" })).ok).toBe(true);
    expectLimit(await s.call("POST", "/v1/instances", { name: "c" }), "maxInstances");
    expectGrpcLimit(await s.rpc("CreateInstance", { name: "c" }), "maxInstances");
    const doc = (await s.call("GET", "/v1/instances/a/export")).body;
    expectLimit(await s.call("POST", "/v1/instances/import?name=c", JSON.parse(doc)), "maxInstances");
    expectGrpcLimit(await s.rpc("ImportInstance", { documentJson: doc, name: "c" }), "maxInstances");
    expect(s.registry.list().map((e) => e.name)).toEqual(["a", "b"]);
  });

  it("maxCgroups and maxDepth per instance", async () => {
    const s = await startBoth({ limits: { maxCgroups: 4, maxDepth: 2 } });
    await s.call("POST", "/v1/instances", { name: "t" });
    const { accepted, refused } = await fillUntilRefused((i) =>
      s.call("POST", "/v1/instances/t/cgroups", { path: `/c${i}` }),
    );
    expect(accepted).toBe(3); // the root counts
    expectLimit(refused as never, "maxCgroups");
    expectGrpcLimit(await s.rpc("CreateCgroup", { instance: "t", path: "/more" }), "maxCgroups");

    await s.call("POST", "/v1/instances", { name: "d" });
    expect((await s.call("POST", "/v1/instances/d/cgroups", { path: "/a" })).statusCode).toBe(201);
    expect((await s.call("POST", "/v1/instances/d/cgroups", { path: "/a/b" })).statusCode).toBe(201);
    expectLimit(await s.call("POST", "/v1/instances/d/cgroups", { path: "/a/b/c" }), "maxDepth");
    expectGrpcLimit(await s.rpc("CreateCgroup", { instance: "d", path: "/a/b/c" }), "maxDepth");
  });

  it("maxCaches and maxTasks per instance", async () => {
    const s = await startBoth({ limits: { maxCaches: 1, maxTasks: 1 } });
    await s.call("POST", "/v1/instances", { name: "t" });
    expect(
      (await s.call("POST", "/v1/instances/t/caches", { name: "one", objectSizeBytes: 64 })).statusCode,
    ).toBe(201);
    expectLimit(
      await s.call("POST", "/v1/instances/t/caches", { name: "two", objectSizeBytes: 64 }),
      "maxCaches",
    );
    expectGrpcLimit(
      await s.rpc("CreateCache", { instance: "t", name: "two", objectSizeBytes: 64 }),
      "maxCaches",
    );
    expect((await s.call("POST", "/v1/instances/t/tasks", { cgroup: "/", pid: 1 })).statusCode).toBe(201);
    expectLimit(await s.call("POST", "/v1/instances/t/tasks", { cgroup: "/", pid: 2 }), "maxTasks");
    expectGrpcLimit(await s.rpc("SpawnTask", { instance: "t", cgroup: "/", pid: 2 }), "maxTasks");
  });

  it("maxLiveObjects per instance and maxCountPerCommand per command, in a batch slot too", async () => {
    const s = await startBoth({ limits: { maxLiveObjects: 100, maxCountPerCommand: 60 } });
    await s.call("POST", "/v1/instances", { name: "t" });
    await s.call("POST", "/v1/instances/t/caches", { name: "c", objectSizeBytes: 64 });
    expectLimit(
      await s.call("POST", "/v1/instances/t/objects/alloc", { cache: "c", cgroup: "/", count: 61 }),
      "maxCountPerCommand",
    );
    expectGrpcLimit(
      await s.rpc("AllocObjects", { instance: "t", cache: "c", cgroup: "/", count: 61 }),
      "maxCountPerCommand",
    );
    expect(
      json(await s.call("POST", "/v1/instances/t/objects/alloc", { cache: "c", cgroup: "/", count: 60 }))
        .allocatedCount,
    ).toBe(60);
    expectLimit(
      await s.call("POST", "/v1/instances/t/objects/alloc", { cache: "c", cgroup: "/", count: 41 }),
      "maxLiveObjects",
    );
    expectGrpcLimit(
      await s.rpc("AllocObjects", { instance: "t", cache: "c", cgroup: "/", count: 41 }),
      "maxLiveObjects",
    );
    const batch = json(
      await s.call("POST", "/v1/instances/t/batch", {
        commands: [{ op: "allocObjects", cache: "c", cgroup: "/", count: 41 }],
      }),
    );
    expect(batch.results[0].error.code).toBe("LIMIT_EXCEEDED");
    expect(s.registry.get("t").instance.slab.liveObjects).toBe(60);
  });

  it("maxPagesPerInstance: the simulated RAM of a new instance, on create and import", async () => {
    const s = await startBoth({ limits: { maxPagesPerInstance: 8192 } });
    expect(
      (await s.call("POST", "/v1/instances", { name: "ok", config: { memoryBytes: 32 * MiB } })).statusCode,
    ).toBe(201);
    const big = { name: "big", config: { memoryBytes: 64 * MiB } };
    const r = await s.call("POST", "/v1/instances", big);
    expectLimit(r, "maxPagesPerInstance");
    expect(json(r).details.value).toBe(8192);
    expectGrpcLimit(await s.rpc("CreateInstance", big), "maxPagesPerInstance");
    const doc = {
      format: "memcg-sim-export",
      version: 1,
      name: "big",
      config: { memoryBytes: 64 * MiB },
      commands: [],
    };
    expectLimit(await s.call("POST", "/v1/instances/import", doc), "maxPagesPerInstance");
  });

  it("maxBatchCommands on /batch and ExecuteBatch", async () => {
    const s = await startBoth({ limits: { maxBatchCommands: 2 } });
    await s.call("POST", "/v1/instances", { name: "t" });
    const commands = [1, 2, 3].map((i) => ({ op: "advanceClock", ms: i }));
    expectLimit(await s.call("POST", "/v1/instances/t/batch", { commands }), "maxBatchCommands");
    expectGrpcLimit(
      await s.rpc("ExecuteBatch", {
        instance: "t",
        commands: commands.map((c) => ({ advanceClock: { ms: c.ms } })),
      }),
      "maxBatchCommands",
    );
    expect(s.registry.get("t").instance.commandCount).toBe(0);
  });

  it("maxImportCommands on import (REST and gRPC), nothing left behind", async () => {
    const s = await startBoth({ limits: { maxImportCommands: 1 } });
    await s.call("POST", "/v1/instances", { name: "t" });
    await s.call("POST", "/v1/instances/t/clock/advance", { ms: 1 });
    await s.call("POST", "/v1/instances/t/clock/advance", { ms: 2 });
    const doc = (await s.call("GET", "/v1/instances/t/export")).body;
    expectLimit(await s.call("POST", "/v1/instances/import?name=u", JSON.parse(doc)), "maxImportCommands");
    expectGrpcLimit(await s.rpc("ImportInstance", { documentJson: doc, name: "u" }), "maxImportCommands");
    expect(s.registry.list().map((e) => e.name)).toEqual(["t"]);
  });

  it("maxBodyBytes: 413 PAYLOAD_TOO_LARGE for JSON and text bodies; maxGrpcMessageBytes: RESOURCE_EXHAUSTED before decoding", async () => {
    const s = await startBoth({ limits: { maxBodyBytes: 1024, maxGrpcMessageBytes: 1024 } });
    await s.call("POST", "/v1/instances", { name: "t" });
    const commands = Array.from({ length: 100 }, () => ({ op: "advanceClock", ms: 1 }));
    for (const r of [
      await s.call("POST", "/v1/instances/t/batch", { commands }),
      await s.call("PUT", "/v1/instances/t/fs/memory.limit_in_bytes", "9".repeat(2000), {
        "content-type": "text/plain",
      }),
      await s.call("POST", "/v1/instances/import", { pad: "x".repeat(4000) }),
    ]) {
      expect(r.statusCode).toBe(413);
      expect(json(r)).toMatchObject({
        code: "PAYLOAD_TOO_LARGE",
        details: { limit: "maxBodyBytes", value: 1024 },
      });
    }
    const big = await s.rpc("ExecuteBatch", {
      instance: "t",
      commands: commands
        .map(() => ({ advanceClock: { ms: 1 } }))
        .concat(Array(200).fill({ advanceClock: { ms: 1 } })),
    });
    expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(big.details).toMatch(/larger than max/);
    expect(s.registry.get("t").instance.commandCount).toBe(0);
    // the server is fine afterwards
    expect((await s.rpc("GetInstance", { name: "t" })).ok).toBe(true);
  });

  it("maxWatchers counts SSE and gRPC WatchEvents streams together, and frees slots when they end", async () => {
    const s = await startBoth({ limits: { maxWatchers: 2 } });
    await s.call("POST", "/v1/instances", { name: "t" });
    const sse = new AbortController();
    const first = await fetch(`${s.base}/v1/instances/t/events`, {
      headers: { accept: "text/event-stream" },
      signal: sse.signal,
    });
    expect(first.status).toBe(200);
    const w1 = s.watch({ instance: "t", sinceSeq: 0 });
    w1.on("error", () => {});
    await waitFor(() => s.registry.watcherCount === 2);
    const refusedSse = await fetch(`${s.base}/v1/instances/t/events`, {
      headers: { accept: "text/event-stream" },
    });
    expect(refusedSse.status).toBe(429);
    expect(await refusedSse.json()).toMatchObject({
      code: "LIMIT_EXCEEDED",
      details: { limit: "maxWatchers", value: 2 },
    });
    const refusedWatch = await watchOutcome(s.watch({ instance: "t", sinceSeq: 0 }));
    expect(refusedWatch.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refusedWatch.limit).toBe("maxWatchers");
    // ending the SSE stream frees a slot for a gRPC watcher, and the other way round
    sse.abort();
    await waitFor(() => s.registry.watcherCount === 1);
    const w2 = s.watch({ instance: "t", sinceSeq: 0 });
    w2.on("error", () => {});
    await waitFor(() => s.registry.watcherCount === 2);
    w1.cancel();
    w2.cancel();
    await waitFor(() => s.registry.watcherCount === 0);
  });

  it("maxEventPage on the JSON page and ListEvents (default page shrinks to fit)", async () => {
    const s = await startBoth({ limits: { maxEventPage: 5 } });
    await s.call("POST", "/v1/instances", { name: "t" });
    for (let i = 0; i < 8; i++) await s.call("POST", "/v1/instances/t/cgroups", { path: `/c${i}` });
    expectLimit(await s.call("GET", "/v1/instances/t/events?limit=6"), "maxEventPage");
    expectGrpcLimit(await s.rpc("ListEvents", { instance: "t", sinceSeq: 0, limit: 6 }), "maxEventPage");
    expect(json(await s.call("GET", "/v1/instances/t/events")).events).toHaveLength(5);
    expect(
      ((await s.rpc("ListEvents", { instance: "t", sinceSeq: 0 })).response!.events as unknown[]).length,
    ).toBe(5);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function watchOutcome(stream: grpc.ClientReadableStream<unknown>): Promise<{ code: number; limit?: string }> {
  return new Promise((resolve) => {
    stream.on("data", () => {});
    stream.on("error", (e: grpc.ServiceError) => {
      const det = e.metadata.get("memcg-sim-error-details-bin")[0];
      resolve({
        code: e.code,
        limit: det ? JSON.parse(Buffer.from(det as Buffer).toString()).limit : undefined,
      });
    });
  });
}

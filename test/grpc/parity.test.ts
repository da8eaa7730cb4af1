import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Q from "../../src/commands/queries.js";
import { instanceConfigSchema, parseCommand } from "../../src/commands/schemas.js";
import { DEFAULT_SERVER_LIMITS, Registry } from "../../src/registry.js";
import { asProto, type Obj, plain, startTestServer, type TestServer } from "./helpers.js";

/**
 * docs/API.md §10: "the same request over REST and over gRPC gives the same result". REST answers the
 * registry's results as JSON, so the same commands applied directly to a second Registry are the
 * reference: every gRPC answer must equal it, field for field, with JSON null ⇔ absent.
 */
const KiB = 1024;
// v3.8 (cgroup v1): a kmem limit fails slab allocations with ENOMEM, and memory.kmem.usage_in_bytes exists
const config = { model: "v3.8" as const, memoryBytes: 64 * 1024 * KiB };

let t: TestServer;
const direct = new Registry(DEFAULT_SERVER_LIMITS);
const exec = (command: Obj) => direct.execute("p", parseCommand(command));

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

/** The gRPC answer (unwrapped from its response message) equals the registry's, JSON null ⇔ absent. */
async function same(grpcAnswer: () => Promise<Obj>, unwrap: (r: Obj) => unknown, reference: () => unknown) {
  const got = plain(unwrap(await grpcAnswer()));
  const want = reference();
  expect(got).toEqual(asProto(want));
  return want;
}

describe("gRPC ⇔ registry parity", () => {
  it("answers a small kmem scenario exactly as the registry does, step by step", async () => {
    await same(
      () => t.rpc("CreateInstance", { name: "p", config }),
      (r) => r.instance,
      () => direct.view(direct.create("p", instanceConfigSchema.parse(config))),
    );

    await same(
      () => t.rpc("CreateCgroup", { instance: "p", path: "/app" }),
      (r) => r.cgroup,
      () => exec({ op: "createCgroup", path: "/app" }),
    );
    await same(
      () =>
        t.rpc("UpdateCgroup", {
          instance: "p",
          path: "/app",
          memoryMaxBytes: { bytes: 4096 * KiB },
          kmemMaxBytes: { bytes: 256 * KiB },
        }),
      (r) => r.cgroup,
      () => exec({ op: "updateCgroup", path: "/app", memoryMaxBytes: 4096 * KiB, kmemMaxBytes: 256 * KiB }),
    );
    await same(
      () =>
        t.rpc("CreateCache", {
          instance: "p",
          name: "dentry",
          objectSizeBytes: 192,
          flags: { reclaimAccount: true },
        }),
      (r) => r.cache,
      () =>
        exec({ op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { reclaimAccount: true } }),
    );
    await same(
      () => t.rpc("RegisterCache", { instance: "p", name: "dentry" }),
      (r) => r.cache,
      () => exec({ op: "registerCache", name: "dentry" }),
    );
    await same(
      () => t.rpc("SpawnTask", { instance: "p", cgroup: "/app" }),
      (r) => r.task,
      () => exec({ op: "spawnTask", cgroup: "/app" }),
    );

    // allocate until the kmem limit answers ENOMEM: 256 KiB = 64 one-page slabs of 21 dentries each
    let last: Obj = {};
    let steps = 0;
    for (; steps < 20 && last.error !== "ENOMEM"; steps++) {
      last = (await same(
        () => t.rpc("AllocObjects", { instance: "p", cache: "dentry", pid: 100, count: 500 }),
        (r) => r,
        () => exec({ op: "allocObjects", cache: "dentry", pid: 100, count: 500 }),
      )) as Obj;
    }
    expect(last).toMatchObject({ error: "ENOMEM", failedAt: "/app" });
    expect(steps).toBe(3);

    const usage = await same(
      () => t.rpc("ReadFile", { instance: "p", cgroup: "/app", file: "memory.kmem.usage_in_bytes" }),
      (r) => r.value,
      () => Q.readFile(direct, "p", "/app", "memory.kmem.usage_in_bytes"),
    );
    expect(usage).toBe(`${256 * KiB}\n`);

    await same(
      () => t.rpc("GetCgroup", { instance: "p", path: "/app" }),
      (r) => r.cgroup,
      () => Q.getCgroup(direct, "p", "/app"),
    );
    await same(
      () => t.rpc("ListCgroups", { instance: "p" }),
      (r) => r,
      () => Q.listCgroups(direct, "p"),
    );
    await same(
      () => t.rpc("ListCaches", { instance: "p" }),
      (r) => r,
      () => Q.listCaches(direct, "p"),
    );
    await same(
      () => t.rpc("ListTasks", { instance: "p" }),
      (r) => r,
      () => Q.listTasks(direct, "p"),
    );
    await same(
      () => t.rpc("ListEvents", { instance: "p", sinceSeq: 0 }),
      (r) => r,
      () => Q.listEvents(direct, "p", 0),
    );
    await same(
      () => t.rpc("ReadProcSlabinfo", { instance: "p" }),
      (r) => r.value,
      () => Q.readProcSlabinfo(direct, "p"),
    );
    await same(
      () => t.rpc("ReadProcMeminfo", { instance: "p" }),
      (r) => r.value,
      () => Q.readProcMeminfo(direct, "p"),
    );
    await same(
      () => t.rpc("GetInstance", { name: "p" }),
      (r) => r.instance,
      () => direct.view(direct.get("p")),
    );
  });

  it("answers a batch exactly as the registry's batch does", async () => {
    const commands = [
      { op: "freeObjects", cache: "dentry", pid: 100, count: 700, order: "every-other" },
      { op: "reclaim", cgroup: "/app", bytes: 64 * KiB },
      { op: "exitTask", pid: 4242 },
    ];
    const reference = direct.executeBatch(
      "p",
      commands.map((c) => () => parseCommand(c)),
      false,
    );
    const answer = (await t.rpc("ExecuteBatch", {
      instance: "p",
      stopOnError: false,
      commands: commands.map((c) => ({ json: JSON.stringify(c) })),
    })) as {
      results: Obj[];
      executedCount: number;
    };
    expect(answer.executedCount).toBe(reference.executedCount);
    expect(
      answer.results.map((r) =>
        r.ok ? { ok: true, result: plain(r[r.result as string]) } : { ok: false, error: r.error },
      ),
    ).toEqual(reference.results.map((r) => asProto(r)));
  });
});

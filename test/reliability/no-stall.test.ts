import { request } from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type GrpcServerHandle, startGrpcServer } from "../../src/grpc/server.js";
import { Persistence } from "../../src/persistence/index.js";
import { Registry } from "../../src/registry.js";
import { buildApp } from "../../src/rest/app.js";
import type { ZodApp } from "../../src/rest/context.js";
import { Service } from "../../src/service/service.js";
import { nextTurn } from "../../src/service/slices.js";
import { methods, type Obj, unary } from "./helpers.js";

/**
 * Issue #20 item 4, "No request stalls the server": a long request runs in slices that yield to
 * the event loop. Ordering, never timing: a slice budget of 0 ms ends a slice after every command,
 * so what answers between two slices does not depend on the machine's speed.
 */

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!();
});

interface Server {
  registry: Registry;
  service: Service;
  app: ZodApp;
  grpcServer: GrpcServerHandle;
  client: grpc.Client;
  port: number;
}

/** REST (listening) and gRPC over one registry and ONE service whose slices end after every unit. */
async function start(): Promise<Server> {
  const registry = new Registry();
  const persistence = new Persistence({ dataDir: null });
  persistence.start(registry);
  const service = new Service({
    registry,
    flush: () => persistence.flush(),
    durable: () => persistence.durable(),
    transfer: persistence,
    slice: { sliceMs: 0 },
  });
  const app = await buildApp({ registry, service });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const grpcServer = await startGrpcServer({
    registry,
    service,
    host: "127.0.0.1",
    port: 0,
    logger: pino({ level: "silent" }),
    shutdownGraceMs: 200,
  });
  const client = new grpc.Client(`127.0.0.1:${grpcServer.port}`, grpc.credentials.createInsecure());
  open.push(async () => {
    client.close();
    await app.close();
    await grpcServer.close();
    service.close();
    persistence.close();
  });
  return { registry, service, app, grpcServer, client, port: (app.server.address() as AddressInfo).port };
}

/** Turns of the event loop until `cond` holds (at most `turns`; the test fails beyond). */
async function until(cond: () => boolean, turns = 100_000): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await nextTurn();
  expect(cond()).toBe(true);
}

const cgroupBatch = (n: number) => [
  { op: "createCgroup", path: "/w" },
  ...Array.from({ length: n - 1 }, (_, i) => ({ op: "createCgroup", path: `/w/c${i}` })),
];

/** A compare request that expands to a few thousand commands per model. */
const compareBody = {
  scenario: {
    config: { cpuCount: 2, memoryBytes: 268435456 },
    commands: [
      {
        op: "createCache",
        name: "dentry",
        objectSizeBytes: 192,
        flags: { account: true, reclaimAccount: true },
      },
      {
        generate: "containerChurn",
        containers: 300,
        tasksPerContainer: 2,
        objectsPerContainer: 50,
        mix: [{ cache: "dentry", count: 20 }],
        seed: 5,
      },
    ],
  },
  models: ["v4.5", "v6.18"],
};

describe("no request stalls the server", () => {
  it("REST: while a batch runs on instance a, /healthz and reads of b answer; a read of a waits for the whole batch", async () => {
    const s = await start();
    for (const name of ["a", "b"])
      expect(
        (await s.app.inject({ method: "POST", url: "/v1/instances", payload: { name } })).statusCode,
      ).toBe(201);
    let batchDone = false;
    const batch = s.app
      .inject({ method: "POST", url: "/v1/instances/a/batch", payload: { commands: cgroupBatch(200) } })
      .then((r) => {
        batchDone = true;
        return r;
      });
    await until(() => s.service.progress.batch.running === 1);
    const health = await s.app.inject({ method: "GET", url: "/healthz" });
    const readB = await s.app.inject({ method: "GET", url: "/v1/instances/b/cgroups" });
    // answered between two slices of the batch
    expect(batchDone).toBe(false);
    expect(s.service.progress.batch.running).toBe(1);
    expect(s.registry.get("a").instance.cgroupCount).toBeLessThan(201);
    expect(health.statusCode).toBe(200);
    expect(readB.json().cgroups).toHaveLength(1);
    // a read of a sent now waits for the batch and sees all of it (root + 200)
    const readA = await s.app.inject({ method: "GET", url: "/v1/instances/a/cgroups" });
    expect(readA.json().cgroups).toHaveLength(201);
    const done = await batch;
    expect(done.statusCode).toBe(200);
    expect(done.json().executedCount).toBe(200);
    expect(s.service.idle("a")).toBeUndefined();
  });

  it("gRPC: while ExecuteBatch runs on a, GetInstance b answers; a command and a read of a come after the batch", async () => {
    const s = await start();
    s.registry.create("a");
    s.registry.create("b");
    let batchDone = false;
    const batch = unary(s.client, "ExecuteBatch", {
      instance: "a",
      commands: cgroupBatch(200).map((c) => ({ json: JSON.stringify(c) })),
    }).then((r) => {
      batchDone = true;
      return r;
    });
    await until(() => s.service.progress.batch.running === 1);
    const b = await unary(s.client, "GetInstance", { name: "b" });
    expect(b.ok).toBe(true);
    expect(batchDone).toBe(false);
    expect(s.registry.get("a").instance.cgroupCount).toBeLessThan(201);
    const late = unary(s.client, "CreateCgroup", { instance: "a", path: "/late" });
    const readA = await unary(s.client, "ListCgroups", { instance: "a" });
    expect(readA.ok).toBe(true);
    expect(((readA.response as Obj).cgroups as Obj[]).length).toBeGreaterThanOrEqual(201);
    const out = await batch;
    expect(out.ok).toBe(true);
    expect(out.response?.executedCount).toBe(200);
    expect((await late).ok).toBe(true);
    // the late command is the last journaled one
    const doc = s.service.exportInstance("a") as unknown as { commands: { path?: string }[] };
    expect(doc.commands.at(-1)?.path).toBe("/late");
    expect(doc.commands).toHaveLength(201);
  });

  it("REST: an allocObjects of 200,000 objects runs in parts; /healthz and a read of b answer between them, a read of a waits for it", async () => {
    const s = await start();
    for (const name of ["a", "b"])
      expect(
        (await s.app.inject({ method: "POST", url: "/v1/instances", payload: { name } })).statusCode,
      ).toBe(201);
    const setup = [
      { op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { account: true } },
      { op: "createCgroup", path: "/w" },
    ];
    for (const name of ["a", "b"])
      expect(
        (
          await s.app.inject({
            method: "POST",
            url: `/v1/instances/${name}/batch`,
            payload: { commands: setup },
          })
        ).statusCode,
      ).toBe(200);
    const body = { cache: "dentry", cgroup: "/w", count: 200_000 };
    let allocDone = false;
    const alloc = s.app
      .inject({ method: "POST", url: "/v1/instances/a/objects/alloc", payload: body })
      .then((r) => {
        allocDone = true;
        return r;
      });
    const progress = s.service.progress.command;
    await until(() => progress.running === 1 && progress.slices > 0);
    const health = await s.app.inject({ method: "GET", url: "/healthz" });
    const readB = await s.app.inject({ method: "GET", url: "/v1/instances/b/caches/dentry" });
    expect(allocDone).toBe(false);
    expect(health.statusCode).toBe(200);
    expect(readB.json().activeObjectCount).toBe(0);
    // part of the objects are allocated, the command is not journaled yet
    const live = s.registry.get("a").instance.slab.liveObjects;
    expect(live).toBeGreaterThan(0);
    expect(live).toBeLessThan(200_000);
    // a read of a waits for the whole command
    const readA = await s.app.inject({ method: "GET", url: "/v1/instances/a/caches/dentry" });
    expect(readA.json().activeObjectCount).toBe(200_000);
    const done = await alloc;
    expect(done.statusCode).toBe(200);
    // the same answer as the whole command on b (run whole: the service is bypassed)
    const whole = s.registry.execute("b", { op: "allocObjects", ...body });
    expect(done.json()).toEqual(whole);
    // 200,000 objects in parts of 4,096 objects (49 parts), the budget (sliceMs 0) spent before
    // each: a turn before every part
    expect(progress.slices).toBe(49);
    expect(progress.running).toBe(0);
    const doc = s.service.exportInstance("a") as unknown as { commands: { op: string; count?: number }[] };
    expect(doc.commands.at(-1)).toMatchObject({ op: "allocObjects", count: 200_000 });
    expect(doc.commands).toHaveLength(3);

    // a free of 150,000 of them in random order runs in parts too, and answers as the whole command
    const free = { cache: "dentry", cgroup: "/w", count: 150_000, order: "random" as const };
    const slicesBefore = progress.slices;
    const freed = await s.app.inject({ method: "POST", url: "/v1/instances/a/objects/free", payload: free });
    expect(freed.statusCode).toBe(200);
    expect(freed.json()).toEqual(s.registry.execute("b", { op: "freeObjects", ...free }));
    // the random pick's 150,000 swaps in parts of 4,096 (37), then the 150,000 frees (37): a turn
    // before each part
    expect(progress.slices - slicesBefore).toBe(74);
    expect(s.registry.get("a").instance.slab.liveObjects).toBe(50_000);
  });

  it("gRPC: AllocObjects of 100,000 objects runs in parts; GetInstance b answers meanwhile; the answer is the whole command's", async () => {
    const s = await start();
    s.registry.create("a");
    s.registry.create("b");
    for (const name of ["a", "b"]) {
      s.registry.execute(name, {
        op: "createCache",
        name: "dentry",
        objectSizeBytes: 192,
        flags: { account: true },
      });
      s.registry.execute(name, { op: "createCgroup", path: "/w" });
    }
    let allocDone = false;
    const alloc = unary(s.client, "AllocObjects", {
      instance: "a",
      cache: "dentry",
      cgroup: "/w",
      count: 100_000,
    }).then((r) => {
      allocDone = true;
      return r;
    });
    const progress = s.service.progress.command;
    await until(() => progress.running === 1 && progress.slices > 0);
    const b = await unary(s.client, "GetInstance", { name: "b" });
    expect(b.ok).toBe(true);
    expect(allocDone).toBe(false);
    const out = await alloc;
    expect(out.ok).toBe(true);
    const whole = await unary(s.client, "AllocObjects", {
      instance: "b",
      cache: "dentry",
      cgroup: "/w",
      count: 100_000,
    });
    expect(out.response).toEqual(whole.response);
    expect(s.registry.get("a").instance.slab.liveObjects).toBe(100_000);
  });

  it("REST: a client that goes away stops /v1/compare at the next slice boundary; gRPC: a cancelled Compare too", async () => {
    const s = await start();
    // the slices of the whole comparison, run to its end
    const p = s.service.progress.compare;
    const full = await s.service.compare(compareBody, { maxCommands: 1_000_000 });
    const total = p.slices;
    const commands = full.runs.reduce((n, r) => n + r.commandCount, 0);
    expect(total).toBe(commands); // one command per slice (sliceMs 0)
    expect(p.running).toBe(0);

    // REST: the client goes away once the comparison has run a slice
    const before = p.slices;
    const req = request({
      host: "127.0.0.1",
      port: s.port,
      method: "POST",
      path: "/v1/compare",
      headers: { "content-type": "application/json" },
    });
    req.on("error", () => {});
    req.end(JSON.stringify(compareBody));
    await until(() => p.running === 1 && p.slices > before);
    req.destroy();
    await until(() => p.running === 0);
    const restSlices = p.slices - before;
    expect(restSlices).toBeGreaterThan(0);
    expect(restSlices).toBeLessThan(total);

    // gRPC: the call is cancelled once the comparison has run a slice
    const before2 = p.slices;
    const m = methods.Compare;
    const call = s.client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize as (b: Buffer) => Obj,
      { scenarioJson: JSON.stringify(compareBody.scenario), models: compareBody.models },
      () => {},
    );
    await until(() => p.running === 1 && p.slices > before2);
    call.cancel();
    await until(() => p.running === 0);
    const grpcSlices = p.slices - before2;
    expect(grpcSlices).toBeGreaterThan(0);
    expect(grpcSlices).toBeLessThan(total);

    // the server goes on
    expect((await s.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });

  it("a sliced comparison answers byte for byte what one slice gives", async () => {
    const s = await start();
    const sliced = await s.service.compare(compareBody, { maxCommands: 1_000_000 });
    const whole = new Service({ registry: new Registry(), slice: { sliceMs: Number.POSITIVE_INFINITY } });
    const one = await whole.compare(compareBody, { maxCommands: 1_000_000 });
    expect(whole.progress.compare.slices).toBe(0);
    expect(JSON.stringify(sliced)).toBe(JSON.stringify(one));
    whole.close();
  });
});

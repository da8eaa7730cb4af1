import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { SimEvent } from "../../src/engine/index.js";
import { STREAM_END_TRAILER } from "../../src/grpc/watch.js";
import { DEFAULT_SERVER_LIMITS, Registry } from "../../src/registry.js";
import { type FollowEnd, Service } from "../../src/service/index.js";
import { type Obj, startTestServer, type TestServer } from "../grpc/helpers.js";
import { build } from "../rest/helpers.js";

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const microtasks = () => new Promise<void>((r) => setImmediate(r));

function setup(limits = {}) {
  const registry = new Registry({ ...DEFAULT_SERVER_LIMITS, ...limits });
  const service = new Service({ registry });
  registry.create("f");
  const emitHigh = (n: number) => {
    const sim = registry.get("f").instance;
    for (let i = 0; i < n; i++) sim.events.emit(sim.clockMs, "high", { cgroup: "/" });
  };
  return { registry, service, emitHigh };
}

/** A sink that records what it was given and pushes back after `room` events until resumed. */
function recorder(room = Number.POSITIVE_INFINITY) {
  const got: (number | string)[] = [];
  const ends: FollowEnd[] = [];
  let left = room;
  return {
    got,
    ends,
    refill(n: number) {
      left = n;
    },
    sink: {
      event(e: SimEvent) {
        got.push(e.seq);
        return --left > 0;
      },
      reset(nextSeq: number) {
        got.push(`reset ${nextSeq}`);
        return true;
      },
      end(reason: FollowEnd) {
        ends.push(reason);
      },
    },
  };
}

describe("the event-log follower (src/service/follower.ts)", () => {
  it("delivers after the command, not inside it", async () => {
    const { registry, service } = setup();
    const r = recorder();
    service.follow("f", 0, r.sink).start();
    registry.execute("f", { op: "createCgroup", path: "/a" });
    expect(r.got).toEqual([]);
    await microtasks();
    expect(r.got).toEqual([1]);
  });

  it("on reset, delivers every event of the old log it owes first, even after back-pressure, then follows the new log", async () => {
    const { registry, service, emitHigh } = setup();
    const r = recorder(3);
    const f = service.follow("f", 0, r.sink);
    f.start();
    emitHigh(10);
    await microtasks();
    expect(r.got).toEqual([1, 2, 3]);
    registry.reset("f");
    registry.execute("f", { op: "createCgroup", path: "/z" });
    await microtasks();
    expect(r.got).toEqual([1, 2, 3]);
    r.refill(Number.POSITIVE_INFINITY);
    f.resume();
    await microtasks();
    expect(r.got).toEqual([...range(1, 10), "reset 1", 1]);
  });

  it("on delete, drains the old log, then ends `deleted` (INSTANCE_NOT_FOUND) and frees the watcher slot", async () => {
    const { registry, service, emitHigh } = setup({ maxWatchers: 1 });
    const r = recorder();
    service.follow("f", 0, r.sink).start();
    expect(registry.watcherCount).toBe(1);
    emitHigh(2);
    registry.delete("f");
    await microtasks();
    expect(r.got).toEqual([1, 2]);
    expect(r.ends.map((e) => e.kind)).toEqual(["deleted"]);
    expect((r.ends[0] as { error: { code: string } }).error.code).toBe("INSTANCE_NOT_FOUND");
    expect(registry.watcherCount).toBe(0);
  });

  it("a transport that throws ends its follow, never the command", async () => {
    const { registry, service } = setup();
    const ends: FollowEnd[] = [];
    service
      .follow("f", 0, {
        event: () => {
          throw new Error("transport bug");
        },
        reset: () => true,
        end: (reason) => ends.push(reason),
      })
      .start();
    expect(registry.execute("f", { op: "createCgroup", path: "/a" })).toBeDefined();
    await microtasks();
    expect(ends.map((e) => e.kind)).toEqual(["failed"]);
    expect(registry.watcherCount).toBe(0);
  });

  it("refuses an unknown instance, then a full watcher table, before taking a slot", () => {
    const { registry, service } = setup({ maxWatchers: 1 });
    expect(() => service.follow("nope", 0, recorder().sink)).toThrow(/not found/);
    expect(registry.watcherCount).toBe(0);
    service.follow("f", 0, recorder().sink);
    expect(() => service.follow("f", 0, recorder().sink)).toThrow(/watcher limit 1/);
  });
});

describe("reset over both transports (docs/API.md §8, §10)", () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("gRPC WatchEvents: a paused reader gets every event of the old log, then the stream ends OK with the reset trailer", async () => {
    t = await startTestServer();
    await t.rpc("CreateInstance", { name: "w" });
    const stream = t.watch({ instance: "w", sinceSeq: 1 });
    const seqs: number[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => {
      let s: grpc.StatusObject | undefined;
      let ended = false;
      stream.on("data", (m: Obj) => seqs.push((m.event as Obj).seq as number));
      stream.on("error", () => {});
      stream.on("end", () => {
        ended = true;
        if (s !== undefined) resolve(s);
      });
      stream.on("status", (x: grpc.StatusObject) => {
        s = x;
        if (ended) resolve(x);
      });
    });
    stream.pause();
    await new Promise((r) => setTimeout(r, 50));
    // far above the stream's flow-control window, so the server is paused when the reset comes
    const sim = t.registry.get("w").instance;
    for (let i = 0; i < 5000; i++) sim.events.emit(sim.clockMs, "high", { cgroup: "/" });
    await new Promise((r) => setTimeout(r, 50));
    await t.rpc("ResetInstance", { name: "w" });
    stream.resume();
    const s = await status;
    expect(s.code).toBe(grpc.status.OK);
    expect(s.metadata.get(STREAM_END_TRAILER)).toEqual(["instance-reset"]);
    expect(seqs).toEqual(range(1, 5000));
  });

  it("SSE: every event of the old log, then `event: reset`, then the new log", async () => {
    const b = await build();
    await b.app.listen({ host: "127.0.0.1", port: 0 });
    const base = `http://127.0.0.1:${(b.app.server.address() as AddressInfo).port}`;
    await b.call("POST", "/v1/instances", { name: "s" });
    const res = await fetch(`${base}/v1/instances/s/events`, { headers: { accept: "text/event-stream" } });
    await new Promise((r) => setTimeout(r, 50));
    // events and the reset in one turn: the follower delivers after, in order
    const sim = b.registry.get("s").instance;
    for (let i = 0; i < 3; i++) sim.events.emit(sim.clockMs, "high", { cgroup: "/" });
    b.registry.reset("s");
    await b.call("POST", "/v1/instances/s/cgroups", { path: "/n" });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const deadline = Date.now() + 3000;
    while (!text.includes('"/n"') && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    const frames = text
      .split("\n\n")
      .filter((f) => f !== "" && !f.startsWith("retry:"))
      .map((f) => (f.startsWith("id: ") ? `id ${f.split("\n")[0].slice(4)}` : f.split("\n")[0]));
    expect(frames).toEqual(["id 1", "id 2", "id 3", "event: reset", "id 1"]);
  });
});

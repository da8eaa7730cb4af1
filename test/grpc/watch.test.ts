import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { ERROR_CODE_TRAILER } from "../../src/grpc/errors.js";
import { STREAM_END_TRAILER } from "../../src/grpc/watch.js";
import { type Obj, startTestServer, type TestServer } from "./helpers.js";

interface StreamEnd {
  seqs: number[];
  events: Obj[];
  status: grpc.StatusObject;
  errorCode: string | undefined;
}

/**
 * Reads a WatchEvents stream until it ends (or `stopAfter` events arrived, then cancels). grpc-js
 * reports the status as soon as it arrives, possibly before the reader consumed the messages
 * still buffered, so the outcome is known once both the status and the end of data are seen.
 */
function drain(
  stream: grpc.ClientReadableStream<Obj>,
  stopAfter = Number.POSITIVE_INFINITY,
): Promise<StreamEnd> {
  const events: Obj[] = [];
  let status: grpc.StatusObject | undefined;
  let ended = false;
  return new Promise((resolve) => {
    const settle = () => {
      if (status === undefined || !ended) return;
      const code = status.metadata.get(ERROR_CODE_TRAILER)[0];
      resolve({
        seqs: events.map((e) => e.seq as number),
        events,
        status,
        errorCode: code === undefined ? undefined : String(code),
      });
    };
    stream.on("data", (m: Obj) => {
      events.push(m.event as Obj);
      if (events.length === stopAfter) stream.cancel();
    });
    stream.on("error", () => {}); // the status carries the outcome
    stream.on("end", () => {
      ended = true;
      settle();
    });
    stream.on("status", (s: grpc.StatusObject) => {
      status = s;
      settle();
    });
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const tick = () => new Promise((r) => setImmediate(r));

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function withInstance(limits = {}) {
  t = await startTestServer(limits);
  await t.rpc("CreateInstance", { name: "w" });
  const emitHigh = (n: number) => {
    const sim = t!.registry.get("w").instance;
    for (let i = 0; i < n; i++) sim.events.emit(sim.clockMs, "high", { cgroup: "/" });
  };
  return { t, emitHigh };
}

describe("WatchEvents", () => {
  it("replays from since_seq, then streams new events as they happen", async () => {
    const { t } = await withInstance();
    for (const p of ["/a", "/b", "/c"]) await t.rpc("CreateCgroup", { instance: "w", path: p });
    const ended = drain(t.watch({ instance: "w", sinceSeq: 2 }), 3);
    await new Promise((r) => setTimeout(r, 50));
    await t.rpc("CreateCgroup", { instance: "w", path: "/d" });
    const end = await ended;
    expect(end.seqs).toEqual([2, 3, 4]);
    expect(end.events.map((e) => e.cgroup)).toEqual(["/b", "/c", "/d"]);
    expect(end.events[2]).toMatchObject({ type: "cgroup_created", clockMs: 0 });
    expect(end.status.code).toBe(grpc.status.CANCELLED);
  });

  it("resumes where a previous watch stopped, without repeats or holes", async () => {
    const { t, emitHigh } = await withInstance();
    emitHigh(10);
    const first = await drain(t.watch({ instance: "w", sinceSeq: 0 }), 4);
    expect(first.seqs).toEqual([1, 2, 3, 4]);
    const next = await drain(t.watch({ instance: "w", sinceSeq: first.seqs.at(-1)! + 1 }), 6);
    expect(next.seqs).toEqual(range(5, 10));
  });

  it("delivers a burst far above the stream's buffer in order, exactly once (pause on write() false, catch up on drain)", async () => {
    const { t, emitHigh } = await withInstance();
    const ended = drain(t.watch({ instance: "w", sinceSeq: 1 }), 5000);
    await new Promise((r) => setTimeout(r, 50));
    emitHigh(5000);
    expect((await ended).seqs).toEqual(range(1, 5000));
  });

  it("closes a reader that fell behind the event log with LIMIT_EXCEEDED, and its resumed watch starts at the oldest kept event", async () => {
    const { t, emitHigh } = await withInstance({ maxWatchers: 1 });
    const stream = t.watch({ instance: "w", sinceSeq: 1 });
    const ended = drain(stream);
    stream.pause();
    await new Promise((r) => setTimeout(r, 50));
    // more than the log keeps (10 000), spread over ticks so flow control pushes back meanwhile
    for (let i = 0; i < 25; i++) {
      emitHigh(1000);
      await tick();
    }
    stream.resume();
    const end = await ended;
    expect(end.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.errorCode).toBe("LIMIT_EXCEEDED");
    const firstLost = Number(/events from seq (\d+) were evicted/.exec(end.status.details)?.[1]);
    expect(firstLost).toBeLessThan(25_000 - 10_000);
    // detected the moment the ring evicts the first unsent event, not later
    expect(end.status.details).toContain(`(the oldest kept is ${firstLost + 1})`);
    // what the reader got is a gap-free prefix (grpc-js may drop messages not yet read at the error)
    const last = end.seqs.at(-1) ?? 0;
    expect(end.seqs).toEqual(range(1, last));
    expect(last).toBeLessThan(firstLost);
    // the slot is free again, and the resumed watch starts at the oldest kept event
    const again = await drain(t.watch({ instance: "w", sinceSeq: last + 1 }), 1);
    expect(again.seqs).toEqual([15_001]);
  });

  it("caps concurrent watchers with RESOURCE_EXHAUSTED / LIMIT_EXCEEDED and frees the slot on cancel", async () => {
    const { t } = await withInstance({ maxWatchers: 1 });
    const first = t.watch({ instance: "w", sinceSeq: 0 });
    const firstEnd = drain(first);
    await new Promise((r) => setTimeout(r, 50));
    const refused = await drain(t.watch({ instance: "w", sinceSeq: 0 }));
    expect(refused.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.errorCode).toBe("LIMIT_EXCEEDED");
    expect(refused.status.details).toBe("watcher limit 1 reached");
    first.cancel();
    await firstEnd;
    await new Promise((r) => setTimeout(r, 50));
    const ok = drain(t.watch({ instance: "w", sinceSeq: 0 }), 1);
    await t.rpc("CreateCgroup", { instance: "w", path: "/after" });
    expect((await ok).seqs).toEqual([1]);
  });

  it("answers NOT_FOUND for a missing instance and INVALID_ARGUMENT for a negative since_seq", async () => {
    const { t } = await withInstance();
    const missing = await drain(t.watch({ instance: "nope", sinceSeq: 0 }));
    expect(missing.status.code).toBe(grpc.status.NOT_FOUND);
    expect(missing.errorCode).toBe("INSTANCE_NOT_FOUND");
    const negative = await drain(t.watch({ instance: "w", sinceSeq: -1 }));
    expect(negative.status.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("ends OK with a stream-end trailer on reset, and NOT_FOUND on delete", async () => {
    const { t } = await withInstance();
    const reset = drain(t.watch({ instance: "w", sinceSeq: 0 }));
    await new Promise((r) => setTimeout(r, 50));
    await t.rpc("ResetInstance", { name: "w" });
    const r = await reset;
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.status.metadata.get(STREAM_END_TRAILER)).toEqual(["instance-reset"]);

    const deleted = drain(t.watch({ instance: "w", sinceSeq: 0 }));
    await new Promise((r) => setTimeout(r, 50));
    await t.rpc("DeleteInstance", { name: "w" });
    const d = await deleted;
    expect(d.status.code).toBe(grpc.status.NOT_FOUND);
    expect(d.errorCode).toBe("INSTANCE_NOT_FOUND");
  });

  it("ends open streams with UNAVAILABLE / NOT_READY when the server closes", async () => {
    const { t } = await withInstance();
    const open = drain(t.watch({ instance: "w", sinceSeq: 0 }));
    await new Promise((r) => setTimeout(r, 50));
    await t.server.close();
    const end = await open;
    expect(end.status.code).toBe(grpc.status.UNAVAILABLE);
    expect(end.errorCode).toBe("NOT_READY");
  });
});

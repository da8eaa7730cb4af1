import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { build, expectProblem, json } from "./helpers.js";

/** Reads SSE frames from a fetch body until `until` holds or the deadline passes (bounded). */
async function readFrames(
  res: Response,
  until: (frames: string[]) => boolean,
  deadlineMs = 5000,
): Promise<string[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const frames: string[] = [];
  const deadline = Date.now() + deadlineMs;
  while (!until(frames) && Date.now() < deadline) {
    const timeout = new Promise<{ done: true; value: undefined }>((r) =>
      setTimeout(() => r({ done: true, value: undefined }), deadline - Date.now()),
    );
    const { done, value } = await Promise.race([reader.read(), timeout]);
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      frames.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
  }
  await reader.cancel();
  return frames;
}

const ids = (frames: string[]) =>
  frames.filter((f) => f.startsWith("id: ")).map((f) => Number(f.split("\n")[0].slice(4)));

async function listening(opts: Parameters<typeof build>[0] = {}) {
  const b = await build(opts);
  await b.app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(b.app.server.address() as AddressInfo).port}`;
  return { ...b, base };
}

describe("events (docs/API.md §8)", () => {
  it("pages the log as JSON with nextSeq", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t" });
    for (const p of ["/a", "/b", "/c"]) await call("POST", "/v1/instances/t/cgroups", { path: p });
    const all = json(await call("GET", "/v1/instances/t/events"));
    expect(all).toEqual({
      events: [
        { seq: 1, clockMs: 0, type: "cgroup_created", cgroup: "/a" },
        { seq: 2, clockMs: 0, type: "cgroup_created", cgroup: "/b" },
        { seq: 3, clockMs: 0, type: "cgroup_created", cgroup: "/c" },
      ],
      nextSeq: 4,
    });
    expect(json(await call("GET", "/v1/instances/t/events?sinceSeq=2&limit=1"))).toEqual({
      events: [{ seq: 2, clockMs: 0, type: "cgroup_created", cgroup: "/b" }],
      nextSeq: 3,
    });
    expect(json(await call("GET", "/v1/instances/t/events?sinceSeq=9"))).toEqual({ events: [], nextSeq: 4 });
    expectProblem(await call("GET", "/v1/instances/t/events?limit=0"), 400, "INVALID_ARGUMENT");
    expectProblem(await call("GET", "/v1/instances/t/events?bogus=1"), 400, "INVALID_ARGUMENT");
    expectProblem(await call("GET", "/v1/instances/zz/events"), 404, "INSTANCE_NOT_FOUND");
  });

  it("streams SSE with id = seq, follows new events and resumes after Last-Event-ID", async () => {
    const { call, base } = await listening({ sseHeartbeatMs: 50 });
    await call("POST", "/v1/instances", { name: "t" });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    await call("POST", "/v1/instances/t/cgroups", { path: "/b" });

    const res = await fetch(`${base}/v1/instances/t/events`, { headers: { accept: "text/event-stream" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    // a new event after the replay arrives on the open stream
    setTimeout(() => void call("POST", "/v1/instances/t/cgroups", { path: "/c" }), 100);
    const frames = await readFrames(res, (f) => ids(f).includes(3) && f.some((x) => x === ": heartbeat"));
    expect(ids(frames)).toEqual([1, 2, 3]);
    const third = frames.find((f) => f.startsWith("id: 3\n"))!;
    expect(JSON.parse(third.split("\n")[1].slice(6))).toEqual({
      seq: 3,
      clockMs: 0,
      type: "cgroup_created",
      cgroup: "/c",
    });

    // a reconnecting EventSource sends the last id it saw: the stream resumes after it
    const again = await fetch(`${base}/v1/instances/t/events?sinceSeq=1`, {
      headers: { accept: "text/event-stream", "last-event-id": "2" },
    });
    expect(ids(await readFrames(again, (f) => ids(f).length >= 1, 1000))).toEqual([3]);
    const fromQuery = await fetch(`${base}/v1/instances/t/events?sinceSeq=2`, {
      headers: { accept: "text/event-stream" },
    });
    expect(ids(await readFrames(fromQuery, (f) => ids(f).length >= 2, 1000))).toEqual([2, 3]);
  });

  it("announces a reset and follows the new log; ends the stream when the instance is deleted", async () => {
    const { call, base } = await listening();
    await call("POST", "/v1/instances", { name: "t" });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    const res = await fetch(`${base}/v1/instances/t/events`, { headers: { accept: "text/event-stream" } });
    setTimeout(async () => {
      await call("POST", "/v1/instances/t/reset");
      await call("POST", "/v1/instances/t/cgroups", { path: "/z" });
      await call("DELETE", "/v1/instances/t");
    }, 100);
    const frames = await readFrames(res, () => false, 3000);
    expect(frames.filter((f) => !f.startsWith("retry:"))).toEqual([
      `id: 1\ndata: ${JSON.stringify({ seq: 1, clockMs: 0, type: "cgroup_created", cgroup: "/a" })}`,
      `event: reset\ndata: {"nextSeq":1}`,
      `id: 1\ndata: ${JSON.stringify({ seq: 1, clockMs: 0, type: "cgroup_created", cgroup: "/z" })}`,
    ]);
  });

  it("caps watchers at the server limit with 429 and ends streams on close", async () => {
    const { app, call, base } = await listening({ limits: { maxWatchers: 1 } });
    await call("POST", "/v1/instances", { name: "t" });
    const first = await fetch(`${base}/v1/instances/t/events`, { headers: { accept: "text/event-stream" } });
    expect(first.status).toBe(200);
    const second = await fetch(`${base}/v1/instances/t/events`, { headers: { accept: "text/event-stream" } });
    expect(second.status).toBe(429);
    expect(((await second.json()) as { code: string }).code).toBe("LIMIT_EXCEEDED");
    expectProblem(
      await call("GET", "/v1/instances/zz/events", undefined, { accept: "text/event-stream" }),
      404,
      "INSTANCE_NOT_FOUND",
    );
    const reading = readFrames(first, () => false, 5000);
    const t0 = Date.now();
    await app.close();
    await reading;
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODE_TRAILER } from "../../src/grpc/errors.js";
import { findProtoRoot, SIMULATOR_PROTO } from "../../src/grpc/proto.js";
import { startTestServer, type TestServer } from "../grpc/helpers.js";

/** gRPC `Replay`: the mkdir-2000 trace sent as a client stream of 16 KiB chunks. */
const gz = readFileSync(join(import.meta.dirname, "fixtures", "mkdir-2000", "trace.txt.gz"));
const CG = "/parent/mkdir-2000-0";
const methods = protoLoader.loadSync(SIMULATOR_PROTO, {
  keepCase: false,
  longs: Number,
  defaults: true,
  includeDirs: [findProtoRoot()],
})["memcg_sim.v1.SimulatorService"] as grpc.ServiceDefinition;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.rpc("CreateInstance", { name: "g", config: { model: "v5.9", cgroupVersion: 1, cpuCount: 1 } });
  await t.rpc("CreateCgroup", { instance: "g", path: "/parent" });
  await t.rpc("CreateCgroup", { instance: "g", path: CG });
});
afterAll(async () => {
  await t.close();
});

function replay(messages: Record<string, unknown>[]): Promise<{ summaryJson: string }> {
  return new Promise((resolve, reject) => {
    const m = methods.Replay;
    const call = t.client.makeClientStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize as (b: Buffer) => { summaryJson: string },
      (err, res) => (err ? reject(err) : resolve(res as { summaryJson: string })),
    );
    for (const msg of messages) call.write(msg);
    call.end();
  });
}

describe("gRPC Replay", () => {
  it("replays the stream into the instance: the same summary as REST (Δkmem 1921024)", async () => {
    const chunks = [];
    for (let i = 0; i < gz.length; i += 16384) chunks.push({ data: gz.subarray(i, i + 16384) });
    const res = await replay([{ instance: "g", pidCgroup: [`11431=${CG}`], gzip: true }, ...chunks]);
    const summary = JSON.parse(res.summaryJson);
    expect(summary.cgroups[CG].predicted["memory.kmem.usage_in_bytes"]).toBe(1921024);
    expect(summary.lines).toEqual({ parsed: 11045, used: 11045, skipped: {} });
    const f = await t.rpc("ReadFile", { instance: "g", cgroup: CG, file: "memory.kmem.usage_in_bytes" });
    expect(String(f.value).trim()).toBe("1921024");
  });

  it("errors carry the catalogue code: unknown instance, no pid map, not gzip", async () => {
    const code = async (messages: Record<string, unknown>[]) => {
      try {
        await replay(messages);
        throw new Error("succeeded");
      } catch (e) {
        const err = e as grpc.ServiceError;
        return [err.code, String(err.metadata.get(ERROR_CODE_TRAILER)[0]), err.details];
      }
    };
    expect(await code([{ instance: "nope", pidCgroup: [`1=${CG}`], data: gz }])).toEqual([
      grpc.status.NOT_FOUND,
      "INSTANCE_NOT_FOUND",
      "instance nope not found",
    ]);
    const [c1, e1] = await code([{ instance: "g", data: gz }]);
    expect([c1, e1]).toEqual([grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT"]);
    expect(
      await code([
        { instance: "g", pidCgroup: [`11431=${CG}`], gzip: true, data: Buffer.from("plain text\n") },
      ]),
    ).toEqual([
      grpc.status.INVALID_ARGUMENT,
      "INVALID_ARGUMENT",
      "the trace is not gzip data: byte 0 is 0x70, gzip starts with 0x1f 0x8b",
    ]);
  });
});

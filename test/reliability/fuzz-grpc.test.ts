import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkInvariants } from "../../src/engine/invariants.js";
import { methods, type Obj, startBoth, unary } from "./helpers.js";

/**
 * gRPC with malformed messages: raw bytes on the wire (a custom serializer), valid messages of
 * another method's type (wrong field types on the wire), hostile values and huge repeated fields.
 * No INTERNAL/UNKNOWN status, the server keeps answering, invariants hold. FUZZ_SEED reproduces.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.FUZZ_GRPC_RUNS ?? 1200);
const UNARY = Object.entries(methods)
  .filter(([, m]) => !m.responseStream)
  .map(([name]) => name);

const HOSTILE: unknown[] = [
  "",
  "fz",
  "\u0000",
  "x".repeat(50_000),
  -1,
  0,
  2 ** 53,
  1e308,
  -0,
  true,
  null,
  [],
  {},
];

const callArb = fc.record({
  method: fc.constantFrom(...UNARY),
  kind: fc.nat(99),
  bytes: fc.uint8Array({ maxLength: 300 }),
  other: fc.constantFrom(...UNARY),
  field: fc.constantFrom(
    "instance",
    "name",
    "path",
    "cgroup",
    "cache",
    "pid",
    "count",
    "bytes",
    "ms",
    "file",
    "value",
    "sinceSeq",
    "limit",
    "documentJson",
    "config",
    "commands",
    "objectIds",
    "kind",
    "order",
    "gfp",
  ),
  hostile: fc.constantFrom(...HOSTILE),
});

describe("gRPC fuzz with malformed messages", () => {
  it(`never answers INTERNAL or UNKNOWN and stays up (seed ${SEED})`, async () => {
    const s = await startBoth({
      limits: {
        maxCountPerCommand: 2000,
        maxLiveObjects: 50_000,
        maxPagesPerInstance: 16384,
        maxBatchCommands: 200_000,
      },
    });
    await s.call("POST", "/v1/instances", {
      name: "fz",
      config: { model: "v5.9", memoryBytes: 32 * 1024 * 1024 },
    });
    await s.call("POST", "/v1/instances/fz/cgroups", { path: "/a" });
    await s.call("POST", "/v1/instances/fz/caches", {
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true },
    });
    await s.call("POST", "/v1/instances/fz/tasks", { cgroup: "/a", pid: 100 });
    const failures: string[] = [];
    const codes = new Map<string, number>();
    const raw = (b: Buffer) => b;
    await fc
      .assert(
        fc.asyncProperty(callArb, async (c) => {
          let o: Awaited<ReturnType<typeof unary>>;
          if (c.kind < 35) {
            // raw bytes on the wire: whatever protobuf makes of them
            o = await unary(
              s.client,
              c.method,
              Buffer.from(c.bytes) as unknown as Obj,
              undefined,
              raw as never,
            );
          } else if (c.kind < 55) {
            // a valid message of another method's type: fields of other wire types at the same numbers
            const other = methods[c.other];
            let bytes: Buffer;
            try {
              bytes = other.requestSerialize({
                instance: "fz",
                [c.field]: typeof c.hostile === "string" ? c.hostile : "x",
                name: "fz",
                cgroup: "/a",
                pid: 100,
                count: 3,
                bytes: 4096,
                cache: "dentry",
              } as never);
            } catch {
              return true; // the client could not encode it: nothing was sent
            }
            o = await unary(s.client, c.method, bytes as unknown as Obj, undefined, raw as never);
          } else {
            // a hostile value in one field (the client's serializer coerces or drops what it can)
            const req: Obj = {
              instance: "fz",
              name: "fz",
              cgroup: "/a",
              path: "/a",
              cache: "dentry",
              pid: 100,
              count: 2,
              bytes: 4096,
              kind: "anon",
              [c.field]: c.hostile,
            };
            try {
              o = await unary(s.client, c.method, req);
            } catch {
              return true; // the client refused to serialize it: nothing was sent
            }
          }
          // grpc-js reports a request its own client could not encode as INTERNAL, without sending anything
          if (o.details.startsWith("Request message serialization failure")) return true;
          const name = grpc.status[o.code];
          codes.set(name, (codes.get(name) ?? 0) + 1);
          if (
            o.code === grpc.status.INTERNAL ||
            o.code === grpc.status.UNKNOWN ||
            o.code === grpc.status.UNAVAILABLE
          )
            failures.push(`${c.method} kind ${c.kind}: ${name} ${o.details}`);
          return failures.length === 0;
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      )
      .catch((err) => {
        throw new Error(
          `gRPC fuzz failed (reproduce with FUZZ_SEED=${SEED}): ${failures.slice(0, 5).join("\n")}\n${String((err as Error).message).slice(0, 3000)}`,
        );
      });
    // huge repeated fields (a few, they are slow to build): answered, not INTERNAL
    if (!s.registry.list().some((e) => e.name === "fz"))
      await s.call("POST", "/v1/instances", { name: "fz" });
    for (const o of [
      await unary(s.client, "ExecuteBatch", {
        instance: "fz",
        commands: Array.from({ length: 100_000 }, () => ({ advanceClock: { ms: 1 } })),
      }),
      await unary(s.client, "FreeObjects", {
        instance: "fz",
        objectIds: Array.from({ length: 1_000_000 }, (_, i) => i),
      }),
      await unary(s.client, "ExecuteBatch", {
        instance: "fz",
        commands: Array.from({ length: 300_000 }, () => ({ advanceClock: { ms: 1 } })),
      }),
    ]) {
      codes.set(grpc.status[o.code], (codes.get(grpc.status[o.code]) ?? 0) + 1);
      expect([grpc.status.OK, grpc.status.RESOURCE_EXHAUSTED, grpc.status.INVALID_ARGUMENT]).toContain(
        o.code,
      );
    }
    if (process.env.FUZZ_VERBOSE) console.log(JSON.stringify(Object.fromEntries(codes)));
    expect(failures).toEqual([]);
    for (const e of s.registry.list()) expect(checkInvariants(e.instance), e.name).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await s.rpc("ListInstances", {})).ok).toBe(true);
    expect(codes.get("OK") ?? 0).toBeGreaterThan(50);
  }, 120_000);
});

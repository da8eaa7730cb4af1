import { describe, expect, it } from "vitest";
import { parseCommand } from "../../src/commands/schemas.js";
import type { Op } from "../../src/engine/index.js";
import { commandOf, withoutNulls } from "../../src/grpc/mappers.js";

/** What commandOf answered before its compiled check: the zod parse of every request. */
function viaZod(op: Op, request: Record<string, unknown>): unknown {
  const { instance: _i, ...fields } = withoutNulls(request);
  try {
    return parseCommand({ op, ...fields });
  } catch (err) {
    return { error: (err as Error).message, details: (err as { details?: unknown }).details };
  }
}
function viaCommandOf(op: Op, request: Record<string, unknown>): unknown {
  try {
    return commandOf(op, request);
  } catch (err) {
    return { error: (err as Error).message, details: (err as { details?: unknown }).details };
  }
}

// decoded requests as proto-loader gives them (defaults: true — unset messages null)
const CASES: [Op, Record<string, unknown>][] = [
  ["allocObjects", { instance: "a", cache: "dentry", pid: 7, count: 1 }],
  ["allocObjects", { instance: "a", cache: "dentry", pid: 7, count: 3, gfp: null }],
  ["allocObjects", { instance: "a", cache: "dentry", pid: 7, count: 0 }], // count below its minimum
  ["allocObjects", { instance: "a", cache: "bad name!", pid: 7, count: 1 }],
  ["allocObjects", { instance: "a", cache: "dentry", pid: -1, count: 1 }],
  ["allocObjects", { instance: "a", cache: "dentry", pid: 7, count: 1, bogus: 1 }],
  ["freeObjects", { instance: "a", cache: "dentry", pid: 7, count: 2 }],
  ["allocPages", { instance: "a", pid: 7, count: 4 }],
  ["createCgroup", { instance: "a", path: "/x" }],
  ["createCgroup", { instance: "a", path: "x" }],
  ["spawnTask", { instance: "a", cgroup: "/x" }],
  ["advanceClock", { instance: "a", ms: 1000 }],
];

describe("gRPC request → command: the compiled check answers as the zod parse does", () => {
  for (const [op, request] of CASES)
    it(`${op} ${JSON.stringify(request)}`, () => {
      expect(viaCommandOf(op, request)).toEqual(viaZod(op, request));
    });

  it("a valid AllocObjects is the command of its fields, in the request's order", () => {
    expect(commandOf("allocObjects", { instance: "a", cache: "dentry", pid: 7, count: 1 })).toStrictEqual({
      op: "allocObjects",
      cache: "dentry",
      pid: 7,
      count: 1,
    });
  });
});

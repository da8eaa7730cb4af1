import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Ajv2020 } from "ajv/dist/2020.js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { getCgroup } from "../../src/commands/queries.js";
import { findProtoRoot, SIMULATOR_PROTO } from "../../src/grpc/proto.js";
import { type GrpcServerHandle, startGrpcServer } from "../../src/grpc/server.js";
import { DEFAULT_SERVER_LIMITS, Registry } from "../../src/registry.js";
import { stringifyExact } from "../../src/rest/json.js";
import { openapiPath } from "../../src/rest/openapi-file.js";
import { build, json } from "../rest/helpers.js";

/**
 * Byte values above 2^53 − 1 read back identically over every interface (docs/API.md, Integers
 * above 2^53 − 1): REST JSON (exact decimal string), the openapi document's schema, gRPC int64,
 * cgroupfs text. Expected values come from the kernel's parsers, computed here with BigInt:
 * - memparse → simple_strtoull (lib/cmdline.c, lib/vsprintf.c) accumulates in an unsigned long
 *   long without an overflow check: the value wraps modulo 2^64;
 * - res_counter (rfc-2012, v3.8): res_counter_memparse_write_strategy (kernel/res_counter.c, 3.8)
 *   rounds UP to a page (PAGE_ALIGN), prints the bytes;
 * - page_counter (v4.5): page_counter_memparse (mm/page_counter.c, 4.5) divides by PAGE_SIZE
 *   (rounds DOWN) and caps at PAGE_COUNTER_MAX = LONG_MAX / PAGE_SIZE pages; v1 prints pages ×
 *   PAGE_SIZE, so the cap prints 9223372036854771712 and means unlimited (REST null, gRPC absent).
 */
const PAGE = 4096n;
const U64 = 2n ** 64n;
const PAGE_COUNTER_MAX = (2n ** 63n - 1n) / PAGE;
const memparse = (text: string) => BigInt(text) % U64;
const resCounter = (text: string) => ((memparse(text) + PAGE - 1n) / PAGE) * PAGE;
const pageCounter = (text: string) => {
  const pages = memparse(text) / PAGE;
  return pages >= PAGE_COUNTER_MAX ? null : pages * PAGE;
};

const WRITES = [
  "9223372036854771712", // 2^63 − 4096
  "1152921504606851072", // 2^60 + 4096
  "99999999999999999999999", // wraps to 200376420520689664 (issue #18)
];

const doc = parse(readFileSync(openapiPath(), "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: "openapi", components: { schemas: doc.components.schemas } });
const cgroupRef: string =
  doc.paths["/v1/instances/{name}/cgroups/{path}"].get.responses["200"].content["application/json"].schema
    .$ref;
const validateCgroup = ajv.getSchema(`openapi${cgroupRef}`)!;

describe("stringifyExact", () => {
  it("keeps safe integers as numbers and prints larger integers' exact digits as strings", () => {
    expect(stringifyExact({ a: 9007199254740991, b: 9007199254740992, c: Number(200376420520689664n), d: 1.5 })).toBe(
      '{"a":9007199254740991,"b":"9007199254740992","c":"200376420520689664","d":1.5}',
    );
    expect(JSON.stringify({ c: Number(200376420520689664n) })).toBe('{"c":200376420520689660}'); // why
    expect(stringifyExact({ x: "12345678901234567", y: [1e21] })).toBe(
      '{"x":"12345678901234567","y":["1000000000000000000000"]}',
    );
    expect(stringifyExact(null)).toBe("null");
  });
});

describe("64-bit limits over REST, openapi, gRPC, cgroupfs and /metrics", () => {
  const registry = new Registry(DEFAULT_SERVER_LIMITS);
  let server: GrpcServerHandle;
  let client: grpc.Client;
  // an ordinary client that keeps int64 exact: longs as String
  const def = protoLoader.loadSync(SIMULATOR_PROTO, {
    keepCase: false,
    longs: String,
    defaults: false,
    includeDirs: [findProtoRoot()],
  });
  const methods = def["memcg_sim.v1.SimulatorService"] as grpc.ServiceDefinition;
  const rpc = (method: string, request: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const m = methods[method]!;
      client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, (err, res) =>
        err ? reject(err) : resolve(res as Record<string, unknown>),
      );
    });

  beforeAll(async () => {
    server = await startGrpcServer({
      registry,
      host: "127.0.0.1",
      port: 0,
      logger: pino({ level: "silent" }),
    });
    client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  for (const [model, expected] of [
    ["rfc-2012", resCounter],
    ["v4.5", pageCounter],
  ] as const) {
    it(`${model}: memory.limit_in_bytes written over REST and gRPC reads back exactly everywhere`, async () => {
      const { call } = await build({ registry });
      const name = `big-${model.replace(".", "")}`;
      expect((await call("POST", "/v1/instances", { name, config: { model } })).statusCode).toBe(201);
      expect((await call("POST", `/v1/instances/${name}/cgroups`, { path: "/a" })).statusCode).toBe(201);
      let viaGrpc = false;
      for (const text of WRITES) {
        for (const _twice of [0, 1]) {
          // alternate the writer: REST PUT, then gRPC WriteFile, same answers
          if (viaGrpc)
            await rpc("WriteFile", {
              instance: name,
              cgroup: "/a",
              file: "memory.limit_in_bytes",
              value: text,
            });
          else {
            const w = await call("PUT", `/v1/instances/${name}/fs/a/memory.limit_in_bytes`, text, {
              "content-type": "text/plain",
            });
            expect(w.statusCode).toBe(204);
          }
          viaGrpc = !viaGrpc;
          const want = expected(text);
          const printed = (want ?? PAGE_COUNTER_MAX * PAGE).toString();
          // cgroupfs over REST and gRPC
          expect((await call("GET", `/v1/instances/${name}/fs/a/memory.limit_in_bytes`)).body).toBe(
            `${printed}\n`,
          );
          expect(
            await rpc("ReadFile", { instance: name, cgroup: "/a", file: "memory.limit_in_bytes" }),
          ).toEqual({
            value: `${printed}\n`,
          });
          // REST JSON: the exact digits as a string (every value here is above 2^53 − 1), or null
          const r = await call("GET", `/v1/instances/${name}/cgroups/a`);
          expect(r.statusCode).toBe(200);
          expect(json(r).memory.maxBytes).toBe(want === null ? null : want.toString());
          expect(r.body).toContain(want === null ? '"maxBytes":null' : `"maxBytes":"${want}"`);
          // the openapi document accepts the answer
          expect(validateCgroup(json(r)), ajv.errorsText(validateCgroup.errors)).toBe(true);
          // /metrics: the exact digits, no series while unlimited
          const m = (await call("GET", "/metrics")).body;
          const series = `memcg_sim_memory_max_bytes{simulation="${name}",cgroup="/a"}`;
          if (want === null) expect(m).not.toContain(series);
          else expect(m).toContain(`${series} ${want}\n`);
          // gRPC: int64 exact, absent when unlimited
          const g = (await rpc("GetCgroup", { instance: name, path: "/a" })) as {
            cgroup: { memory: Record<string, unknown> };
          };
          expect(g.cgroup.memory.maxBytes).toBe(want === null ? undefined : want.toString());
        }
      }
      expect(expected("99999999999999999999999")).toBe(
        model === "rfc-2012" ? 200376420520689664n : 200376420520685568n,
      );
    });
  }

  it("the openapi schema refuses the inexact number a plain JSON.stringify printed (the bug), accepts the exact form", () => {
    const view = getCgroup(registry, "big-rfc-2012", "/a");
    expect(view.memory.maxBytes).toBe(Number(200376420520689664n));
    expect(validateCgroup(JSON.parse(JSON.stringify(view)))).toBe(false);
    expect(ajv.errorsText(validateCgroup.errors)).toContain("maxBytes");
    expect(validateCgroup(JSON.parse(stringifyExact(view)))).toBe(true);
  });
});

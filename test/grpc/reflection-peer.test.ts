import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findProtoRoot, SIMULATOR_PROTO } from "../../src/grpc/proto.js";
import { startTestServer, type TestServer } from "./helpers.js";

const PYTHON = "/usr/bin/python3";
const CLIENT = join(import.meta.dirname, "py", "reflection_client.py");

/**
 * The reflection flow of a standard client (grpcurl, grpcio-reflection's descriptor database):
 * Python's DescriptorPool fed only by what the server's reflection answers. Debian has no
 * grpcio-reflection package, so test/grpc/py/reflection_client.py compiles the reflection proto
 * and implements the database itself (the same requests grpcio-reflection sends).
 * Needs Debian's python3-grpcio, python3-grpc-tools and protobuf-compiler (`.ci/run` installs them).
 */
const probe = spawnSync(PYTHON, ["-c", "import grpc, grpc_tools"], { encoding: "utf8", timeout: 30_000 });
const hasPythonGrpc = probe.status === 0 && spawnSync("protoc", ["--version"]).status === 0;
const SKIP_REASON = `skipped: ${PYTHON} cannot import grpc/grpc_tools or protoc is missing (apt-get install python3-grpcio python3-grpc-tools protobuf-compiler)`;
if (!hasPythonGrpc) console.warn(`reflection-peer.test.ts ${SKIP_REASON}`);

describe.skipIf(!hasPythonGrpc)(
  `server reflection from a Python descriptor pool${hasPythonGrpc ? "" : ` (${SKIP_REASON})`}`,
  () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer();
    });
    afterAll(async () => {
      await t.close();
    });

    it("resolves every service and message from the served descriptors and calls methods with them alone", async () => {
      const { stdout } = await promisify(execFile)(PYTHON, [CLIENT, "--address", t.address], {
        timeout: 60_000,
      });
      const out = JSON.parse(stdout);
      expect(out.services).toEqual(["grpc.health.v1.Health", "memcg_sim.v1.SimulatorService"]);
      expect(out.simulator_file).toEqual({
        name: "memcg_sim/v1/simulator.proto",
        package: "memcg_sim.v1",
        dependencies: ["google/protobuf/struct.proto"],
        services: ["SimulatorService"],
      });
      // every RPC of the proto, resolved from descriptors alone
      const protoText = readFileSync(join(findProtoRoot(), SIMULATOR_PROTO), "utf8");
      const rpcs = [...protoText.matchAll(/^\s*rpc (\w+)\(/gm)].map((m) => m[1]);
      expect(out.methods["memcg_sim.v1.SimulatorService"]).toEqual(rpcs);
      expect(out.methods["grpc.health.v1.Health"]).toEqual(["Check", "Watch", "List"]);
      expect(out.files).toEqual([
        "google/protobuf/struct.proto",
        "health/v1/health.proto",
        "memcg_sim/v1/simulator.proto",
      ]);
      // every message a method reaches, including the imported google.protobuf.Struct and map entries
      expect(out.messages).toContain("google.protobuf.Struct.FieldsEntry");
      expect(out.messages).toContain("memcg_sim.v1.Event");
      // by file name: the file and its import (the issue: "Proto file not found")
      expect(out.by_filename).toEqual(["memcg_sim/v1/simulator.proto", "google/protobuf/struct.proto"]);
      // the calls: 21 dentries of 192 + 8 bytes under v5.9, one CPU: 4,200 bytes through the stock = 2 pages
      expect(out.created.instance.config).toMatchObject({
        model: "v5.9",
        cpu_count: 1,
        memory_bytes: "8589934592",
      });
      expect(out.alloc).toMatchObject({ allocated_count: "21", charged_bytes: "8192" });
      // memory.current holds the 5.9 charge batch: the first page charge took 32 pages (MEMCG_CHARGE_BATCH)
      expect(out.memory_current).toEqual({ value: "131072\n" });
      expect(t.registry.get("refl").instance.readFile("/a", "memory.current")).toBe("131072\n");
    });
  },
);

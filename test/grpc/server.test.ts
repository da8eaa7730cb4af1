import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findProtoRoot } from "../../src/grpc/proto.js";
import { type Obj, startTestServer, type TestServer } from "./helpers.js";

const require = createRequire(import.meta.url);
const reflectionProto = join(
  dirname(require.resolve("@grpc/reflection")),
  "..",
  "proto",
  "grpc",
  "reflection",
  "v1",
  "reflection.proto",
);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

function healthCheck(service: string): Promise<string> {
  const def = protoLoader.loadSync(healthProtoPath, { enums: String });
  const Health = (grpc.loadPackageDefinition(def).grpc as grpc.GrpcObject).health as grpc.GrpcObject;
  const Ctor = (Health.v1 as grpc.GrpcObject).Health as grpc.ServiceClientConstructor;
  const client = new Ctor(t.address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    (client.Check as grpc.requestCallback<Obj> & ((req: Obj, cb: grpc.requestCallback<Obj>) => void))(
      { service },
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(String(res?.status));
      },
    ),
  );
}

describe("the gRPC listener", () => {
  it("binds the free port it was asked for with port 0", () => {
    expect(t.server.port).toBeGreaterThan(0);
  });

  it("serves grpc.health.v1 for the server and the simulator service, following setServing", async () => {
    expect(await healthCheck("")).toBe("SERVING");
    expect(await healthCheck("memcg_sim.v1.SimulatorService")).toBe("SERVING");
    t.server.setServing(false);
    expect(await healthCheck("")).toBe("NOT_SERVING");
    t.server.setServing(true);
    expect(await healthCheck("memcg_sim.v1.SimulatorService")).toBe("SERVING");
  });

  it("serves reflection (v1) listing the simulator and health services, with their descriptors", async () => {
    const def = protoLoader.loadSync(reflectionProto, { keepCase: true });
    const pkg = ((grpc.loadPackageDefinition(def).grpc as grpc.GrpcObject).reflection as grpc.GrpcObject)
      .v1 as grpc.GrpcObject;
    const Ctor = pkg.ServerReflection as grpc.ServiceClientConstructor;
    const client = new Ctor(t.address, grpc.credentials.createInsecure());
    const stream = (client.ServerReflectionInfo as () => grpc.ClientDuplexStream<Obj, Obj>)();
    const answers: Obj[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on("data", (m: Obj) => {
        answers.push(m);
        if (answers.length === 2) stream.end();
      });
      stream.on("end", () => resolve());
      stream.on("error", reject);
    });
    stream.write({ list_services: "" });
    stream.write({ file_containing_symbol: "memcg_sim.v1.SimulatorService" });
    await done;
    client.close();
    const names = ((answers[0].list_services_response as Obj).service as Obj[]).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["memcg_sim.v1.SimulatorService", "grpc.health.v1.Health"]));
    const files = (answers[1].file_descriptor_response as Obj).file_descriptor_proto as Buffer[];
    expect(files.length).toBeGreaterThan(0);
    // proto-loader names the synthesized file after the package; the service is what matters
    const text = Buffer.concat(files).toString("latin1");
    expect(text).toContain("memcg_sim.v1");
    expect(text).toContain("SimulatorService");
    expect(text).toContain("WatchEvents");
  });

  it("finds proto/ from the project root whether it runs from src/ or from dist/", () => {
    const root = findProtoRoot();
    expect(root.endsWith("/proto")).toBe(true);
    expect(findProtoRoot(join(dirname(root), "dist", "src", "grpc"))).toBe(root);
    expect(() => findProtoRoot("/")).toThrow(/cannot find proto/);
  });

  it("closes idempotently", async () => {
    const other = await startTestServer();
    await Promise.all([other.close(), other.server.close()]);
    await other.server.close();
  });
});

/**
 * The baselines of bench/outside.ts, each run in its own process (`node --import tsx
 * bench/outside-servers.ts KIND PORT`), printing `listening` once it accepts connections:
 *  - `fastify`: bare fastify (logger off), one POST route that parses the JSON body and answers the
 *    same JSON an `objects/alloc` of count 1 answers (the same I/O shape as the app's route);
 *  - `http`: node:http answering a fixed JSON body without reading the request body — the cheapest
 *    server there is, so the load generator's rate against it is its ceiling on this machine;
 *  - `grpc`: bare grpc-js serving only `SimulatorService.AllocObjects` of the product's proto (the
 *    same messages, decoded and encoded by the same proto-loader options), answering a fixed response;
 *  - `h2`: node:http2 answering every call with a fixed, pre-encoded gRPC AllocObjectsResponse
 *    frame — the gRPC load generator's ceiling.
 */
import { createServer } from "node:http";
import { createServer as createH2Server } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import Fastify from "fastify";
import { loadSimulatorPackage, SIMULATOR_SERVICE } from "../src/grpc/proto.js";

const [kind, portArg] = process.argv.slice(2);
const port = Number(portArg);
const HOST = "127.0.0.1";

/** What `objects/alloc` of count 1 answers on a fresh instance (REST JSON). */
const ALLOC_RESULT = {
  allocatedCount: 1,
  failedCount: 0,
  error: null,
  failedAt: null,
  chargedBytes: 4096,
  reclaimedBytes: 0,
  oomKilledPids: [],
  throttleMs: 0,
  objectIds: [0],
};

if (kind === "fastify") {
  const app = Fastify({ logger: false });
  app.post("/echo", async (req) => {
    const body = req.body as { count?: unknown };
    if (typeof body !== "object" || body === null || body.count !== 1) throw new Error("bad body");
    return ALLOC_RESULT;
  });
  await app.listen({ host: HOST, port });
} else if (kind === "http") {
  const text = JSON.stringify(ALLOC_RESULT);
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((res) => server.listen(port, HOST, res));
} else if (kind === "grpc") {
  const service = loadSimulatorPackage()[SIMULATOR_SERVICE] as grpc.ServiceDefinition;
  const server = new grpc.Server();
  server.addService(
    { AllocObjects: service.AllocObjects },
    {
      AllocObjects: (
        call: grpc.ServerUnaryCall<{ count: number }, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) =>
        call.request.count === 1
          ? cb(null, { ...ALLOC_RESULT, error: undefined, failedAt: undefined })
          : cb({ code: grpc.status.INVALID_ARGUMENT }),
    },
  );
  await new Promise<number>((res, rej) =>
    server.bindAsync(`${HOST}:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? rej(e) : res(p),
    ),
  );
} else if (kind === "h2") {
  const service = loadSimulatorPackage()[SIMULATOR_SERVICE] as grpc.ServiceDefinition;
  const msg = service.AllocObjects.responseSerialize({
    ...ALLOC_RESULT,
    error: undefined,
    failedAt: undefined,
  });
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  const server = createH2Server();
  server.on("connection", (socket: import("node:net").Socket) => socket.setNoDelay(true));
  server.on("stream", (stream) => {
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(frame);
    });
  });
  await new Promise<void>((res) => server.listen(port, HOST, res));
} else {
  process.stderr.write(`unknown server kind ${kind}\n`);
  process.exit(2);
}
process.stdout.write("listening\n");

/**
 * gRPC benchmark (issue "Performance"): unary AllocObjects (count 1) on the product's server
 * (startGrpcServer) against a bare grpc-js unary Echo server, both in this process on 127.0.0.1
 * port 0, the client (one channel, 50 in flight) in a child process; interleaved rounds, medians.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import pino from "pino";
import { startGrpcServer } from "../src/grpc/server.js";
import { LOADER_OPTIONS } from "../src/grpc/proto.js";
import { Registry } from "../src/registry.js";
import { ECHO_PROTO_FILE, ECHO_SERVICE } from "./grpc-echo.js";
import { median } from "./http.js";

const LOAD = fileURLToPath(new URL("./grpc-load.ts", import.meta.url));

async function startEcho(): Promise<{ port: number; close: () => Promise<void> }> {
  const service = protoLoader.loadSync(ECHO_PROTO_FILE(), LOADER_OPTIONS)[
    ECHO_SERVICE
  ] as grpc.ServiceDefinition;
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<{ message: string }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { message: call.request.message }),
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { port, close: () => new Promise((res) => server.tryShutdown(() => res())) };
}

function load(
  address: string,
  kind: "echo" | "alloc",
  calls: number,
  maxMs: number,
  pid = 0,
): Promise<number> {
  const args = ["--import", "tsx", LOAD, address, kind, String(calls), "50", String(maxMs), String(pid)];
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { timeout: maxMs + 60_000 }, (err, stdout) => {
      if (err) return reject(err);
      resolve((JSON.parse(stdout.trim().split("\n").pop()!) as { callsPerSec: number }).callsPerSec);
    }),
  );
}

export async function unaryAllocGrpc(
  calls: number,
  rounds: number,
  maxMs: number,
): Promise<{ app: number; bare: number }> {
  const echo = await startEcho();
  const registry = new Registry();
  const server = await startGrpcServer({
    registry,
    host: "127.0.0.1",
    port: 0,
    logger: pino({ level: "silent" }),
    shutdownGraceMs: 200,
  });
  try {
    registry.create("bench", { model: "v5.9", cpuCount: 4, memoryBytes: 64 * 1024 * 1024 * 1024 });
    registry.execute("bench", {
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    });
    registry.execute("bench", { op: "createCgroup", path: "/c" });
    const { pid } = registry.execute("bench", { op: "spawnTask", cgroup: "/c" }) as { pid: number };
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < rounds; i++) {
      b.push(await load(`127.0.0.1:${echo.port}`, "echo", calls, maxMs));
      a.push(await load(`127.0.0.1:${server.port}`, "alloc", calls, maxMs, pid));
    }
    return { app: median(a), bare: median(b) };
  } finally {
    await server.close();
    await echo.close();
  }
}

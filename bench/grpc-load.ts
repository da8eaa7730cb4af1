/**
 * gRPC load generator, run as a child process by bench/grpc.ts (so client and server share the
 * machine's cores, as in the baseline method of docs/BENCHMARKS.md): `node --import tsx bench/grpc-load.ts ADDRESS KIND
 * CALLS CONCURRENCY MAX_MS [PID]`, one channel, KIND "echo" (the bare baseline's Echo) or "alloc"
 * (SimulatorService.AllocObjects, count 1). 200 warm-up calls, then CALLS calls with CONCURRENCY in
 * flight, stopped early after MAX_MS. Prints `{"callsPerSec": N, "calls": N}`.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { findProtoRoot, LOADER_OPTIONS, SIMULATOR_PROTO, SIMULATOR_SERVICE } from "../src/grpc/proto.js";
import { ECHO_PROTO_FILE, ECHO_SERVICE } from "./grpc-echo.js";

const [address, kind, callsArg, concArg, maxMsArg, pidArg] = process.argv.slice(2);
const calls = Number(callsArg);
const concurrency = Number(concArg);
const maxMs = Number(maxMsArg);

const def =
  kind === "echo"
    ? protoLoader.loadSync(ECHO_PROTO_FILE(), LOADER_OPTIONS)[ECHO_SERVICE]
    : protoLoader.loadSync(SIMULATOR_PROTO, { ...LOADER_OPTIONS, includeDirs: [findProtoRoot()] })[
        SIMULATOR_SERVICE
      ];
const service = def as grpc.ServiceDefinition;
const method = kind === "echo" ? service.Echo : service.AllocObjects;
const request =
  kind === "echo"
    ? { message: "alloc dentry" }
    : { instance: "bench", cache: "dentry", pid: Number(pidArg), count: 1 };
const client = new grpc.Client(address, grpc.credentials.createInsecure());

const one = () =>
  new Promise<void>((resolve, reject) =>
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      (err) => (err ? reject(err) : resolve()),
    ),
  );

async function drive(n: number, limitMs: number): Promise<{ done: number; ms: number }> {
  let started = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < n && performance.now() - t0 < limitMs) {
      started++;
      await one();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done, ms: performance.now() - t0 };
}

await drive(200, 10_000);
const r = await drive(calls, maxMs);
client.close();
console.log(JSON.stringify({ callsPerSec: r.done / (r.ms / 1000), calls: r.done }));

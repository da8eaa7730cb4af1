/**
 * gRPC load generator of bench/outside.ts, one of several processes: `node --import tsx
 * bench/outside-grpc-load.ts ADDRESS PID CHANNELS IN_FLIGHT_PER_CHANNEL`. Sends unary
 * `SimulatorService.AllocObjects` (count 1) through CHANNELS channels; warms up 0.5 s, prints
 * `ready`, then on a line `go SECONDS` on stdin runs SECONDS seconds with every channel keeping
 * IN_FLIGHT_PER_CHANNEL calls in flight, and prints `{"calls": N, "ms": T, "errors": E, "lat": [µs, ...]}`.
 */
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import { loadSimulatorPackage, SIMULATOR_SERVICE } from "../src/grpc/proto.js";

const [address, pidArg, channelsArg, inFlightArg] = process.argv.slice(2);
const method = (loadSimulatorPackage()[SIMULATOR_SERVICE] as grpc.ServiceDefinition).AllocObjects;
const request = { instance: "bench", cache: "dentry", pid: Number(pidArg), count: 1 };
// distinct channel options so grpc-js does not share one subchannel (one TCP connection) between them
const clients = Array.from(
  { length: Number(channelsArg) },
  (_, i) =>
    new grpc.Client(address, grpc.credentials.createInsecure(), i === 0 ? {} : { "bench.channel": i }),
);

function call(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      (err: grpc.ServiceError | null) => (err ? reject(err) : resolve()),
    ),
  );
}

async function run(
  ms: number,
  record: boolean,
): Promise<{ calls: number; ms: number; errors: number; lat: number[] }> {
  const lat: number[] = [];
  let calls = 0;
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  const loop = async (client: grpc.Client) => {
    while (performance.now() < end) {
      const s = performance.now();
      try {
        await call(client);
        calls++;
        if (record) lat.push(Math.round((performance.now() - s) * 1000));
      } catch {
        errors++;
      }
    }
  };
  const n = Number(inFlightArg);
  await Promise.all(clients.flatMap((c) => Array.from({ length: n }, () => loop(c))));
  return { calls, ms: performance.now() - t0, errors, lat };
}

await run(500, false);
process.stdout.write("ready\n");
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const m = /^go (\d+(?:\.\d+)?)$/.exec(line.trim());
  if (m === null) break;
  const r = await run(Number(m[1]) * 1000, true);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
for (const c of clients) c.close();

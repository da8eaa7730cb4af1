/**
 * The server half of `npm run soak`: the real start-up path (startServer, the same one `npm start`
 * runs) in a child process, plus a sampler of this process's RSS, heap and event-loop delay
 * (perf_hooks monitorEventLoopDelay) reported to the parent over IPC. Not a product entry point.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pino } from "pino";
import { parseServerConfig } from "../src/server-config.js";
import { startServer } from "../src/server.js";

const send = (m: unknown) => process.send?.(m);
const config = parseServerConfig(process.env, []);
const logger = pino({ level: config.logLevel, base: { service: "memcg-sim-soak" } });
const server = await startServer(config, logger);

// The histogram records each timer's whole period; the resolution is subtracted below so the
// numbers are the delay beyond the sampling period (0 = an idle loop).
const RESOLUTION_MS = 5;
const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
lag.enable();
const sampleMs = Number(process.env.SOAK_SAMPLE_MS ?? 5000);
const sample = () => {
  const m = process.memoryUsage();
  const stats = server.persistence.stats();
  send({
    t: "sample",
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
    lagP50Ms: Math.max(0, lag.percentile(50) / 1e6 - RESOLUTION_MS),
    lagP99Ms: Math.max(0, lag.percentile(99) / 1e6 - RESOLUTION_MS),
    lagMaxMs: Math.max(0, lag.max / 1e6 - RESOLUTION_MS),
    instances: server.registry.list().map((e) => ({
      name: e.name,
      liveObjectCount: e.instance.slab.liveObjects,
      commandCount: e.instance.commandCount,
      eventCount: e.instance.events.nextSeq - 1,
    })),
    watchers: server.registry.watcherCount,
    journaledCommandCount: stats.journaledCommandCount,
    pendingOpCount: stats.pendingOpCount,
  });
  lag.reset();
};
const timer = setInterval(sample, sampleMs);
send({ t: "ready", httpPort: server.httpPort, grpcPort: server.grpcPort, pid: process.pid });

process.on("message", async (m: { t?: string }) => {
  if (m?.t === "sample") sample();
  if (m?.t === "stop") {
    clearInterval(timer);
    sample();
    await server.close();
    send({ t: "stopped" });
    process.exit(0);
  }
});

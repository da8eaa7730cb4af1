import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createDemoInstances, type DemoWorkload, startDemoWorkload } from "./demo.js";
import { startGrpcServer } from "./grpc/server.js";
import { createMetrics, type Metrics } from "./metrics/index.js";
import { Persistence, type RestoreReport } from "./persistence/index.js";
import { Registry } from "./registry.js";
import { buildApp } from "./rest/app.js";
import { Service } from "./service/index.js";
import type { ServerConfig } from "./server-config.js";
import { SweepService } from "./sweep/service.js";

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  registry: Registry;
  metrics: Metrics;
  persistence: Persistence;
  restore: RestoreReport;
  /** Stop accepting, finish in-flight requests, end streams, flush state (docs/API.md §1). Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Demo workload tick (tests shorten it). */
  demoTickMs?: number;
}

/**
 * The wiring of docs/ARCHITECTURE.md §2: config → registry → persistence (restore, then journal) →
 * demo → REST + gRPC. Readiness turns true only once both listeners are bound and state is loaded.
 */
export async function startServer(
  config: ServerConfig,
  logger: Logger,
  opts: StartOptions = {},
): Promise<RunningServer> {
  const registry = new Registry({ ...config.limits });
  const persistence = new Persistence({
    dataDir: config.dataDir,
    recover: config.recover,
    maxDataBytes: config.maxDataBytes,
    compact: config.compact,
    onError: (err) => logger.error({ err }, "persistence group commit failed (ops kept queued)"),
  });
  const restore = persistence.start(registry);
  if (restore.instanceCount > 0 || restore.failed.length > 0)
    logger.info(
      { restore },
      `restored ${restore.instanceCount} instances (${restore.commandCount} commands) in ${Math.round(restore.ms)} ms`,
    );

  let demo: DemoWorkload | null = null;
  if (config.demo) {
    const created = createDemoInstances(registry);
    if (created.length > 0) logger.info({ created }, "demo instances created");
    demo = startDemoWorkload(registry, logger, opts.demoTickMs);
  }

  const readiness = { ready: false };
  const metrics = createMetrics({ registry });
  // every mutation is committed before its answer, on both transports (acknowledged ⇒ durable)
  // the group commit: requests of one event-loop turn share one transaction, each answered once it
  // is committed; export commits at once (it reads the journal)
  const flush = () => persistence.flush();
  const durable = () => persistence.durable();
  // one pool of sweep worker threads for both transports (POST /v1/sweeps, StartSweep)
  const sweeps = new SweepService(undefined, registry.limits, (err) =>
    logger.error({ err }, "a sweep failed with an internal error"),
  );
  // the service layer both transports stand on: group commit, token, export/import, event follower
  const service = new Service({ registry, flush, durable, transfer: persistence, apiToken: config.apiToken });
  const common = { registry, metrics, service };
  const app = await buildApp({ ...common, sweeps, logger, readiness });
  // bounds on what a client can hold open (docs/RELIABILITY.md): a connection cap, and slow
  // headers or bodies closed within seconds instead of Node's minutes
  app.server.maxConnections = config.limits.maxConnections;
  app.server.headersTimeout = config.limits.headersTimeoutMs;
  app.server.requestTimeout = config.limits.requestTimeoutMs;
  let grpc: Awaited<ReturnType<typeof startGrpcServer>> | null = null;
  try {
    await app.listen({ host: config.host, port: config.httpPort });
    // ---- gRPC (src/grpc/server.ts, docs/API.md §10): NOT_SERVING until everything is up ----
    grpc = await startGrpcServer({
      ...common,
      sweeps,
      host: config.host,
      port: config.grpcPort,
      logger,
      serving: false,
    });
  } catch (err) {
    demo?.stop();
    await app.close();
    await sweeps.close();
    metrics.close();
    persistence.close();
    throw err;
  }
  const httpPort = (app.server.address() as AddressInfo).port;
  readiness.ready = true;
  grpc.setServing(true);

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      readiness.ready = false;
      grpc?.setServing(false);
      demo?.stop();
      // REST first (ends SSE streams, lets in-flight requests finish), then gRPC, then the journal.
      await app.close();
      await grpc?.close();
      await sweeps.close();
      persistence.close();
      metrics.close();
    })();
    return closing;
  };
  return { httpPort, grpcPort: grpc.port, registry, metrics, persistence, restore, close };
}

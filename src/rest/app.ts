import Fastify, { type FastifyBaseLogger, LogController } from "fastify";
import { serializerCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { createMetrics, type Metrics } from "../metrics/index.js";
import { metricsPlugin } from "../metrics/plugin.js";
import type { Registry, ServerLimits } from "../registry.js";
import { SweepService } from "../sweep/service.js";
import { Service, stringifyExact, type Transfer } from "../service/index.js";
import { registerAuth } from "./auth.js";
import { registerBodyParsing } from "./content-type.js";
import { validatorCompilerFast } from "./fast-validation.js";
import type { RouteContext, ZodApp } from "./context.js";
import { readOpenapiText } from "./openapi-file.js";
import { problem, sendProblem, toProblem } from "./problem.js";
import { cacheRoutes } from "./routes/caches.js";
import { cgroupfsRoutes } from "./routes/cgroupfs.js";
import { cgroupRoutes } from "./routes/cgroups.js";
import { commandRoutes } from "./routes/commands.js";
import { compareRoutes } from "./routes/compare.js";
import { replayRoutes } from "./routes/replay.js";
import { docsRoutes } from "./routes/docs.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes, type Readiness } from "./routes/health.js";
import { instanceRoutes } from "./routes/instances.js";
import { instanceOrder, simulationRoutes } from "./routes/simulation.js";
import { sweepRoutes } from "./routes/sweeps.js";
import { taskRoutes } from "./routes/tasks.js";
import { transferRoutes } from "./routes/transfer.js";
import { DEFAULT_SSE_OPTIONS, SseHub } from "./sse.js";

export interface BuildAppOptions {
  registry: Registry;
  /** A pino logger (request ids come from `x-request-id` or are generated); none = silent. */
  logger?: FastifyBaseLogger;
  /** Body size limit; default: the registry's (every other limit is the registry's). */
  limits?: Pick<ServerLimits, "maxBodyBytes">;
  /** GET /metrics, /metrics/cadvisor and the request histogram; default: the app's own (closed with it). */
  metrics?: Metrics;
  /**
   * Export/import over the persistence's command log; default: an in-memory log attached to the
   * registry now (it can export instances created from now on).
   */
  transfer?: Transfer;
  /** `MEMCG_SIM_API_TOKEN`: when set, /v1 routes need `Authorization: Bearer <token>`. */
  apiToken?: string | null;
  /** `/readyz` answers 503 while `ready` is false; default: ready at once (in-process tests). */
  readiness?: Readiness;
  /** Called after every accepted mutation before the reply (the persistence group commit). */
  flush?: () => void;
  /** Resolves when everything applied so far is durable (group commit); default: `flush()` now. */
  durable?: () => Promise<void>;
  /** SSE heartbeat period (tests shorten it). */
  sseHeartbeatMs?: number;
  /** POST /v1/sweeps and its worker threads; default: the app's own (closed with it). */
  sweeps?: SweepService;
  /** The OpenAPI document served at /openapi.yaml and /docs; default: the committed openapi.yaml. */
  openapiText?: string;
  /**
   * The service layer shared with the gRPC listener (src/server.ts); default: the app's own, made
   * from `flush`, `durable`, `transfer` and `apiToken` (closed with it).
   */
  service?: Service;
}

/** Every route the app registered, as `METHOD url` (the contract test compares it with openapi.yaml). */
export const registeredRoutes = new WeakMap<object, { method: string; url: string }[]>();

/**
 * The REST service of docs/API.md §3–§8 plus /metrics (src/metrics/plugin.ts) and export/import.
 * Routes are thin: zod parses, the registry executes, views map. Every error is problem+json.
 */
export async function buildApp(opts: BuildAppOptions): Promise<ZodApp> {
  const { registry } = opts;
  const limits = opts.limits ?? registry.limits;
  const base = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: limits.maxBodyBytes,
    requestIdHeader: false,
    // An id from the client is echoed only when it is short and printable (it ends up in logs).
    genReqId: makeReqIdGenerator(),
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // Two log lines per request ("incoming request", "request completed") cost ~14 % of the
    // server's CPU at the default info level (docs/BENCHMARKS.md, the profile): the access log is
    // written at debug level only, by the hook below, and errors are logged where they are answered.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const app = base.withTypeProvider<ZodTypeProvider>() as unknown as ZodApp;
  if (["debug", "trace"].includes(base.log.level))
    base.addHook("onResponse", (req, reply, done) => {
      req.log.debug(
        { method: req.method, url: req.url, statusCode: reply.statusCode, ms: reply.elapsedTime },
        "request completed",
      );
      done();
    });
  // hot routes validate through compiled Ajv, bad input through zod (fast-validation.ts)
  app.setValidatorCompiler(validatorCompilerFast);
  app.setSerializerCompiler(serializerCompiler);
  // integers above 2^53 − 1 as exact decimal strings (json.ts, docs/API.md)
  app.setReplySerializer((payload) => stringifyExact(payload));

  const routes: { method: string; url: string }[] = [];
  registeredRoutes.set(app, routes);
  app.addHook("onRoute", (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method])
      if (m !== "HEAD") routes.push({ method: m, url: r.url });
  });

  let service = opts.service;
  if (service === undefined) {
    const own = new Service({
      registry,
      flush: opts.flush,
      durable: opts.durable,
      transfer: opts.transfer,
      apiToken: opts.apiToken,
    });
    app.addHook("onClose", async () => own.close());
    service = own;
  }
  const svc = service;
  registerAuth(app, svc);
  registerBodyParsing(app);
  // per-request hooks are callback-style: an async hook costs a promise and a microtask per request
  app.addHook("onSend", (req, reply, payload, done) => {
    reply.header("x-request-id", req.id);
    done(null, payload);
  });
  app.setErrorHandler((err, req, reply) => {
    const p = toProblem(err, req.log);
    if (p.code === "PAYLOAD_TOO_LARGE") p.details = { limit: "maxBodyBytes", value: limits.maxBodyBytes };
    return sendProblem(reply, p);
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, problem("NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`)),
  );

  const ctx: RouteContext = {
    registry,
    service: svc,
    flush: () => svc.flush(),
    durable: () => svc.durable(),
    mutate: (instance, command) => svc.execute(instance, command),
  };
  instanceOrder(app, ctx);
  const hub = new SseHub(svc, {
    ...DEFAULT_SSE_OPTIONS,
    heartbeatMs: opts.sseHeartbeatMs ?? DEFAULT_SSE_OPTIONS.heartbeatMs,
  });
  // Streams end before the server closes, so close() never waits on a client that keeps one open.
  app.addHook("preClose", async () => hub.closeAll());

  let metrics = opts.metrics;
  if (metrics === undefined) {
    const own = createMetrics({ registry, defaultMetrics: false });
    app.addHook("onClose", async () => own.close());
    metrics = own;
  }
  await metricsPlugin(app, { metrics });

  healthRoutes(app, opts.readiness ?? { ready: true }, () => registry.kept);
  instanceRoutes(app, ctx);
  commandRoutes(app, ctx);
  cgroupRoutes(app, ctx);
  cacheRoutes(app, ctx);
  taskRoutes(app, ctx);
  simulationRoutes(app, ctx);
  cgroupfsRoutes(app, ctx);
  eventRoutes(app, ctx, hub);
  transferRoutes(app, ctx);
  compareRoutes(app, ctx);
  let sweeps = opts.sweeps;
  if (sweeps === undefined) {
    const own = new SweepService(undefined, registry.limits, (err) =>
      app.log.error({ err }, "a sweep failed with an internal error"),
    );
    app.addHook("onClose", async () => own.close());
    sweeps = own;
  }
  sweepRoutes(app, sweeps);
  await replayRoutes(app, ctx);
  await docsRoutes(app, opts.openapiText ?? readOpenapiText());
  return app;
}

const REQ_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function makeReqIdGenerator() {
  let n = 0;
  return (req: { headers: Record<string, string | string[] | undefined> }) => {
    const given = req.headers["x-request-id"];
    if (typeof given === "string" && REQ_ID.test(given)) return given;
    n++;
    return `req-${n.toString(36)}`;
  };
}

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { performance } from "node:perf_hooks";
import * as Q from "../commands/queries.js";
import { COMMAND_OPERATIONS } from "../commands/operations.js";
import { createInstanceBody } from "../commands/instance-body.js";
import { parseOrThrow } from "../commands/schemas.js";
import { type Command, EngineError, fail, type Op, OPS } from "../engine/index.js";
import { replayRpc } from "./replay.js";
import type { Metrics } from "../metrics/index.js";
import { limitExceeded, type Registry } from "../registry.js";
import { Service, stringifyExact, type Transfer } from "../service/index.js";
import { SweepService, type SweepStatus } from "../sweep/service.js";
import { DEFAULT_COMPARE_REQUEST_LIMITS } from "../compare/rest.js";
import { toGrpcError } from "./errors.js";
import {
  batchCommandOf,
  commandOf,
  commandResultOf,
  eventMessage,
  type ProtoObject,
  RPC_OF_OP,
  responseOf,
  withoutNulls,
} from "./mappers.js";
import { findProtoRoot, loadSimulatorPackage, reflectionDescriptors, SIMULATOR_SERVICE } from "./proto.js";
import { EventWatch } from "./watch.js";

export interface GrpcServerOptions {
  registry: Registry;
  host: string;
  /** 0 picks a free port (reported in the handle). */
  port: number;
  logger: Logger;
  /** How long close() lets in-flight calls finish before cutting them off. */
  shutdownGraceMs?: number;
  /** The project's proto/ folder; found from the project root when absent. */
  protoRoot?: string;
  /** Call durations go to `observeGrpc`; none = not observed. */
  metrics?: Metrics;
  /** Commits queued journal writes now (export reads the journal; the default for `durable`). */
  flush?: () => void;
  /** Resolves once every mutation applied so far is durable (group commit); awaited before a mutation's answer. */
  durable?: () => Promise<void>;
  /** ExportInstance / ImportInstance; none = an in-memory command log attached now. */
  transfer?: Transfer;
  /** When set, every call except grpc.health.v1 needs metadata `authorization: Bearer <token>`. */
  apiToken?: string | null;
  /** Initial health status (default true; src/server.ts starts NOT_SERVING and turns it on when ready). */
  serving?: boolean;
  /** StartSweep and its worker threads; default: the server's own (closed with it). */
  sweeps?: SweepService;
  /**
   * The service layer shared with the REST app (src/server.ts); default: the server's own, made
   * from `flush`, `durable`, `transfer` and `apiToken` (closed with it).
   */
  service?: Service;
}

export interface GrpcServerHandle {
  port: number;
  /** Health of both "" (the server) and the simulator service: readiness follows the process's. */
  setServing(serving: boolean): void;
  /** Stops accepting, ends WatchEvents streams (UNAVAILABLE), lets calls finish within the grace period. */
  close(): Promise<void>;
}

type Unary = grpc.handleUnaryCall<ProtoObject, unknown>;

/**
 * The gRPC listener of docs/API.md §10: SimulatorService, grpc.health.v1.Health and server reflection.
 * Handlers only map: proto → command (the shared zod schemas) → Registry → result → proto.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServerHandle> {
  const { registry, logger } = opts;
  const protoRoot = opts.protoRoot ?? findProtoRoot();
  const simulatorPackage = loadSimulatorPackage(protoRoot);
  const serviceDef = tolerantDecoding(simulatorPackage[SIMULATOR_SERVICE] as grpc.ServiceDefinition);

  const server = new grpc.Server({
    // grpc-js refuses a larger request itself (RESOURCE_EXHAUSTED) before decoding it
    "grpc.max_receive_message_length": registry.limits.maxGrpcMessageBytes,
  });
  const { metrics } = opts;
  const ownService =
    opts.service === undefined
      ? new Service({
          registry,
          flush: opts.flush,
          durable: opts.durable,
          transfer: opts.transfer,
          apiToken: opts.apiToken,
        })
      : null;
  const service = opts.service ?? (ownService as Service);
  const ownSweeps =
    opts.sweeps === undefined
      ? new SweepService(undefined, registry.limits, (err) =>
          logger.error({ err }, "a sweep failed with an internal error"),
        )
      : null;
  const sweeps = opts.sweeps ?? (ownSweeps as SweepService);

  /** The two ways a call of `method` ends, each observed in the metrics with the call's duration. */
  const replies = (method: string, callback: grpc.sendUnaryData<unknown>) => {
    const t0 = performance.now();
    return {
      ok: (response: unknown) => {
        metrics?.observeGrpc(method, grpc.status.OK, (performance.now() - t0) / 1000);
        callback(null, response);
      },
      fail: (err: unknown) => {
        const e = toGrpcError(err, logger, method);
        metrics?.observeGrpc(method, e.code, (performance.now() - t0) / 1000);
        callback(e);
      },
    };
  };

  const unary =
    (method: string, fn: (req: ProtoObject) => unknown, mutates = false): Unary =>
    (call, callback) => {
      const { ok, fail } = replies(method, callback);
      // the instance the call names: it runs in that instance's order (src/service/queue.ts)
      const instance = instanceOf(call.request);
      if (mutates) {
        // acknowledged ⇒ durable (the service's group commit): a failed commit answers INTERNAL, as
        // REST answers 500; a refusal is answered once durable too (a historic refusal is journaled)
        const run = () => fn(requestOf(call.request));
        (instance === undefined ? service.commit(run) : service.mutate(instance, run)).then(ok, fail);
        return;
      }
      const read = () => {
        let response: unknown;
        try {
          response = fn(requestOf(call.request));
        } catch (err) {
          fail(err);
          return;
        }
        if (response instanceof Promise) response.then(ok, fail);
        else ok(response);
      };
      // a read of an instance a batch is running on waits for the batch (never sees half of it)
      const busy = instance === undefined ? undefined : service.idle(instance);
      if (busy === undefined) read();
      else void busy.then(read);
    };
  const mutation = (method: string, fn: (req: ProtoObject) => unknown) => unary(method, fn, true);

  const str = (v: unknown) => (typeof v === "string" ? v : "");
  // one command, as REST's command routes run it (Service.execute: the instance's order, a large
  // allocation or free in parts, answered once durable)
  const commandRpc =
    (op: Op): Unary =>
    (call, callback) => {
      const { ok, fail } = replies(RPC_OF_OP[op], callback);
      let command: Command;
      try {
        command = commandOf(op, requestOf(call.request));
      } catch (err) {
        fail(err);
        return;
      }
      service.execute(str(call.request.instance), command).then((r) => ok(responseOf(op, r)), fail);
    };

  // POST /v1/compare's twin: the same handler and limits; the call's cancellation aborts the run
  const compare: Unary = (call, callback) => {
    const t0 = performance.now();
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort());
    const done = (err: unknown, response?: unknown) => {
      if (err !== null) {
        const e = toGrpcError(err, logger, "Compare");
        metrics?.observeGrpc("Compare", e.code, (performance.now() - t0) / 1000);
        callback(e);
        return;
      }
      metrics?.observeGrpc("Compare", grpc.status.OK, (performance.now() - t0) / 1000);
      callback(null, response);
    };
    let body: Record<string, unknown>;
    try {
      const r = requestOf(call.request);
      body = { scenario: parseJsonText(str(r.scenarioJson), "scenario_json") };
      if (Array.isArray(r.models) && r.models.length > 0) body.models = r.models;
      if (typeof r.maxSamples === "number") body.maxSamples = r.maxSamples;
    } catch (err) {
      done(err);
      return;
    }
    const limits = { maxCommands: DEFAULT_COMPARE_REQUEST_LIMITS.maxCommands, engine: registry.limits };
    service.compare(body, limits, abort.signal).then(
      (result) =>
        done(null, {
          models: result.models,
          description: result.description,
          resultJson: stringifyExact(result),
        }),
      (err) => done(err),
    );
  };

  const handlers: grpc.UntypedServiceImplementation = {
    CreateInstance: mutation("CreateInstance", (r) => {
      // the REST body's schema: the same shape errors on both transports
      const body = parseOrThrow(createInstanceBody, withoutNulls(r), "instance");
      return { instance: registry.view(registry.create(body.name, body.config)) };
    }),
    ListInstances: unary("ListInstances", () => ({
      instances: registry.list().map((e) => registry.view(e)),
      failedInstances: registry.failedInstances(),
    })),
    GetInstance: unary("GetInstance", (r) => ({ instance: registry.view(registry.get(str(r.name))) })),
    DeleteInstance: mutation("DeleteInstance", (r) => {
      registry.delete(str(r.name));
      return {};
    }),
    ResetInstance: mutation("ResetInstance", (r) => ({
      instance: registry.view(registry.reset(str(r.name))),
    })),
    ExportInstance: unary("ExportInstance", (r) => ({
      // the chunks the REST route streams, joined: the same bytes on both transports
      documentJson: [...service.exportText(str(r.name))].join(""),
    })),
    ImportInstance: mutation("ImportInstance", (r) => {
      const doc = parseJsonText(str(r.documentJson), "document_json");
      const name = typeof r.name === "string" ? r.name : undefined;
      const entry = service.importInstance(doc, name);
      return { instance: registry.view(entry) };
    }),

    Compare: compare,

    ListCgroups: unary("ListCgroups", (r) => Q.listCgroups(registry, str(r.instance))),
    GetCgroup: unary("GetCgroup", (r) => ({ cgroup: Q.getCgroup(registry, str(r.instance), str(r.path)) })),
    ListCaches: unary("ListCaches", (r) => Q.listCaches(registry, str(r.instance))),
    GetCache: unary("GetCache", (r) => ({ cache: Q.getCache(registry, str(r.instance), str(r.name)) })),
    ListTasks: unary("ListTasks", (r) => Q.listTasks(registry, str(r.instance))),
    GetTask: unary("GetTask", (r) => ({ task: Q.getTask(registry, str(r.instance), r.pid as number) })),
    ReadFile: unary("ReadFile", (r) => ({
      value: Q.readFile(registry, str(r.instance), str(r.cgroup), str(r.file)),
    })),
    ReadProcSlabinfo: unary("ReadProcSlabinfo", (r) => ({
      value: Q.readProcSlabinfo(registry, str(r.instance)),
    })),
    ReadProcMeminfo: unary("ReadProcMeminfo", (r) => ({
      value: Q.readProcMeminfo(registry, str(r.instance)),
    })),
    ListEvents: unary("ListEvents", (r) => {
      const max = registry.limits.maxEventPage;
      const limit = r.limit as number | undefined;
      if (typeof limit === "number" && limit > max)
        limitExceeded("maxEventPage", max, `events page limit ${max}`);
      const page = Q.listEvents(
        registry,
        str(r.instance),
        r.sinceSeq as number,
        limit ?? Math.min(Q.DEFAULT_EVENT_PAGE, max),
      );
      return { events: page.events.map(eventMessage), nextSeq: page.nextSeq };
    }),

    ExecuteBatch: unary("ExecuteBatch", (r) => {
      const instance = str(r.instance);
      const commands = (r.commands as ProtoObject[]) ?? [];
      // the op of each slot, known once its command parsed, picks the result's oneof field
      const ops: (Op | undefined)[] = [];
      const thunks = commands.map((c, i) => () => {
        const command = batchCommandOf(c, instance, i);
        // kernel-page ops have no RPC of their own: their slot answers {ok} only
        ops[i] = (OPS as readonly string[]).includes(command.op) ? (command.op as Op) : undefined;
        return command;
      });
      // in slices that yield to the event loop, in the instance's order (Service.executeBatch); a
      // batch is a mutation: a cancelled call does not stop it
      return service.executeBatch(instance, thunks, r.stopOnError !== false).then((out) => ({
        results: out.results.map((slot, i) => commandResultOf(ops[i], slot)),
        executedCount: out.executedCount,
      }));
    }),
  };
  // one handler per row of the operation table (src/commands/operations.ts)
  for (const row of COMMAND_OPERATIONS) handlers[row.rpc] = commandRpc(row.op);
  // the sweeps of POST /v1/sweeps (issue #21): the same service, the spec as JSON text
  handlers.StartSweep = unary("StartSweep", (r) => ({
    sweep: sweepMessage(sweeps.start({ spec: parseJsonText(str(r.specJson), "spec_json") })),
  }));
  handlers.ListSweeps = unary("ListSweeps", () => ({ sweeps: sweeps.list().map(sweepMessage) }));
  handlers.GetSweep = unary("GetSweep", (r) => ({ sweep: sweepMessage(sweeps.status(str(r.id))) }));
  handlers.GetSweepResults = unary("GetSweepResults", (r) => ({ resultsJsonl: sweeps.results(str(r.id)) }));
  handlers.Replay = replayRpc(registry, logger, metrics, () => service.durable());

  const watchers = new Set<EventWatch>();
  handlers.WatchEvents = ((call: grpc.ServerWritableStream<ProtoObject, ProtoObject>) => {
    try {
      requestOf(call.request);
      const name = str(call.request.instance);
      const sinceSeq = call.request.sinceSeq as number;
      if (!Number.isSafeInteger(sinceSeq) || sinceSeq < 0)
        fail("INVALID_ARGUMENT", "since_seq must be an integer ≥ 0", {
          issues: [{ path: "sinceSeq", message: "must be ≥ 0" }],
        });
      // the service's follower: one slot of the watcher limit SSE and gRPC share
      const watch = new EventWatch(call, logger, (w) => watchers.delete(w));
      watch.start(service, name, sinceSeq);
      watchers.add(watch);
    } catch (err) {
      const e = toGrpcError(err, logger, "WatchEvents");
      metrics?.observeGrpc("WatchEvents", e.code, 0);
      call.emit("error", e);
    }
  }) as grpc.handleServerStreamingCall<ProtoObject, ProtoObject>;

  const missing = Object.keys(serviceDef).filter((m) => handlers[m] === undefined);
  if (missing.length > 0) throw new Error(`gRPC handlers missing for ${missing.join(", ")}`);
  const guard = authGuard(service, logger);
  server.addService(serviceDef, guard(handlers));

  const initial = (opts.serving ?? true) ? "SERVING" : "NOT_SERVING";
  const health = new HealthImplementation({ "": initial, [SIMULATOR_SERVICE]: initial });
  // health stays open (probes carry no token), as /livez and /readyz do
  health.addToServer(server);
  // reflection serves per-file descriptors built from the .proto sources (descriptors.ts), not the
  // per-namespace ones proto-loader attaches, which standard clients' descriptor pools refuse;
  // @grpc/reflection only indexes what it is given (the value's `fileDescriptorProtos`)
  const guarded = {
    addService: (svc: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) =>
      server.addService(svc, guard(impl)),
  } as unknown as grpc.Server;
  const reflected = { files: { fileDescriptorProtos: reflectionDescriptors(protoRoot) } };
  new ReflectionService(reflected as unknown as protoLoader.PackageDefinition).addToServer(guarded);

  const address = opts.host.includes(":") ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  logger.info({ port, host: opts.host }, "gRPC listening");

  const setServing = (serving: boolean) => {
    const status = serving ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    health.setStatus(SIMULATOR_SERVICE, status);
  };

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      setServing(false);
      for (const w of [...watchers]) w.fail(new EngineError("NOT_READY", "server shutting down"));
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, opts.shutdownGraceMs ?? 2000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
      ownService?.close();
      void ownSweeps?.close();
    });
    return closing;
  };

  return { port, setServing, close };
}

/** A sweep's status as the proto's `Sweep` (no `error` field unless it failed). */
function sweepMessage(s: SweepStatus): ProtoObject {
  const m: ProtoObject = {
    id: s.id,
    state: s.state,
    digest: s.digest,
    pointCount: s.pointCount,
    pointsDone: s.pointsDone,
  };
  if (s.error !== null) m.error = s.error;
  return m;
}

/** JSON text from a client (ImportInstance): a syntax error is INVALID_ARGUMENT, `__proto__`/`constructor` keys are refused. */
function parseJsonText(text: string, path: string): unknown {
  try {
    return JSON.parse(text, (key, value) => {
      if (key === "__proto__" || key === "constructor" || key === "prototype")
        throw new EngineError("INVALID_ARGUMENT", `${path}: key "${key}" is not allowed`, {
          issues: [{ path, message: `key "${key}" is not allowed` }],
        });
      return value;
    });
  } catch (err) {
    if (err instanceof EngineError) throw err;
    return fail("INVALID_ARGUMENT", `${path} is not JSON: ${(err as Error).message}`, {
      issues: [{ path, message: "not JSON" }],
    });
  }
}

/**
 * With a token, wraps every handler of a service so a call without `authorization: Bearer <token>`
 * ends UNAUTHENTICATED (trailer `memcg-sim-error-code: UNAUTHENTICATED`) before the handler runs.
 */
function authGuard(
  service: Service,
  logger: Logger,
): (impl: grpc.UntypedServiceImplementation) => grpc.UntypedServiceImplementation {
  if (service.auth === null) return (impl) => impl;
  const matches = service.authorized;
  return (impl) => {
    const out: grpc.UntypedServiceImplementation = {};
    for (const [name, fn] of Object.entries(impl)) {
      const handler = fn as (
        call: { metadata: grpc.Metadata; emit(e: string, v: unknown): void },
        cb?: (e: unknown) => void,
      ) => void;
      out[name] = ((
        call: { metadata: grpc.Metadata; emit(e: string, v: unknown): void },
        cb?: (e: unknown) => void,
      ) => {
        if (matches(call.metadata.get("authorization")[0])) return handler(call, cb);
        const err = toGrpcError(
          new EngineError("UNAUTHENTICATED", "this server requires metadata authorization: Bearer <token>"),
          logger,
          name,
        );
        if (typeof cb === "function") cb(err);
        else call.emit("error", err);
      }) as grpc.UntypedHandleCall;
    }
    return out;
  };
}

/** Marks a request whose bytes did not decode (see `tolerantDecoding`). */
const MALFORMED = Symbol("malformed request");

/**
 * grpc-js answers INTERNAL when a request deserializer throws, but undecodable bytes are the
 * client's error, not a bug: each method's deserializer returns a marker instead, which the
 * handler turns into INVALID_ARGUMENT.
 */
function tolerantDecoding(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service)) {
    const decode = def.requestDeserialize;
    out[name] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return { [MALFORMED]: err instanceof Error ? err.message : String(err) };
        }
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

/** The instance a request names (`instance`, or `name` for the instance calls); undefined for none. */
function instanceOf(request: ProtoObject): string | undefined {
  if (request === null || typeof request !== "object") return undefined;
  const r = request as Record<string, unknown>;
  if (typeof r.instance === "string" && r.instance !== "") return r.instance;
  if (typeof r.name === "string" && r.name !== "") return r.name;
  return undefined;
}

/** The decoded request, or INVALID_ARGUMENT when its bytes were not a valid message. */
function requestOf(request: ProtoObject): ProtoObject {
  const reason = (request as Record<symbol, unknown>)[MALFORMED];
  if (reason !== undefined)
    fail("INVALID_ARGUMENT", `the request is not a valid protobuf message: ${String(reason).slice(0, 200)}`, {
      issues: [{ path: "", message: "undecodable message" }],
    });
  return request;
}

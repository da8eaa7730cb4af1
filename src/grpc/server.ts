import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, protoPath as healthProtoPath } from "grpc-health-check";
import type { Logger } from "pino";
import * as Q from "../commands/queries.js";
import { createInstanceBody } from "../commands/instance-body.js";
import { parseOrThrow } from "../commands/schemas.js";
import { OPS, type Op } from "../engine/commands.js";
import { EngineError, fail } from "../engine/errors.js";
import type { Registry } from "../registry.js";
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
import { findProtoRoot, LOADER_OPTIONS, loadSimulatorPackage, SIMULATOR_SERVICE } from "./proto.js";
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
 * The gRPC listener of API.md §10: SimulatorService, grpc.health.v1.Health and server reflection.
 * Handlers only map: proto → command (the shared zod schemas) → Registry → result → proto.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServerHandle> {
  const { registry, logger } = opts;
  const protoRoot = opts.protoRoot ?? findProtoRoot();
  const simulatorPackage = loadSimulatorPackage(protoRoot);
  const service = simulatorPackage[SIMULATOR_SERVICE] as grpc.ServiceDefinition;

  const server = new grpc.Server({
    // batches may be as large as a REST body may be
    "grpc.max_receive_message_length": registry.limits.maxBodyBytes,
  });

  const unary =
    (method: string, fn: (req: ProtoObject) => unknown): Unary =>
    (call, callback) => {
      let response: unknown;
      try {
        response = fn(call.request);
      } catch (err) {
        callback(toGrpcError(err, logger, method));
        return;
      }
      callback(null, response);
    };

  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const commandRpc = (op: Op) =>
    unary(RPC_OF_OP[op], (r) => responseOf(op, registry.execute(str(r.instance), commandOf(op, r))));

  const handlers: grpc.UntypedServiceImplementation = {
    CreateInstance: unary("CreateInstance", (r) => {
      // the REST body's schema: the same shape errors on both transports
      const body = parseOrThrow(createInstanceBody, withoutNulls(r), "instance");
      return { instance: registry.view(registry.create(body.name, body.config)) };
    }),
    ListInstances: unary("ListInstances", () => ({
      instances: registry.list().map((e) => registry.view(e)),
    })),
    GetInstance: unary("GetInstance", (r) => ({ instance: registry.view(registry.get(str(r.name))) })),
    DeleteInstance: unary("DeleteInstance", (r) => {
      registry.delete(str(r.name));
      return {};
    }),
    ResetInstance: unary("ResetInstance", (r) => ({ instance: registry.view(registry.reset(str(r.name))) })),

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
      const page = Q.listEvents(
        registry,
        str(r.instance),
        r.sinceSeq as number,
        (r.limit as number | undefined) ?? Q.DEFAULT_EVENT_PAGE,
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
        ops[i] = command.op;
        return command;
      });
      const out = registry.executeBatch(instance, thunks, r.stopOnError !== false);
      return {
        results: out.results.map((slot, i) => commandResultOf(ops[i], slot)),
        executedCount: out.executedCount,
      };
    }),
  };
  for (const op of OPS) handlers[RPC_OF_OP[op]] = commandRpc(op);

  const watchers = new Set<EventWatch>();
  handlers.WatchEvents = ((call: grpc.ServerWritableStream<ProtoObject, ProtoObject>) => {
    try {
      if (watchers.size >= registry.limits.maxWatchers)
        fail("LIMIT_EXCEEDED", `watcher limit ${registry.limits.maxWatchers} reached`, {
          limit: "maxWatchers",
          value: registry.limits.maxWatchers,
        });
      const name = str(call.request.instance);
      const sinceSeq = call.request.sinceSeq as number;
      if (!Number.isSafeInteger(sinceSeq) || sinceSeq < 0)
        fail("INVALID_ARGUMENT", "since_seq must be an integer ≥ 0", {
          issues: [{ path: "sinceSeq", message: "must be ≥ 0" }],
        });
      const log = registry.get(name).instance.events;
      const watch = new EventWatch(call, registry, name, log, sinceSeq, logger, (w) => watchers.delete(w));
      watchers.add(watch);
      watch.start();
    } catch (err) {
      call.emit("error", toGrpcError(err, logger, "WatchEvents"));
    }
  }) as grpc.handleServerStreamingCall<ProtoObject, ProtoObject>;

  const missing = Object.keys(service).filter((m) => handlers[m] === undefined);
  if (missing.length > 0) throw new Error(`gRPC handlers missing for ${missing.join(", ")}`);
  server.addService(service, handlers);

  const health = new HealthImplementation({ "": "SERVING", [SIMULATOR_SERVICE]: "SERVING" });
  health.addToServer(server);
  // reflection lists only the services of the definition it is given: ours and health
  const healthPackage = protoLoader.loadSync(healthProtoPath, LOADER_OPTIONS);
  new ReflectionService({ ...simulatorPackage, ...healthPackage }).addToServer(server);

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
    });
    return closing;
  };

  return { port, setServing, close };
}

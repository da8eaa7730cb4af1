import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import pino from "pino";
import { ERROR_CODE_TRAILER } from "../../src/grpc/errors.js";
import { findProtoRoot, SIMULATOR_PROTO } from "../../src/grpc/proto.js";
import { startGrpcServer, type GrpcServerHandle } from "../../src/grpc/server.js";
import { type ServerLimits, DEFAULT_SERVER_LIMITS, Registry } from "../../src/registry.js";

export type Obj = Record<string, unknown>;

/**
 * The client's own view of the proto, as an ordinary grpc-js user would load it: camelCase,
 * int64 as Number, defaults on (so zero values are present, unset optionals absent).
 */
const clientPackage = protoLoader.loadSync(SIMULATOR_PROTO, {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
  includeDirs: [findProtoRoot()],
});
const methods = clientPackage["memcg_sim.v1.SimulatorService"] as grpc.ServiceDefinition;

export interface RpcFailure {
  code: grpc.status;
  details: string;
  errorCode: string | undefined;
  trailers: grpc.Metadata;
}

export interface TestServer {
  registry: Registry;
  server: GrpcServerHandle;
  client: grpc.Client;
  address: string;
  rpc(method: string, request?: Obj): Promise<Obj>;
  rpcError(method: string, request?: Obj): Promise<RpcFailure>;
  watch(request: Obj): grpc.ClientReadableStream<Obj>;
  close(): Promise<void>;
}

export async function startTestServer(limits: Partial<ServerLimits> = {}): Promise<TestServer> {
  const registry = new Registry({ ...DEFAULT_SERVER_LIMITS, ...limits });
  const server = await startGrpcServer({
    registry,
    host: "127.0.0.1",
    port: 0,
    logger: pino({ level: "silent" }),
    shutdownGraceMs: 500,
  });
  const address = `127.0.0.1:${server.port}`;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());

  const call = (method: string, request: Obj) =>
    new Promise<Obj>((resolve, reject) => {
      const m = methods[method];
      if (m === undefined) throw new Error(`no such method ${method}`);
      client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize as (b: Buffer) => Obj,
        request,
        (err, res) => (err ? reject(err) : resolve(res as Obj)),
      );
    });

  return {
    registry,
    server,
    client,
    address,
    rpc: (method, request = {}) => call(method, request),
    async rpcError(method, request = {}) {
      try {
        const res = await call(method, request);
        throw new Error(`${method} succeeded unexpectedly: ${JSON.stringify(res)}`);
      } catch (err) {
        const e = err as grpc.ServiceError;
        if (typeof e.code !== "number" || e.metadata === undefined) throw err;
        const code = e.metadata.get(ERROR_CODE_TRAILER)[0];
        return {
          code: e.code,
          details: e.details,
          errorCode: code === undefined ? undefined : String(code),
          trailers: e.metadata,
        };
      }
    },
    watch(request) {
      const m = methods.WatchEvents;
      return client.makeServerStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize as (b: Buffer) => Obj,
        request,
      );
    },
    async close() {
      client.close();
      await server.close();
    },
  };
}

/**
 * REST JSON → what a proto3 client decodes: null (unlimited, no shrinker, no error) is an absent
 * field, so both sides compare equal exactly when every value matches.
 */
export function asProto(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(asProto);
  if (v !== null && typeof v === "object") {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = asProto(x);
    return out;
  }
  return v;
}

/** Drops the virtual oneof-name properties (`oneofs: true`) a client sees, e.g. `_maxBytes: "maxBytes"`. */
export function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith("_") && x !== null) out[k] = plain(x);
    return out;
  }
  return v;
}

import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import pino from "pino";
import { afterEach } from "vitest";
import { ERROR_CODE_TRAILER, ERROR_DETAILS_TRAILER } from "../../src/grpc/errors.js";
import { findProtoRoot, LOADER_OPTIONS, SIMULATOR_PROTO } from "../../src/grpc/proto.js";
import { type GrpcServerHandle, startGrpcServer } from "../../src/grpc/server.js";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { Persistence } from "../../src/persistence/index.js";
import { DEFAULT_SERVER_LIMITS, Registry, type ServerLimits } from "../../src/registry.js";
import { buildApp } from "../../src/rest/app.js";
import type { ZodApp } from "../../src/rest/context.js";

export type Obj = Record<string, unknown>;

const clientPackage = protoLoader.loadSync(SIMULATOR_PROTO, {
  ...LOADER_OPTIONS,
  includeDirs: [findProtoRoot()],
});
export const methods = clientPackage["memcg_sim.v1.SimulatorService"] as grpc.ServiceDefinition;

export interface RpcOutcome {
  ok: boolean;
  code: grpc.status;
  details: string;
  errorCode?: string;
  errorDetails?: Obj;
  response?: Obj;
}

export interface Both {
  registry: Registry;
  app: ZodApp;
  grpcServer: GrpcServerHandle;
  client: grpc.Client;
  metrics: Metrics;
  base: string;
  grpcAddress: string;
  call(
    method: InjectOptions["method"],
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
  /** A unary call that never throws: OK or the status with its trailers decoded. */
  rpc(method: string, request?: Obj, metadata?: Record<string, string>): Promise<RpcOutcome>;
  watch(request: Obj, metadata?: Record<string, string>): grpc.ClientReadableStream<Obj>;
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!();
});

/**
 * REST (listening on a free loopback port, for SSE) and gRPC over one registry, one metrics
 * object and one in-memory command log, as src/server.ts wires them; closed after the test.
 */
export async function startBoth(
  opts: { limits?: Partial<ServerLimits>; apiToken?: string } = {},
): Promise<Both> {
  const registry = new Registry({ ...DEFAULT_SERVER_LIMITS, ...opts.limits });
  const metrics = createMetrics({ registry, defaultMetrics: false });
  const transfer = new Persistence({ dataDir: null });
  transfer.attach(registry);
  const common = {
    registry,
    metrics,
    transfer,
    flush: () => transfer.flush(),
    apiToken: opts.apiToken ?? null,
  };
  const app = await buildApp({
    ...common,
    sseHeartbeatMs: 60_000,
    logger: process.env.TEST_LOG ? pino({ level: "error" }) : undefined,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const grpcServer = await startGrpcServer({
    ...common,
    host: "127.0.0.1",
    port: 0,
    logger: pino({ level: "silent" }),
    shutdownGraceMs: 200,
  });
  const grpcAddress = `127.0.0.1:${grpcServer.port}`;
  const client = new grpc.Client(grpcAddress, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
  });
  open.push(async () => {
    client.close();
    await app.close();
    await grpcServer.close();
    metrics.close();
    transfer.close();
  });
  const md = (m?: Record<string, string>) => {
    const out = new grpc.Metadata();
    for (const [k, v] of Object.entries(m ?? {})) out.set(k, v);
    return out;
  };
  return {
    registry,
    app,
    grpcServer,
    client,
    metrics,
    base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    grpcAddress,
    call: (method, url, payload, headers) =>
      app.inject({ method, url, payload: payload as InjectOptions["payload"], headers }),
    rpc: (method, request = {}, metadata) => unary(client, method, request, md(metadata)),
    watch(request, metadata) {
      const m = methods.WatchEvents;
      return client.makeServerStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize as (b: Buffer) => Obj,
        request,
        md(metadata),
      );
    },
  };
}

export function unary(
  client: grpc.Client,
  method: string,
  request: Obj,
  metadata: grpc.Metadata = new grpc.Metadata(),
  serialize?: (v: Obj) => Buffer,
): Promise<RpcOutcome> {
  const m = methods[method];
  if (m === undefined) throw new Error(`no such method ${method}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      m.path,
      serialize ?? m.requestSerialize,
      m.responseDeserialize as (b: Buffer) => Obj,
      request,
      metadata,
      { deadline: Date.now() + 20_000 },
      (err, res) => {
        if (err === null)
          return resolve({ ok: true, code: grpc.status.OK, details: "", response: res as Obj });
        const e = err as grpc.ServiceError;
        const code = e.metadata?.get(ERROR_CODE_TRAILER)[0];
        const det = e.metadata?.get(ERROR_DETAILS_TRAILER)[0];
        resolve({
          ok: false,
          code: e.code,
          details: e.details,
          errorCode: code === undefined ? undefined : String(code),
          errorDetails:
            det === undefined ? undefined : (JSON.parse(Buffer.from(det as Buffer).toString("utf8")) as Obj),
        });
      },
    );
  });
}

// biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field by the assertions
export function json(r: LightMyRequestResponse): any {
  return JSON.parse(r.body);
}

/** The 429 of every limit: problem+json LIMIT_EXCEEDED naming the limit in `details.limit`. */
export function expectLimit(r: LightMyRequestResponse, limit: string): void {
  const body = r.body.startsWith("{") ? JSON.parse(r.body) : {};
  if (r.statusCode !== 429 || body.code !== "LIMIT_EXCEEDED" || body.details?.limit !== limit)
    throw new Error(
      `expected 429 LIMIT_EXCEEDED naming ${limit}, got ${r.statusCode} ${r.body.slice(0, 400)}`,
    );
}

export function expectGrpcLimit(o: RpcOutcome, limit: string): void {
  if (
    o.code !== grpc.status.RESOURCE_EXHAUSTED ||
    o.errorCode !== "LIMIT_EXCEEDED" ||
    o.errorDetails?.limit !== limit
  )
    throw new Error(`expected RESOURCE_EXHAUSTED LIMIT_EXCEEDED naming ${limit}, got ${JSON.stringify(o)}`);
}

import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { EngineError } from "../engine/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Registry } from "../registry.js";
import { parsePidMap, replayIntoInstance } from "../replay/service.js";
import type { ProtoObject } from "./mappers.js";
import { toGrpcError } from "./errors.js";

/**
 * `Replay` (client stream): the first ReplayRequest names the instance and the pid → cgroup map;
 * every message's `data` is the next bytes of the trace, replayed as they arrive (the same
 * `replayIntoInstance` as REST). Answers `{summary_json}` once the stream ends, after the commands
 * are durable.
 */
export function replayRpc(
  registry: Registry,
  logger: Logger,
  metrics: Metrics | undefined,
  durable: () => Promise<void>,
): grpc.handleClientStreamingCall<ProtoObject, unknown> {
  return (call, callback) => {
    const t0 = performance.now();
    const done = (err: unknown, response?: unknown) => {
      if (err !== null) {
        const e = toGrpcError(err, logger, "Replay");
        metrics?.observeGrpc("Replay", e.code, (performance.now() - t0) / 1000);
        callback(e);
        return;
      }
      metrics?.observeGrpc("Replay", grpc.status.OK, (performance.now() - t0) / 1000);
      callback(null, response);
    };
    (async () => {
      const it = (call as AsyncIterable<ProtoObject>)[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done)
        throw new EngineError(
          "INVALID_ARGUMENT",
          "a Replay stream needs a first message naming the instance and the pid map",
        );
      const head = first.value;
      const instance = typeof head.instance === "string" ? head.instance : "";
      const pids = parsePidMap(Array.isArray(head.pidCgroup) ? (head.pidCgroup as string[]) : []);
      const bytes = (m: ProtoObject) => (Buffer.isBuffer(m.data) ? m.data : Buffer.alloc(0));
      async function* source(): AsyncGenerator<Buffer> {
        const b = bytes(head);
        if (b.length > 0) yield b;
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          const c = bytes(r.value);
          if (c.length > 0) yield c;
        }
      }
      const summary = await replayIntoInstance(
        registry,
        instance,
        source(),
        pids,
        head.gzip === true ? "yes" : "auto",
      );
      await durable();
      return { summaryJson: JSON.stringify(summary) };
    })().then(
      (r) => done(null, r),
      (e) => done(e),
    );
  };
}

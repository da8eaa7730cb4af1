import { performance } from "node:perf_hooks";
import { parentPort } from "node:worker_threads";
import { EngineError } from "../engine/index.js";
import { type PointLimits, resultLine, runPoint } from "./point.js";
import type { SweepSpec } from "./spec.js";

/** A request to a sweep worker thread: run point `index` of `spec`. */
export interface PointRequest {
  id: number;
  spec: SweepSpec;
  index: number;
  limits: PointLimits;
}

/** Its answer: the results.jsonl line and how long it took, or the error it failed with. */
export type PointReply =
  | { id: number; line: string; wallMs: number }
  | { id: number; error: { code: string | null; message: string; details?: Record<string, unknown> } };

// The worker thread: the same code as the main thread (tsx in dev, compiled JS in dist/).
parentPort?.on("message", (req: PointRequest) => {
  const t0 = performance.now();
  let reply: PointReply;
  try {
    const line = resultLine(runPoint(req.spec, req.index, req.limits));
    reply = { id: req.id, line, wallMs: performance.now() - t0 };
  } catch (e) {
    reply =
      e instanceof EngineError
        ? { id: req.id, error: { code: e.code, message: e.message, details: e.details } }
        : {
            id: req.id,
            error: { code: null, message: e instanceof Error ? (e.stack ?? e.message) : String(e) },
          };
  }
  parentPort?.postMessage(reply);
});

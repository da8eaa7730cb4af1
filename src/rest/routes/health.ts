import { problem, sendProblem } from "../problem.js";
import type { ZodApp } from "../context.js";

/** Set by the caller (src/main.ts) once both listeners are bound and state is loaded. */
export interface Readiness {
  ready: boolean;
}

/** docs/API.md §1: liveness, readiness (503 NOT_READY before), healthz = readyz. */
export function healthRoutes(
  app: ZodApp,
  readiness: Readiness,
  failed: () => ReadonlyMap<string, string> = () => new Map(),
): void {
  app.get("/livez", async () => ({ status: "ok" }));
  const ready = async (_req: unknown, reply: import("fastify").FastifyReply) => {
    if (!readiness.ready)
      return sendProblem(reply, problem("NOT_READY", "the server is starting or shutting down"));
    const kept = failed();
    if (kept.size === 0) return { status: "ok" };
    // ready, and serving every other instance; the ones kept after a failed integrity check are named
    return {
      status: "ok",
      failedInstances: [...kept].map(([name, reason]) => ({ name, state: "failed", reason })),
    };
  };
  app.get("/readyz", ready);
  app.get("/healthz", ready);
}

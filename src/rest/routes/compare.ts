import type { RouteContext, ZodApp } from "../context.js";

/** Most commands a compare request may expand to, per model (a server limit: 429 beyond). */
export const MAX_COMPARE_COMMANDS = 1_000_000;

/**
 * `POST /v1/compare` (issue "Model comparison", docs/API.md §11): the body is a scenario document and
 * the models to run; the answer is the JSON of `memcg-sim compare --json`. It runs on fresh
 * in-process instances, never on the registry's, and stops when the client goes away.
 */
export function compareRoutes(app: ZodApp, ctx: RouteContext): void {
  app.post("/v1/compare", async (req, reply) => {
    const abort = new AbortController();
    // the response closing before it was written means the client went away; the request's own
    // 'close' fires as soon as its body has been read, so it cannot tell
    reply.raw.once("close", () => {
      if (!reply.raw.writableEnded) abort.abort();
    });
    // in slices that yield to the event loop; a client gone away stops it at the next boundary
    return ctx.service.compare(
      req.body,
      { maxCommands: MAX_COMPARE_COMMANDS, engine: ctx.registry.limits },
      abort.signal,
    );
  });
}

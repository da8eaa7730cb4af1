import { batchBody, parseCommand } from "../../commands/schemas.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";

/** docs/API.md §6: `/batch` (the simulation verbs of §5 are rows of the operation table, routes/commands.ts). */
export function simulationRoutes(app: ZodApp, ctx: RouteContext): void {
  const p = instanceParams;

  // Each command is parsed when its turn comes, so a malformed one is reported in its own slot
  // (with the path `commands.<i>.<field>`) instead of refusing the whole batch. The batch runs in
  // slices that yield to the event loop (Service.executeBatch); it is not cancelled when the client
  // goes away: a batch is a mutation, applied to its end as if the answer had been read.
  app.post("/v1/instances/:name/batch", { schema: { params: p, body: batchBody } }, async (req) => {
    const commands = req.body.commands.map((c, i) => () => parseCommand(c, `commands.${i}.`));
    return ctx.service.executeBatch(req.params.name, commands, req.body.stopOnError ?? true);
  });
}

/**
 * Per-instance order over REST: a request naming an instance (`:name`) that a batch is running on
 * waits until the batch is done (src/service/queue.ts), so a read never sees half a batch and a
 * reset or delete never cuts one; requests to other instances, probes and scrapes go on. Without a
 * running batch nothing waits (no promise, no extra turn).
 */
export function instanceOrder(app: ZodApp, ctx: RouteContext): void {
  app.addHook("preHandler", (req, _reply, done) => {
    const name = (req.params as { name?: unknown } | undefined)?.name;
    const busy = typeof name === "string" ? ctx.service.idle(name) : undefined;
    if (busy === undefined) done();
    else void busy.then(() => done());
  });
}

import { batchBody, parseCommand } from "../../commands/schemas.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";

/** docs/API.md §6: `/batch` (the simulation verbs of §5 are rows of the operation table, routes/commands.ts). */
export function simulationRoutes(app: ZodApp, ctx: RouteContext): void {
  const p = instanceParams;

  // Each command is parsed when its turn comes, so a malformed one is reported in its own slot
  // (with the path `commands.<i>.<field>`) instead of refusing the whole batch.
  app.post("/v1/instances/:name/batch", { schema: { params: p, body: batchBody } }, async (req) => {
    const commands = req.body.commands.map((c, i) => () => parseCommand(c, `commands.${i}.`));
    try {
      return ctx.registry.executeBatch(req.params.name, commands, req.body.stopOnError ?? true);
    } finally {
      await ctx.durable();
    }
  });
}

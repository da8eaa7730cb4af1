import {
  advanceClockBody,
  allocObjectsBody,
  allocPagesBody,
  batchBody,
  freeObjectsBody,
  freePagesBody,
  parseCommand,
  reclaimBody,
} from "../../commands/schemas.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";

/** docs/API.md §5 and §6: the simulation verbs (a simulated failure is a 200 result) and `/batch`. */
export function simulationRoutes(app: ZodApp, ctx: RouteContext): void {
  const p = instanceParams;

  app.post(
    "/v1/instances/:name/objects/alloc",
    { schema: { params: p, body: allocObjectsBody } },
    async (req) => ctx.mutate(req.params.name, { op: "allocObjects", ...req.body }),
  );
  app.post(
    "/v1/instances/:name/objects/free",
    { schema: { params: p, body: freeObjectsBody } },
    async (req) => ctx.mutate(req.params.name, { op: "freeObjects", ...req.body }),
  );
  app.post("/v1/instances/:name/pages/alloc", { schema: { params: p, body: allocPagesBody } }, async (req) =>
    ctx.mutate(req.params.name, { op: "allocPages", ...req.body }),
  );
  app.post("/v1/instances/:name/pages/free", { schema: { params: p, body: freePagesBody } }, async (req) =>
    ctx.mutate(req.params.name, { op: "freePages", ...req.body }),
  );
  app.post("/v1/instances/:name/reclaim", { schema: { params: p, body: reclaimBody } }, async (req) =>
    ctx.mutate(req.params.name, { op: "reclaim", ...req.body }),
  );
  app.post(
    "/v1/instances/:name/clock/advance",
    { schema: { params: p, body: advanceClockBody } },
    async (req) => ctx.mutate(req.params.name, { op: "advanceClock", ...req.body }),
  );

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

import { getTask, listTasks } from "../../commands/queries.js";
import { moveTaskBody, spawnTaskBody } from "../../commands/schemas.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams, pidParams } from "../paths.js";

/** docs/API.md §4 tasks: spawn, move (charges stay behind), exit. */
export function taskRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.post(
    "/v1/instances/:name/tasks",
    { schema: { params: instanceParams, body: spawnTaskBody } },
    async (req, reply) =>
      reply.code(201).send(await ctx.mutate(req.params.name, { op: "spawnTask", ...req.body })),
  );

  app.get("/v1/instances/:name/tasks", { schema: { params: instanceParams } }, async (req) =>
    listTasks(registry, req.params.name),
  );

  app.get("/v1/instances/:name/tasks/:pid", { schema: { params: pidParams } }, async (req) =>
    getTask(registry, req.params.name, req.params.pid),
  );

  app.post(
    "/v1/instances/:name/tasks/:pid/move",
    { schema: { params: pidParams, body: moveTaskBody } },
    async (req) => ctx.mutate(req.params.name, { op: "moveTask", pid: req.params.pid, ...req.body }),
  );

  app.delete("/v1/instances/:name/tasks/:pid", { schema: { params: pidParams } }, async (req, reply) => {
    await ctx.mutate(req.params.name, { op: "exitTask", pid: req.params.pid });
    return reply.code(204).send();
  });
}

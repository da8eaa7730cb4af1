import { getTask, listTasks } from "../../commands/queries.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams, pidParams } from "../paths.js";

/** docs/API.md §4 tasks, the reads. Spawn, move (charges stay behind) and exit are rows of the operation table (routes/commands.ts). */
export function taskRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.get("/v1/instances/:name/tasks", { schema: { params: instanceParams } }, async (req) =>
    listTasks(registry, req.params.name),
  );

  app.get("/v1/instances/:name/tasks/:pid", { schema: { params: pidParams } }, async (req) =>
    getTask(registry, req.params.name, req.params.pid),
  );
}

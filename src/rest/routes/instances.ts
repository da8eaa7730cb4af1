import { createInstanceBody } from "../../commands/instance-body.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";

/** docs/API.md §3: named instances. Create/delete/reset are registry events (journaled by persistence). */
export function instanceRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.post("/v1/instances", { schema: { body: createInstanceBody } }, async (req, reply) => {
    const entry = registry.create(req.body.name, req.body.config);
    await ctx.durable();
    return reply.code(201).send(registry.view(entry));
  });

  app.get("/v1/instances", async () => {
    const instances = registry.list().map((e) => registry.view(e));
    const failed = registry.failedInstances();
    return failed.length === 0 ? { instances } : { instances, failedInstances: failed };
  });

  app.get("/v1/instances/:name", { schema: { params: instanceParams } }, async (req) =>
    registry.view(registry.get(req.params.name)),
  );

  app.delete("/v1/instances/:name", { schema: { params: instanceParams } }, async (req, reply) => {
    registry.delete(req.params.name);
    await ctx.durable();
    return reply.code(204).send();
  });

  app.post("/v1/instances/:name/reset", { schema: { params: instanceParams } }, async (req) => {
    const entry = registry.reset(req.params.name);
    await ctx.durable();
    return registry.view(entry);
  });
}

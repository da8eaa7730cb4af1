import { getCache, listCaches } from "../../commands/queries.js";
import { createCacheBody } from "../../commands/schemas.js";
import type { RouteContext, ZodApp } from "../context.js";
import { cacheParams, instanceParams } from "../paths.js";

/** docs/API.md §4 caches: kmem_cache_create, the seed's register_memcg_cache, kmem_cache_destroy. */
export function cacheRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.post(
    "/v1/instances/:name/caches",
    { schema: { params: instanceParams, body: createCacheBody } },
    async (req, reply) =>
      reply.code(201).send(await ctx.mutate(req.params.name, { op: "createCache", ...req.body })),
  );

  app.post("/v1/instances/:name/caches/:cache/register", { schema: { params: cacheParams } }, async (req) =>
    ctx.mutate(req.params.name, { op: "registerCache", name: req.params.cache }),
  );

  app.get("/v1/instances/:name/caches", { schema: { params: instanceParams } }, async (req) =>
    listCaches(registry, req.params.name),
  );

  app.get("/v1/instances/:name/caches/:cache", { schema: { params: cacheParams } }, async (req) =>
    getCache(registry, req.params.name, req.params.cache),
  );

  app.delete("/v1/instances/:name/caches/:cache", { schema: { params: cacheParams } }, async (req, reply) => {
    await ctx.mutate(req.params.name, { op: "removeCache", name: req.params.cache });
    return reply.code(204).send();
  });
}

import { getCache, listCaches } from "../../commands/queries.js";
import type { RouteContext, ZodApp } from "../context.js";
import { cacheParams, instanceParams } from "../paths.js";

/**
 * docs/API.md §4 caches, the reads. kmem_cache_create, the seed's register_memcg_cache and
 * kmem_cache_destroy are rows of the operation table (routes/commands.ts).
 */
export function cacheRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.get("/v1/instances/:name/caches", { schema: { params: instanceParams } }, async (req) =>
    listCaches(registry, req.params.name),
  );

  app.get("/v1/instances/:name/caches/:cache", { schema: { params: cacheParams } }, async (req) =>
    getCache(registry, req.params.name, req.params.cache),
  );
}

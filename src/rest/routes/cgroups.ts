import { createCgroupBody, updateCgroupBody } from "../../commands/schemas.js";
import { getCgroup, listCgroups } from "../../commands/queries.js";
import type { RouteContext, ZodApp } from "../context.js";
import { cgroupPathOf, instanceParams, wildcardParams } from "../paths.js";

/** docs/API.md §4 cgroups: the path follows `/cgroups/` as a wildcard, the root is `/cgroups/`. */
export function cgroupRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.post(
    "/v1/instances/:name/cgroups",
    { schema: { params: instanceParams, body: createCgroupBody } },
    async (req, reply) =>
      reply.code(201).send(await ctx.mutate(req.params.name, { op: "createCgroup", ...req.body })),
  );

  app.get("/v1/instances/:name/cgroups", { schema: { params: instanceParams } }, async (req) =>
    listCgroups(registry, req.params.name),
  );

  app.get("/v1/instances/:name/cgroups/*", { schema: { params: wildcardParams } }, async (req) =>
    getCgroup(registry, req.params.name, cgroupPathOf(req.params["*"])),
  );

  app.patch(
    "/v1/instances/:name/cgroups/*",
    { schema: { params: wildcardParams, body: updateCgroupBody } },
    async (req) =>
      ctx.mutate(req.params.name, { op: "updateCgroup", path: cgroupPathOf(req.params["*"]), ...req.body }),
  );

  app.delete("/v1/instances/:name/cgroups/*", { schema: { params: wildcardParams } }, async (req, reply) => {
    await ctx.mutate(req.params.name, { op: "removeCgroup", path: cgroupPathOf(req.params["*"]) });
    return reply.code(204).send();
  });
}

import { getCgroup, listCgroups } from "../../commands/queries.js";
import type { RouteContext, ZodApp } from "../context.js";
import { cgroupPathOf, instanceParams, wildcardParams } from "../paths.js";

/**
 * docs/API.md §4 cgroups, the reads: the path follows `/cgroups/` as a wildcard, the root is
 * `/cgroups/`. Create, update and delete are rows of the operation table (routes/commands.ts).
 */
export function cgroupRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.get("/v1/instances/:name/cgroups", { schema: { params: instanceParams } }, async (req) =>
    listCgroups(registry, req.params.name),
  );

  app.get("/v1/instances/:name/cgroups/*", { schema: { params: wildcardParams } }, async (req) =>
    getCgroup(registry, req.params.name, cgroupPathOf(req.params["*"])),
  );
}

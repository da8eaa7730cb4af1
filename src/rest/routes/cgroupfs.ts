import { readFile, readProcMeminfo, readProcSlabinfo } from "../../commands/queries.js";
import type { RouteContext, ZodApp } from "../context.js";
import { fsTargetOf, instanceParams, wildcardParams } from "../paths.js";

const TEXT = "text/plain; charset=utf-8";
/**
 * docs/API.md §7: the cgroupfs facade. GET answers the file byte-for-byte; PUT is `echo body > file`
 * (trimmed, as the kernel ignores the newline echo adds), answered 204 like a write(2) that returns
 * nothing: the `writeFile` row of the operation table (routes/commands.ts).
 */
export function cgroupfsRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.get("/v1/instances/:name/fs/*", { schema: { params: wildcardParams } }, async (req, reply) => {
    const { cgroup, file } = fsTargetOf(req.params["*"]);
    return reply.type(TEXT).send(readFile(registry, req.params.name, cgroup, file));
  });

  app.get("/v1/instances/:name/proc/slabinfo", { schema: { params: instanceParams } }, async (req, reply) =>
    reply.type(TEXT).send(readProcSlabinfo(registry, req.params.name)),
  );
  app.get("/v1/instances/:name/proc/meminfo", { schema: { params: instanceParams } }, async (req, reply) =>
    reply.type(TEXT).send(readProcMeminfo(registry, req.params.name)),
  );
}

import { z } from "zod";
import { readFile, readProcMeminfo, readProcSlabinfo } from "../../commands/queries.js";
import { parseCommand } from "../../commands/schemas.js";
import type { BodyConfig } from "../content-type.js";
import type { RouteContext, ZodApp } from "../context.js";
import { fsTargetOf, instanceParams, wildcardParams } from "../paths.js";

const TEXT = "text/plain; charset=utf-8";
const textBody = z.string();

/**
 * docs/API.md §7: the cgroupfs facade. GET answers the file byte-for-byte; PUT is `echo body > file`
 * (trimmed, as the kernel ignores the newline echo adds), answered 204 like a write(2) that returns nothing.
 */
export function cgroupfsRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry } = ctx;

  app.get("/v1/instances/:name/fs/*", { schema: { params: wildcardParams } }, async (req, reply) => {
    const { cgroup, file } = fsTargetOf(req.params["*"]);
    return reply.type(TEXT).send(readFile(registry, req.params.name, cgroup, file));
  });

  const config: BodyConfig = { textBody: true };
  app.put(
    "/v1/instances/:name/fs/*",
    { config, schema: { params: wildcardParams, body: textBody } },
    async (req, reply) => {
      const { cgroup, file } = fsTargetOf(req.params["*"]);
      // Through the command schema, so the value's length limit is the one batches and scenarios have.
      await ctx.mutate(
        req.params.name,
        parseCommand({ op: "writeFile", cgroup, file, value: req.body.trim() }),
      );
      return reply.code(204).send();
    },
  );

  app.get("/v1/instances/:name/proc/slabinfo", { schema: { params: instanceParams } }, async (req, reply) =>
    reply.type(TEXT).send(readProcSlabinfo(registry, req.params.name)),
  );
  app.get("/v1/instances/:name/proc/meminfo", { schema: { params: instanceParams } }, async (req, reply) =>
    reply.type(TEXT).send(readProcMeminfo(registry, req.params.name)),
  );
}

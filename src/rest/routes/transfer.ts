import { Readable } from "node:stream";
import { z } from "zod";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";

/** What export/import run on now lives in the service layer (src/service/transfer.ts). */
export type { Transfer } from "../../service/index.js";

const importQuery = z.object({ name: z.string().min(1).max(63).optional() }).strict();

/**
 * `GET /v1/instances/{name}/export` (config + accepted commands, see src/persistence/export.ts) and
 * `POST /v1/instances/import[?name=new-name]` → 201 Instance. The document is validated whole by
 * the persistence's schema (400 INVALID_ARGUMENT with `details.issues`), the import is atomic.
 */
export function transferRoutes(app: ZodApp, ctx: RouteContext): void {
  const { registry, service } = ctx;

  // streamed: a version 2 document carries the base state (megabytes for a large instance); every
  // check is done by exportText before the first byte, so a failure is still a problem+json
  app.get("/v1/instances/:name/export", { schema: { params: instanceParams } }, async (req, reply) => {
    const chunks = service.exportText(req.params.name);
    return reply.type("application/json; charset=utf-8").send(Readable.from(chunks, { objectMode: false }));
  });

  app.post("/v1/instances/import", { schema: { querystring: importQuery } }, async (req, reply) => {
    const entry = await service.commit(() => service.importInstance(req.body, req.query.name));
    return reply.code(201).send(registry.view(entry));
  });
}

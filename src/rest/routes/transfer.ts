import { z } from "zod";
import type { ExportDoc } from "../../persistence/index.js";
import type { Entry, Registry } from "../../registry.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";

/** What export/import run on: the Persistence (its journal or its in-memory command log). */
export interface Transfer {
  exportInstance(registry: Registry, name: string): ExportDoc;
  importInstance(registry: Registry, doc: unknown, opts?: { name?: string; maxCommands?: number }): Entry;
}

const importQuery = z.object({ name: z.string().min(1).max(63).optional() }).strict();

/**
 * `GET /v1/instances/{name}/export` (config + accepted commands, see src/persistence/export.ts) and
 * `POST /v1/instances/import[?name=new-name]` → 201 Instance. The document is validated whole by
 * the persistence's schema (400 INVALID_ARGUMENT with `details.issues`), the import is atomic.
 */
export function transferRoutes(app: ZodApp, ctx: RouteContext, transfer: Transfer): void {
  const { registry } = ctx;

  app.get("/v1/instances/:name/export", { schema: { params: instanceParams } }, async (req) => {
    ctx.flush();
    return transfer.exportInstance(registry, req.params.name);
  });

  app.post("/v1/instances/import", { schema: { querystring: importQuery } }, async (req, reply) => {
    const entry = transfer.importInstance(registry, req.body, {
      name: req.query.name,
      maxCommands: registry.limits.maxImportCommands,
    });
    await ctx.durable();
    return reply.code(201).send(registry.view(entry));
  });
}

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { parse } from "yaml";
import type { ZodApp } from "../context.js";
import { projectRoot } from "../openapi-file.js";

/**
 * The contract as an object: from dist/openapi.json (written by `npm run build`,
 * scripts/openapi-json.mjs) when its sha256 is the text's, else parsed from the YAML (~0.3 s).
 */
function openapiDocument(openapiText: string): unknown {
  try {
    const cached = JSON.parse(readFileSync(join(projectRoot(), "dist", "openapi.json"), "utf8")) as {
      sha256?: string;
      document?: unknown;
    };
    if (cached.sha256 === createHash("sha256").update(openapiText).digest("hex")) return cached.document;
  } catch {
    // no build output (tsx, tests): parse the YAML
  }
  return parse(openapiText);
}

/**
 * `GET /openapi.yaml` (the committed contract, served as is) and `/docs` (swagger-ui rendering
 * it). @fastify/swagger runs in static mode: the document is the file, never generated from routes.
 */
export async function docsRoutes(app: ZodApp, openapiText: string): Promise<void> {
  app.get("/openapi.yaml", async (_req, reply) =>
    reply.type("application/yaml; charset=utf-8").send(openapiText),
  );
  await app.register(swagger, {
    mode: "static",
    specification: { document: openapiDocument(openapiText) as never },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", logLevel: "warn" });
}

import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { parse } from "yaml";
import type { ZodApp } from "../context.js";

/**
 * `GET /openapi.yaml` (the committed contract, served as is) and `/docs` (swagger-ui rendering
 * it). @fastify/swagger runs in static mode: the document is the file, never generated from routes.
 */
export async function docsRoutes(app: ZodApp, openapiText: string): Promise<void> {
  app.get("/openapi.yaml", async (_req, reply) =>
    reply.type("application/yaml; charset=utf-8").send(openapiText),
  );
  await app.register(swagger, { mode: "static", specification: { document: parse(openapiText) } });
  await app.register(swaggerUi, { routePrefix: "/docs", logLevel: "warn" });
}

import type { FastifyInstance } from "fastify";
import { EngineError } from "../engine/index.js";
import type { Service } from "../service/index.js";

/**
 * Routes that stay open when a token is set: probes, Prometheus scrapes and the published
 * contract. Everything else (every `/v1/...` route, reads included, and unmatched URLs) needs the
 * token: deny by default, so a route added later is protected without anyone remembering to.
 */
export const OPEN_ROUTES: readonly string[] = [
  "/livez",
  "/readyz",
  "/healthz",
  "/metrics",
  "/metrics/cadvisor",
  "/openapi.yaml",
];

function isOpen(route: string | undefined): boolean {
  if (route === undefined) return false;
  return OPEN_ROUTES.includes(route) || route === "/docs" || route.startsWith("/docs/");
}

/** 401 UNAUTHENTICATED (problem+json, `WWW-Authenticate: Bearer`) on a protected route without the token. */
export function registerAuth(app: FastifyInstance, service: Service): void {
  if (service.auth === null) return;
  const matches = service.authorized;
  app.addHook("onRequest", async (req, reply) => {
    if (isOpen(req.routeOptions.url)) return;
    if (matches(req.headers.authorization)) return;
    reply.header("www-authenticate", 'Bearer realm="memcg-sim"');
    throw new EngineError(
      "UNAUTHENTICATED",
      "this server requires Authorization: Bearer <token> (MEMCG_SIM_API_TOKEN)",
    );
  });
}

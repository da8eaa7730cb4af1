import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { EngineError } from "../engine/index.js";

/** The API token (`MEMCG_SIM_API_TOKEN` / `--api-token`). */
export interface ApiAuth {
  token: string;
}

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

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * A constant-time check of `Bearer <token>` (RFC 6750): both sides are hashed first, so the
 * comparison takes the same time whatever the length or the first differing byte.
 */
export function tokenMatcher(token: string): (authorization: unknown) => boolean {
  const want = digest(token);
  return (authorization) => {
    if (typeof authorization !== "string") return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    const given = digest(m === null ? "" : m[1]);
    return timingSafeEqual(given, want) && m !== null;
  };
}

/** 401 UNAUTHENTICATED (problem+json, `WWW-Authenticate: Bearer`) on a protected route without the token. */
export function registerAuth(app: FastifyInstance, auth: ApiAuth | null): void {
  if (auth === null) return;
  const matches = tokenMatcher(auth.token);
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

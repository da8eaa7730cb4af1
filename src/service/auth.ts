import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The API token (`MEMCG_SIM_API_TOKEN` / `--api-token`), checked the same way on both transports:
 * REST's `Authorization` header (src/rest/auth.ts) and gRPC's `authorization` metadata
 * (src/grpc/server.ts).
 */
export interface ApiAuth {
  token: string;
}

/** A configured token, or null when none is set (an empty token means none). */
export function authOf(token: string | null | undefined): ApiAuth | null {
  return token === undefined || token === null || token === "" ? null : { token };
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

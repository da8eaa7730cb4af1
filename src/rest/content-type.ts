import type { FastifyInstance, FastifyRequest } from "fastify";
import { EngineError } from "../engine/index.js";

/** Route config flag: the route takes a `text/plain` body (the cgroupfs facade's PUT), not JSON. */
export interface BodyConfig {
  textBody?: boolean;
  /** The route streams a text or gzip body itself (the replay route). */
  streamBody?: boolean;
}

function mediaType(req: FastifyRequest): string | null {
  const h = req.headers["content-type"];
  if (h === undefined || h === "") return null;
  return h.split(";")[0].trim().toLowerCase();
}

function hasBody(req: FastifyRequest): boolean {
  const len = req.headers["content-length"];
  if (len !== undefined) return Number(len) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

/**
 * Body parsing: JSON everywhere (an empty body is "no body", so `curl -X POST -H 'content-type:
 * application/json' .../reset` is fine), `text/plain` only where a route asks for it. fastify's
 * own JSON parser is kept for its prototype-poisoning checks.
 */
export function registerBodyParsing(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    if (body === "" || (typeof body === "string" && body.trim() === "")) return done(null, undefined);
    json(req, body as string, done);
  });

  // Wrong media type for the route: 415, checked before parsing so a text body sent as JSON is not
  // reported as bad JSON (fastify answers 415 itself for types it cannot parse at all).
  app.addHook("onRequest", (req, _reply, done) => {
    const wantsText = (req.routeOptions.config as BodyConfig | undefined)?.textBody === true;
    const type = mediaType(req);
    if ((req.routeOptions.config as BodyConfig | undefined)?.streamBody === true) {
      const ok = ["text/plain", "application/gzip", "application/x-gzip", "application/octet-stream"];
      if (type === null || !ok.includes(type))
        return done(
          new EngineError(
            "UNSUPPORTED_MEDIA_TYPE",
            `this route takes a ${ok.join(", ")} body, not ${type ?? "none"}`,
          ),
        );
      return done();
    }
    if (wantsText) {
      if (type !== "text/plain")
        return done(
          new EngineError(
            "UNSUPPORTED_MEDIA_TYPE",
            `this route takes a text/plain body, not ${type ?? "none"}`,
          ),
        );
      return done();
    }
    if (type !== null && type !== "application/json" && hasBody(req))
      return done(
        new EngineError("UNSUPPORTED_MEDIA_TYPE", `this route takes an application/json body, not ${type}`),
      );
    done();
  });
}

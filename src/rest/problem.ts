import type { FastifyBaseLogger, FastifyError, FastifyReply } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { statusOf } from "../commands/error-status.js";
import { EngineError, type ErrorCode } from "../engine/index.js";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** The RFC 9457 body of docs/API.md §2. `code` is always one of the closed catalogue. */
export interface Problem {
  type: "about:blank";
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  details?: Record<string, unknown>;
}

export function problem(code: ErrorCode, detail: string, details?: Record<string, unknown>): Problem {
  const s = statusOf(code);
  const p: Problem = { type: "about:blank", title: s.title, status: s.http, detail, code };
  if (details !== undefined && Object.keys(details).length > 0) p.details = details;
  return p;
}

/** zod issues from fastify-type-provider-zod as `details.issues` (docs/API.md §2). */
function validationProblem(err: FastifyError & { validationContext?: string }): Problem {
  const issues = (err.validation ?? []).map((v) => {
    const path = v.instancePath
      .split("/")
      .filter((s) => s !== "")
      .join(".");
    return { path, message: v.message ?? "invalid" };
  });
  const where = err.validationContext ?? "request";
  const text = issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ");
  return problem("INVALID_ARGUMENT", `invalid ${where}: ${text}`, { issues });
}

/**
 * Maps fastify's own client errors (FST_ERR_CTP_*, bad JSON, body limit, ...) onto the catalogue.
 * They carry a 4xx statusCode; anything without one is not a client error.
 */
function fastifyClientProblem(err: FastifyError): Problem | null {
  const status = err.statusCode;
  if (status === undefined || status < 400 || status >= 500) return null;
  if (status === 413)
    return problem("PAYLOAD_TOO_LARGE", "request body exceeds the server's body size limit");
  if (status === 415) return problem("UNSUPPORTED_MEDIA_TYPE", err.message);
  if (status === 404) return problem("NOT_FOUND", err.message);
  if (status === 429) return problem("LIMIT_EXCEEDED", err.message);
  // Bad JSON, an empty JSON body, prototype poisoning, a bad content-length: the request is malformed.
  return problem("INVALID_ARGUMENT", err.message, { issues: [{ path: "", message: err.message }] });
}

/**
 * Any thrown value → problem. EngineErrors and client errors keep their code; everything else
 * is a bug: logged with its stack, answered 500 INTERNAL with a generic text (never the cause).
 */
export function toProblem(err: unknown, log: FastifyBaseLogger): Problem {
  if (err instanceof EngineError) return problem(err.code, err.message, err.details);
  if (typeof err === "object" && err !== null) {
    const fe = err as FastifyError;
    if (hasZodFastifySchemaValidationErrors(fe)) return validationProblem(fe);
    const client = fastifyClientProblem(fe);
    if (client !== null) return client;
  }
  log.error({ err }, "internal error while handling a request");
  return problem("INTERNAL", "internal error; the server log has the cause");
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(p);
}

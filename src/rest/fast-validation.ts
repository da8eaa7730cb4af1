import type { FastifySchemaCompiler } from "fastify";
import { validatorCompiler } from "fastify-type-provider-zod";
import type { z } from "zod";
import { compiledCheck, PLAIN_BODY_OPERATIONS } from "../commands/compiled-check.js";
import { batchBody } from "../commands/schemas.js";
import { instanceParams } from "./paths.js";

/**
 * Schemas whose requests take fastify's own compiled path: an Ajv validator compiled from the zod
 * schema (`z.toJSONSchema`, zod stays the single source of truth) accepts a valid request without
 * a zod parse. Only schemas a JSON Schema states exactly are listed: plain objects of strings,
 * integers, booleans, enums and arrays (no refinement, transform, default or coercion), so Ajv
 * accepts exactly what zod accepts and zod's result would equal the input.
 */
const FAST: ReadonlySet<z.ZodType> = new Set<z.ZodType>([
  instanceParams,
  batchBody,
  ...PLAIN_BODY_OPERATIONS.map((r) => r.body as z.ZodType),
]);

/**
 * The route validator: for a listed schema the compiled Ajv check first; what it refuses (and
 * every other schema) goes through zod, so a bad request gets zod's problem+json issues, word for
 * word, whatever path it took.
 */
export const validatorCompilerFast: FastifySchemaCompiler<z.ZodType> = (route) => {
  const slow = validatorCompiler(route);
  const schema = route.schema;
  if (!FAST.has(schema)) return slow;
  // compiled on the route's first request, once per schema (instanceParams serves every route):
  // compiling all of them at start-up was ~0.2 s of the server's ~1.5 s start (docs/BENCHMARKS.md)
  let check: ((data: unknown) => boolean) | null = null;
  return (data) => {
    if (check === null) check = compiledCheck(schema);
    return check(data) ? { value: data } : slow(data);
  };
};

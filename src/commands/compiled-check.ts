import { Ajv2020 } from "ajv/dist/2020.js";
import { z } from "zod";
import { COMMAND_OPERATIONS } from "./operations.js";

/**
 * A compiled Ajv check from a zod schema (`z.toJSONSchema`, zod stays the single source of truth),
 * for the hot request paths of both transports: a request the check accepts needs no zod parse.
 * Only for schemas a JSON Schema states exactly — plain objects of strings, integers, booleans,
 * enums and arrays (no refinement, transform, default or coercion) — so Ajv accepts exactly what
 * zod accepts and zod's result would equal the input; what the check refuses goes through zod,
 * whose issues are the error's (docs/API.md §1).
 */

// string lengths in UTF-16 code units, as zod counts them (Ajv counts code points by default; the
// option still works but is marked deprecated, which Ajv would log at each start: logger off)
const ajv = new Ajv2020({
  unicode: false,
  strict: false,
  allErrors: false,
  coerceTypes: false,
  logger: false,
});

const compiledBySchema = new WeakMap<z.ZodType, (data: unknown) => boolean>();

/** The compiled check of `schema`, compiled on first use and kept (compiling all at start-up costs ~0.2 s). */
export function compiledCheck(schema: z.ZodType): (data: unknown) => boolean {
  let check = compiledBySchema.get(schema);
  if (check === undefined) {
    check = ajv.compile(z.toJSONSchema(schema, { io: "input", unrepresentable: "throw" }) as object);
    compiledBySchema.set(schema, check);
  }
  return check;
}

/**
 * The operations whose whole command is `{op, ...body}` (their REST target is "none": nothing of
 * the command comes from the URL) with a body schema: a valid body is the command's fields as is.
 */
export const PLAIN_BODY_OPERATIONS = COMMAND_OPERATIONS.filter(
  (r) => r.rest.target === "none" && r.body !== null,
);

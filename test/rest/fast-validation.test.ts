import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { COMMAND_OPERATIONS } from "../../src/commands/operations.js";
import { allocObjectsBody, batchBody, freeObjectsBody } from "../../src/commands/schemas.js";
import { validatorCompilerFast } from "../../src/rest/fast-validation.js";

type Validate = (data: unknown) => { value?: unknown; error?: unknown };
const compile = (schema: z.ZodType) =>
  validatorCompilerFast({ schema, method: "POST", url: "/", httpPart: "body" }) as Validate;

/** What zod says of `data`: the accepted value, or the issues' paths and messages. */
function zodSays(schema: z.ZodType, data: unknown) {
  const r = schema.safeParse(data);
  return r.success ? { ok: r.data } : { issues: r.error.issues.map((i) => [i.path.join("."), i.message]) };
}
/** What the route's validator says: the accepted value, or refused (then it is zod's own answer, word for word). */
function fastSays(schema: z.ZodType, data: unknown) {
  const r = compile(schema)(data);
  return r.error === undefined ? { ok: r.value } : { refused: r.error };
}

const astral = "\u{1F600}"; // one code point, two UTF-16 code units

describe("the compiled validator of the hot routes accepts exactly what zod accepts", () => {
  const cases: [string, z.ZodType, unknown][] = [
    ["alloc ok", allocObjectsBody, { cache: "dentry", pid: 100, count: 1 }],
    [
      "alloc ok, all fields",
      allocObjectsBody,
      { cache: "d", cgroup: "/a", count: 3, gfp: "GFP_KERNEL", reclaimable: true, returnObjectIds: false },
    ],
    ["alloc extra key", allocObjectsBody, { cache: "dentry", bogus: 1 }],
    ["alloc no cache", allocObjectsBody, { count: 1 }],
    ["alloc count 0", allocObjectsBody, { cache: "d", count: 0 }],
    ["alloc count 1.5", allocObjectsBody, { cache: "d", count: 1.5 }],
    ["alloc count 2^53", allocObjectsBody, { cache: "d", count: 2 ** 53 }],
    ["alloc count as string", allocObjectsBody, { cache: "d", count: "1" }],
    ["alloc pid above max", allocObjectsBody, { cache: "d", pid: 4194305 }],
    ["alloc cache 64 units", allocObjectsBody, { cache: "x".repeat(64) }],
    ["alloc cache 65 units", allocObjectsBody, { cache: "x".repeat(65) }],
    ["alloc cache 33 astral (66 units, 33 code points)", allocObjectsBody, { cache: astral.repeat(33) }],
    ["alloc cache empty", allocObjectsBody, { cache: "" }],
    ["alloc null body", allocObjectsBody, null],
    ["alloc array body", allocObjectsBody, [{ cache: "d" }]],
    ["free order enum", freeObjectsBody, { cache: "d", order: "oldest" }],
    ["free bad order", freeObjectsBody, { cache: "d", order: "sideways" }],
    ["free ids", freeObjectsBody, { objectIds: [0, 1, 2] }],
    ["free negative id", freeObjectsBody, { objectIds: [-1] }],
    ["batch ok", batchBody, { commands: [{ op: "x" }, 1, null], stopOnError: false }],
    ["batch not array", batchBody, { commands: {} }],
    ["batch extra", batchBody, { commands: [], more: true }],
  ];
  for (const [name, schema, data] of cases)
    it(name, () => {
      const z0 = zodSays(schema, data);
      const f = fastSays(schema, data);
      if ("ok" in z0) expect(f).toEqual(z0);
      else {
        expect("refused" in f).toBe(true);
        const issues = (f as { refused: { message: string }[] }).refused;
        expect(issues.map((i) => i.message)).toEqual(z0.issues.map((i) => i[1]));
      }
    });

  it("covers every command body whose target is the instance", () => {
    for (const row of COMMAND_OPERATIONS)
      if (row.rest.target === "none" && row.body !== null) expect(compile(row.body)).toBeTypeOf("function");
  });
});

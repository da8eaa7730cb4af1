import type { z } from "zod";
import { compiledCheck, PLAIN_BODY_OPERATIONS } from "../commands/compiled-check.js";
import { OPERATION_OF_OP } from "../commands/operations.js";
import { parseCommand } from "../commands/schemas.js";
import { type Command, EngineError, fail, type Op, OPS, type SimEvent } from "../engine/index.js";

/**
 * proto ⇄ command-language mapping. A decoded request (camelCase, see LOADER_OPTIONS) is already
 * the REST body plus `instance`; what remains is the few places where proto3 cannot say what
 * JSON says (null vs absent), so each adapter below is a spelling change, never a domain rule.
 */
export type ProtoObject = Record<string, unknown>;

/** The RPC of each op (the operation table, src/commands/operations.ts). */
export const RPC_OF_OP: Record<Op, string> = Object.fromEntries(
  OPS.map((op) => [op, OPERATION_OF_OP[op].rpc]),
) as Record<Op, string>;

/** Unset message fields decode as null (proto-loader `defaults`); in JSON terms they are absent. */
export function withoutNulls(o: ProtoObject): ProtoObject {
  const out: ProtoObject = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue;
    out[k] = isPlainObject(v) ? withoutNulls(v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is ProtoObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

const LIMIT_FIELDS = [
  "memoryMaxBytes",
  "memoryHighBytes",
  "memoryLowBytes",
  "memoryMinBytes",
  "kmemMaxBytes",
] as const;

/** A `Limit` message as its JSON value: bytes, or null for unlimited. */
function limitValue(limit: ProtoObject, path: string): unknown {
  if (limit.bytes !== undefined) return limit.bytes;
  if (limit.unlimited === true) return null;
  return fail("INVALID_ARGUMENT", `invalid ${path}: give bytes or unlimited: true`, {
    issues: [{ path, message: "a Limit needs bytes or unlimited: true" }],
  });
}

/** Per-op spelling changes from the decoded request to the command's JSON fields. */
const BODY_ADAPTERS: Partial<Record<Op, (fields: ProtoObject, prefix: string) => ProtoObject>> = {
  updateCgroup(fields, prefix) {
    const out = { ...fields };
    for (const k of LIMIT_FIELDS) if (isPlainObject(out[k])) out[k] = limitValue(out[k], prefix + k);
    return out;
  },
  createCache(fields) {
    // `no_shrinker: true` is REST's `"shrinker": null`; false is the same as leaving both out
    const { noShrinker, ...out } = fields;
    return noShrinker === true ? { ...out, shrinker: null } : out;
  },
  freeObjects(fields) {
    // an empty repeated field is absent in proto3: objectIds: [] is the selection form
    const { objectIds, ...out } = fields;
    return Array.isArray(objectIds) && objectIds.length > 0 ? { ...out, objectIds } : out;
  },
};

/** The body schema of each op whose command is `{op, ...body}` (src/commands/compiled-check.ts). */
const PLAIN_BODY: Partial<Record<Op, z.ZodType>> = Object.fromEntries(
  PLAIN_BODY_OPERATIONS.map((r) => [r.op, r.body as z.ZodType]),
);

/**
 * The command for one RPC's decoded request (`instance` is the RPC's address, not a command field).
 * A body the op's compiled check accepts is the command's fields as they are (as the REST routes
 * take a body Ajv accepted); anything else goes through the zod parse, which names the issues.
 */
export function commandOf(op: Op, request: ProtoObject, prefix = ""): Command {
  const { instance: _instance, ...fields } = withoutNulls(request);
  const adapt = BODY_ADAPTERS[op];
  const body = adapt ? adapt(fields, prefix) : fields;
  const plain = PLAIN_BODY[op];
  if (plain !== undefined && compiledCheck(plain)(body)) return { op, ...body } as Command;
  return parseCommand({ op, ...body }, prefix);
}

/** An op's result as the RPC's response message. */
export function responseOf(op: Op, result: unknown): unknown {
  const field = OPERATION_OF_OP[op].resultField;
  return field === null ? result : { [field]: result };
}

const isOp = (k: string): k is Op => (OPS as readonly string[]).includes(k);

/**
 * One `Command` of ExecuteBatch as a command of the language: the oneof field names the op and
 * holds that RPC's request, whose `instance` must be empty or the batch's own; `json` holds the
 * command as a scenario file would. Throws INVALID_ARGUMENT, reported in the command's slot.
 */
export function batchCommandOf(command: ProtoObject, batchInstance: string, index: number): Command {
  const prefix = `commands.${index}.`;
  const set = Object.entries(withoutNulls(command));
  if (set.length !== 1)
    fail("INVALID_ARGUMENT", `invalid command: commands.${index} sets no command`, {
      issues: [{ path: `commands.${index}`, message: "set one field of the command oneof" }],
    });
  const [key, value] = set[0];
  if (key === "json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value as string);
    } catch (err) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `invalid command: commands.${index}.json is not JSON: ${(err as Error).message}`,
        {
          issues: [{ path: `${prefix}json`, message: "not JSON" }],
        },
      );
    }
    return parseCommand(parsed, prefix);
  }
  if (!isOp(key) || !isPlainObject(value))
    return fail("INVALID_ARGUMENT", `invalid command: unknown field ${key}`);
  const nested = value.instance;
  if (nested !== undefined && nested !== "" && nested !== batchInstance)
    fail(
      "INVALID_ARGUMENT",
      `invalid command: ${prefix}${key}.instance "${String(nested)}" is not the batch's instance "${batchInstance}"`,
      {
        issues: [{ path: `${prefix}${key}.instance`, message: "must be empty or the batch's instance" }],
      },
    );
  return commandOf(key, value, `${prefix}${key}.`);
}

/** A batch result slot as a `CommandResult`: the response sits in the oneof field named by the op. */
export function commandResultOf(
  op: Op | undefined,
  slot: { ok: true; result: unknown } | { ok: false; error: { code: string; detail: string } },
): ProtoObject {
  if (!slot.ok) return { ok: false, error: slot.error };
  return op === undefined ? { ok: true } : { ok: true, [op]: responseOf(op, slot.result) };
}

/** Event fields the `Event` message names; any other field goes to `extra` so nothing is lost. */
const EVENT_FIELDS = new Set([
  "seq",
  "clockMs",
  "type",
  "cgroup",
  "cache",
  "pid",
  "displayName",
  "failedAt",
  "reason",
  "reclaimedBytes",
  "domain",
]);

export function eventMessage(e: SimEvent): ProtoObject {
  const out: ProtoObject = {};
  let extra: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(e)) {
    if (EVENT_FIELDS.has(k)) out[k] = v;
    else if (v !== undefined) {
      extra ??= {};
      extra[k] = v;
    }
  }
  if (extra !== undefined) out.extra = structOf(extra);
  return out;
}

/** A JSON object as a google.protobuf.Struct in protobufjs object form. */
function structOf(o: Record<string, unknown>): ProtoObject {
  const fields: ProtoObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) fields[k] = structValueOf(v);
  return { fields };
}

function structValueOf(v: unknown): ProtoObject {
  if (v === null) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(structValueOf) } };
  if (typeof v === "object") return { structValue: structOf(v as Record<string, unknown>) };
  return { stringValue: String(v) };
}

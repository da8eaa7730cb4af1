import { readFileSync } from "node:fs";
import fc from "fast-check";
import type { InjectOptions } from "fastify";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { checkInvariants } from "../../src/engine/invariants.js";
import { openapiPath } from "../../src/rest/openapi-file.js";
import { startBoth } from "./helpers.js";

/**
 * Bad input, generated from openapi.yaml: for every operation, requests built from its request
 * schema (JSON Schema → fast-check) and then mutated (wrong types, huge numbers, deep nesting,
 * prototype keys, invalid UTF-8, NUL bytes, overlong strings), plus garbage writes to every
 * cgroupfs file of docs/API.md §7. Zero 5xx, every instance's invariants hold afterwards, and no
 * prototype pollution. Seeded: FUZZ_SEED=<n> reproduces a run (the seed is printed on failure).
 */
// biome-ignore lint/suspicious/noExplicitAny: the parsed document is walked by key
const doc: any = parse(readFileSync(openapiPath(), "utf8"));
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 5200);

type Json = unknown;
// biome-ignore lint/suspicious/noExplicitAny: JSON Schema nodes
type Schema = any;

const resolve = (s: Schema): Schema =>
  s?.$ref ? resolve(doc.components.schemas[String(s.$ref).split("/").pop()!]) : s;

/** A (mostly valid) value for a JSON Schema node of the document. */
function arb(schema: Schema, depth = 0): fc.Arbitrary<Json> {
  const s = resolve(schema);
  if (s === undefined || s === null || depth > 6) return fc.constant(null);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return fc.oneof(...alts.map((a: Schema) => arb(a, depth + 1)));
  switch (s.type) {
    case "object": {
      const props = Object.entries(s.properties ?? {}) as [string, Schema][];
      const required = new Set<string>(s.required ?? []);
      const rec: Record<string, fc.Arbitrary<Json>> = {};
      for (const [k, v] of props) rec[k] = arb(v, depth + 1);
      return fc.record(rec, { requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)) });
    }
    case "array":
      return fc.array(arb(s.items ?? {}, depth + 1), { maxLength: Math.min(s.maxItems ?? 8, 8) });
    case "integer": {
      const min = Math.max(s.minimum ?? -1e6, -1e9);
      const max = Math.min(s.maximum ?? 1e6, 1e9);
      return fc.oneof(
        fc.integer({ min: Math.ceil(min), max: Math.floor(Math.max(min, Math.min(max, min + 5000))) }),
        fc.integer({ min: Math.ceil(min), max: Math.floor(max) }),
      );
    }
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "string":
      return fc.oneof(
        fc.constantFrom(
          "/",
          "/a",
          "/a/b",
          "/v2",
          "dentry",
          "kmalloc-64",
          "fz1",
          "GFP_KERNEL",
          "GFP_NOWAIT|__GFP_NOFAIL",
          "anon",
          "file",
        ),
        fc.string({ maxLength: 20 }),
      );
    default:
      return fc.constant(null);
  }
}

const HUGE: Json[] = [
  1e308,
  -1e308,
  -0,
  2 ** 64,
  -(2 ** 64),
  2 ** 53,
  2 ** 53 + 2,
  0.5,
  -1,
  Number.MAX_SAFE_INTEGER,
  "1e308",
  "NaN",
  true,
  null,
  [],
  {},
];
const PROTO_KEYS = ["__proto__", "constructor", "prototype"];

/** Replaces a random node of `v` with a hostile value (wrong type, huge number, prototype key). */
function mutate(v: Json, r: () => number): Json {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  if (v !== null && typeof v === "object" && r() < 0.6) {
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    if (entries.length > 0) {
      const [k, x] = pick(entries);
      const copy: Record<string, Json> | Json[] = Array.isArray(v) ? [...v] : { ...(v as object) };
      (copy as Record<string, Json>)[k] = mutate(x, r);
      return copy;
    }
  }
  const choice = r();
  if (choice < 0.45) return pick(HUGE);
  if (choice < 0.6)
    return pick([
      "",
      "x".repeat(70_000),
      "\u0000",
      "a\u0000b",
      "\ud800",
      "../../etc/passwd",
      "%00",
      " /a ",
      "max",
      "-1",
    ]);
  if (choice < 0.75)
    return Object.fromEntries([
      [pick(PROTO_KEYS), { polluted: 1 }],
      ["extra", 1],
    ]);
  if (choice < 0.85) return Array.from({ length: 50 }, () => pick(HUGE));
  return typeof v === "string" ? 12 : "12";
}

/** `{"a":` nested n deep (as text, so the serializer never sees it). */
const deepJson = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
const deepArray = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

interface Op {
  method: string;
  path: string;
  body?: Schema;
  text: boolean;
}
const OPS: Op[] = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops as Record<string, Schema>).map(([method, op]) => ({
    method: method.toUpperCase(),
    path,
    body: op.requestBody?.content?.["application/json"]?.schema,
    text: op.requestBody?.content?.["text/plain"] !== undefined,
  })),
);

// docs/API.md §7: every cgroupfs file, both versions
const FS_FILES = [
  "memory.usage_in_bytes",
  "memory.max_usage_in_bytes",
  "memory.limit_in_bytes",
  "memory.soft_limit_in_bytes",
  "memory.failcnt",
  "memory.stat",
  "memory.use_hierarchy",
  "memory.force_empty",
  "memory.move_charge_at_immigrate",
  "memory.oom_control",
  "memory.kmem.usage_in_bytes",
  "memory.kmem.max_usage_in_bytes",
  "memory.kmem.limit_in_bytes",
  "memory.kmem.failcnt",
  "memory.kmem.slabinfo",
  "cgroup.procs",
  "tasks",
  "memory.current",
  "memory.max",
  "memory.high",
  "memory.low",
  "memory.min",
  "memory.peak",
  "memory.events",
  "memory.events.local",
  "memory.reclaim",
  "memory.oom.group",
  "cgroup.stat",
  "cgroup.events",
];
const FS_VALUES = fc.oneof(
  fc.constantFrom(
    "max",
    "0",
    "-1",
    "1",
    "4096",
    "1M",
    "1G",
    "9223372036854771712",
    "9223372036854775808",
    "18446744073709551616",
    "1e308",
    "NaN",
    "",
    " ",
    "\n",
    "\u0000",
    "100\u0000",
    "1 2",
    "100 101",
    "1k",
    "+5",
    "0x10",
    "abc",
    "max\n",
    "1".repeat(5000),
  ),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
);

const NAMES = [
  "fz1",
  "fz2",
  "fz3",
  "nope",
  "",
  "A",
  "a".repeat(70),
  "%00",
  "%ff%fe",
  "..",
  "fz1%2F..",
  "__proto__",
  "constructor",
];
const PATHS = [
  "a",
  "a/b",
  "v2",
  "",
  "a/../b",
  "memory.max",
  "%00",
  "%ff",
  "a//b",
  "x".repeat(300),
  "cgroup.procs",
  "a/b/c/d/e/f/g/h",
];

interface Req {
  opts: InjectOptions;
  label: string;
}

function fill(path: string, r: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  return path
    .replace("{name}", pick(NAMES))
    .replace("{path}", pick(PATHS))
    .replace("{fsPath}", `${pick(PATHS)}/${pick(FS_FILES)}`.replace(/^\//, ""))
    .replace("{cache}", pick(["dentry", "kmalloc-64", "nope", "%00", "x".repeat(100)]))
    .replace("{pid}", String(pick([1, 100, 101, 0, -1, 2 ** 53, 1e308, "abc"])));
}

const requestArb: fc.Arbitrary<Req> = fc
  .tuple(fc.constantFrom(...OPS), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.nat(99))
  .chain(([op, salt, kind]) => {
    const body = op.body === undefined ? fc.constant(undefined) : arb(op.body);
    return body.map((b): Req => {
      let state = salt || 1;
      const r = () => {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        return state / 0x80000000;
      };
      const url =
        fill(op.path, r) +
        (op.path.endsWith("/events") && r() < 0.5
          ? `?sinceSeq=${r() < 0.5 ? 0 : "1e308"}&limit=${Math.floor(r() * 20000) - 5}`
          : "");
      const label = `${op.method} ${op.path} #${kind}`;
      if (op.text) {
        const value = fc.sample(FS_VALUES, { numRuns: 1, seed: salt })[0];
        const file = FS_FILES[salt % FS_FILES.length];
        const target =
          r() < 0.5 ? `/v1/instances/${r() < 0.5 ? "fz1" : "fz2"}/fs/${r() < 0.5 ? "" : "a/"}${file}` : url;
        const payload = kind < 10 ? Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28]) : value;
        return {
          opts: {
            method: "PUT",
            url: target,
            payload,
            headers: { "content-type": kind < 95 ? "text/plain" : "application/json" },
          },
          label,
        };
      }
      let payload: string | Buffer | undefined;
      if (kind < 55) payload = b === undefined ? undefined : JSON.stringify(b);
      else if (kind < 80) payload = JSON.stringify(mutate(b ?? {}, r));
      else if (kind < 83) payload = deepJson(10_000);
      else if (kind < 85) payload = deepArray(10_000);
      else if (kind < 88)
        payload = `{"__proto__":{"polluted":1},${JSON.stringify(b ?? {}).slice(1)}`.replace(",}", "}");
      else if (kind < 90) payload = `{"constructor":{"prototype":{"polluted":1}}}`;
      else if (kind < 93)
        payload = Buffer.concat([
          Buffer.from('{"name":"'),
          Buffer.from([0xff, 0xfe, 0xc0, 0x80]),
          Buffer.from('"}'),
        ]);
      else if (kind < 95) payload = JSON.stringify(b ?? {}).replace(/"$/, '\\u0000"') + "\u0000";
      else if (kind < 97) payload = JSON.stringify({ ...(b as object), pad: "y".repeat(100_000) });
      else payload = "not json at all {";
      const headers: Record<string, string> =
        payload === undefined
          ? {}
          : { "content-type": kind === 99 ? "application/x-www-form-urlencoded" : "application/json" };
      return { opts: { method: op.method as InjectOptions["method"], url, payload, headers }, label };
    });
  });

describe("REST fuzz from openapi.yaml", () => {
  it(`answers ≥ ${RUNS} hostile requests without a 5xx, keeps every instance's invariants and prototypes clean (seed ${SEED})`, async () => {
    const s = await startBoth({
      limits: {
        maxInstances: 12,
        maxCountPerCommand: 2000,
        maxLiveObjects: 50_000,
        maxPagesPerInstance: 64 * 256,
        maxCgroups: 200,
        maxTasks: 200,
        maxCaches: 50,
        maxBodyBytes: 256 * 1024,
      },
    });
    const setup = async () => {
      for (const [name, model] of [
        ["fz1", "rfc-2012"],
        ["fz2", "v5.9"],
        ["fz3", "v3.8"],
      ]) {
        if (s.registry.list().some((e) => e.name === name)) continue;
        await s.call("POST", "/v1/instances", { name, config: { model, memoryBytes: 32 * 1024 * 1024 } });
        for (const p of ["/a", "/a/b", "/v2"])
          await s.call("POST", `/v1/instances/${name}/cgroups`, { path: p });
        await s.call("POST", `/v1/instances/${name}/caches`, {
          name: "dentry",
          objectSizeBytes: 192,
          flags: { account: true, reclaimAccount: true },
        });
        await s.call("POST", `/v1/instances/${name}/caches`, { name: "kmalloc-64", objectSizeBytes: 64 });
        await s.call("POST", `/v1/instances/${name}/tasks`, { cgroup: "/a/b", pid: 100 });
        await s.call("POST", `/v1/instances/${name}/tasks`, { cgroup: "/a", pid: 101 });
      }
    };
    await setup();
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let n = 0;
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const check = (where: string) => {
      for (const e of s.registry.list()) {
        const broken = checkInvariants(e.instance);
        if (broken.length > 0)
          failures.push(`${where}: invariants of ${e.name}: ${broken.slice(0, 3).join("; ")}`);
      }
    };
    try {
      await fc.assert(
        fc.asyncProperty(requestArb, async (req) => {
          n++;
          const r = await s.app.inject(req.opts);
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
          if (r.statusCode >= 500)
            failures.push(
              `${req.label}: ${r.statusCode} ${r.body.slice(0, 300)} for ${String(req.opts.url)} ${String(req.opts.payload).slice(0, 200)}`,
            );
          if (r.body.includes("    at ")) failures.push(`${req.label}: a stack in the answer`);
          if (n % 400 === 0) {
            check(`after ${n}`);
            await setup();
          }
          return failures.length === 0;
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    } catch (err) {
      throw new Error(
        `REST fuzz failed (reproduce with FUZZ_SEED=${SEED}): ${failures.slice(0, 5).join("\n")}\n${(err as Error).message.slice(0, 2000)}`,
      );
    }
    check("at the end");
    if (process.env.FUZZ_VERBOSE) console.log(JSON.stringify(Object.fromEntries(statuses)));
    expect(failures, `FUZZ_SEED=${SEED}`).toEqual([]);
    expect(n).toBeGreaterThanOrEqual(5000);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeys);
    // the fuzz reached the engine, not only the validators
    expect(statuses.get(200) ?? 0).toBeGreaterThan(200);
    expect([...statuses.keys()].every((c) => c < 500)).toBe(true);
    // the server still answers normally
    expect((await s.call("GET", "/v1/instances")).statusCode).toBe(200);
  }, 120_000);
});

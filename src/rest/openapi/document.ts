import { stringify } from "yaml";
import { z } from "zod";
import { ERROR_STATUS } from "../../commands/error-status.js";
import { ERROR_CODES } from "../../engine/index.js";
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS, ROUTES, type RouteDoc } from "./routes.js";

type Json = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** zod → JSON Schema 2020-12 (OpenAPI 3.1's dialect), schemas of one registry referring to each other by $ref. */
function componentSchemas(schemas: Record<string, z.ZodType>, io: "input" | "output"): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, s] of Object.entries(schemas)) registry.add(s, { id });
  const out = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io,
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas;
  const result: Record<string, Json> = {};
  for (const [id, s] of Object.entries(out)) {
    const { $schema: _s, $id: _id, id: _i, ...rest } = s as Json;
    result[id] = rest;
  }
  return result;
}

const PARAMS: Record<string, Json> = {
  name: {
    name: "name",
    in: "path",
    required: true,
    description: "instance name",
    schema: { type: "string", pattern: "^[a-z][a-z0-9-]{0,62}$" },
  },
  path: {
    name: "path",
    in: "path",
    required: true,
    description:
      "cgroup path without its leading slash, slashes included (`workload/a`); empty for the root (`/cgroups/`)",
    schema: { type: "string" },
    allowReserved: true,
  },
  fsPath: {
    name: "fsPath",
    in: "path",
    required: true,
    description: "`<cgroup path>/<file>`, or `<file>` on the root",
    schema: { type: "string" },
    allowReserved: true,
  },
  cache: {
    name: "cache",
    in: "path",
    required: true,
    description: "cache name",
    schema: { type: "string", pattern: "^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$" },
  },
  pid: { name: "pid", in: "path", required: true, schema: { type: "integer", minimum: 1, maximum: 4194304 } },
  id: {
    name: "id",
    in: "path",
    required: true,
    description: "sweep id (`sweep-1`, …)",
    schema: { type: "string" },
  },
};

const IMPORT_QUERY: Json[] = [
  {
    name: "name",
    in: "query",
    required: false,
    description: "name of the new instance (default: the document's name)",
    schema: { type: "string", pattern: "^[a-z][a-z0-9-]{0,62}$" },
  },
];

const REPLAY_QUERY: Json[] = [
  {
    name: "pidCgroup",
    in: "query",
    required: false,
    description:
      "pid → cgroup map, `PID=/cgroup/path` items separated by commas (or the header `memcg-sim-pid-cgroup`); one of the two is required",
    schema: { type: "string" },
  },
];

const EVENTS_QUERY: Json[] = [
  {
    name: "sinceSeq",
    in: "query",
    required: false,
    description: "first sequence number wanted (default 0: every kept event)",
    schema: { type: "integer", minimum: 0 },
  },
  {
    name: "limit",
    in: "query",
    required: false,
    description: "JSON page size (default 1000; above the server's maxEventPage: 429 LIMIT_EXCEEDED)",
    schema: { type: "integer", minimum: 1, maximum: 10000 },
  },
  {
    name: "Last-Event-ID",
    in: "header",
    required: false,
    description: "SSE resume: the last seq seen",
    schema: { type: "string" },
  },
];

/** Which codes each error status carries (from the one catalogue, src/commands/error-status.ts). */
function codesFor(status: number): string[] {
  return ERROR_CODES.filter((c) => ERROR_STATUS[c].http === status);
}

function errorResponses(statuses: number[]): Json {
  const out: Json = {};
  for (const s of statuses) out[String(s)] = { $ref: `#/components/responses/Problem${s}` };
  return out;
}

function operation(r: RouteDoc): Json {
  const op: Json = { operationId: r.operationId, tags: [r.tag], summary: r.summary };
  if (r.description !== undefined) op.description = r.description;
  const params: Json[] = (r.params ?? []).map((p) => PARAMS[p]);
  if (r.query === "events") params.push(...EVENTS_QUERY);
  if (r.query === "import") params.push(...IMPORT_QUERY);
  if (r.query === "replay") params.push(...REPLAY_QUERY);
  if (params.length > 0) op.parameters = params;
  if (r.body !== undefined)
    op.requestBody = { required: true, content: { "application/json": { schema: ref(r.body) } } };
  if (r.textBody === true)
    op.requestBody = {
      required: true,
      content: { "text/plain": { schema: { type: "string", maxLength: 4096 } } },
    };

  if (r.streamBody === true) {
    const trace = { schema: { type: "string", description: "ftrace text or perf script output, streamed" } };
    const gzip = { schema: { type: "string", format: "binary", description: "the same, gzip-compressed" } };
    op.requestBody = {
      required: true,
      content: {
        "text/plain": trace,
        "application/gzip": gzip,
        "application/x-gzip": gzip,
        "application/octet-stream": gzip,
      },
    };
  }

  const ok: Json = { description: r.ok.status === 204 ? "done, no body" : "success" };
  const content: Json = {};
  if (r.ok.schema !== undefined) content["application/json"] = { schema: ref(r.ok.schema) };
  if (r.ok.sse === true)
    content["text/event-stream"] = {
      schema: { type: "string", description: "SSE frames; each `data:` is an Event" },
    };
  if (r.ok.text !== undefined) content["text/plain"] = { schema: { type: "string", description: r.ok.text } };
  if (r.ok.yaml === true) content["application/yaml"] = { schema: { type: "string" } };
  if (r.ok.html === true) content["text/html"] = { schema: { type: "string" } };
  if (r.ok.ndjson !== undefined)
    content["application/x-ndjson"] = { schema: { type: "string", description: r.ok.ndjson } };
  if (Object.keys(content).length > 0) ok.content = content;
  // /v1 routes need the bearer token when the server has one (MEMCG_SIM_API_TOKEN): 401 without it
  const errors = r.path.startsWith("/v1/")
    ? [...new Set([...r.errors, 401])].sort((a, b) => a - b)
    : r.errors;
  op.responses = { [String(r.ok.status)]: ok, ...errorResponses(errors) };
  if (r.path.startsWith("/v1/")) op.security = [{ bearerAuth: [] }, {}];
  return op;
}

const INFO_DESCRIPTION = `Deterministic simulator of Linux memory-cgroup kernel-memory (slab) accounting across kernel
eras, from the 2012 per-cgroup slab caches RFC to Linux 6.18. The contract is docs/API.md in the memcg-sim repository, whose root holds this file
(openapi.yaml); this document lists every REST route, its request and response schemas, and every
error code.

Errors are RFC 9457 \`application/problem+json\` (schema \`Problem\`): \`code\` is one of a closed
catalogue, mapped to one HTTP status and one gRPC status (trailer \`memcg-sim-error-code\`).
A simulated kernel failure (ENOMEM, an OOM kill) is never an error: it is data in a 200 result.

| code | HTTP | gRPC | title |
|---|---|---|---|
${ERROR_CODES.map((c) => `| \`${c}\` | ${ERROR_STATUS[c].http} | ${ERROR_STATUS[c].grpc} | ${ERROR_STATUS[c].title} |`).join("\n")}
`;

/** The OpenAPI 3.1 document of the REST API, built from the same zod schemas the routes parse with. */
export function buildOpenapiDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const r of ROUTES) {
    paths[r.path] ??= {};
    paths[r.path][r.method] = operation(r);
  }
  const statuses = [...new Set([...ROUTES.flatMap((r) => r.errors), 401])].sort((a, b) => a - b);
  const responses: Json = {};
  for (const s of statuses) {
    const codes = codesFor(s);
    responses[`Problem${s}`] = {
      description: `problem+json; code one of ${codes.join(", ")}`,
      content: {
        "application/problem+json": { schema: ref("Problem"), example: exampleProblem(s, codes[0]) },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "memcg-sim",
      version: "1.0.0",
      description: INFO_DESCRIPTION,
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "http://127.0.0.1:8080" }],
    tags: [
      "health",
      "docs",
      "instances",
      "cgroups",
      "caches",
      "tasks",
      "simulation",
      "cgroupfs",
      "events",
      "metrics",
    ].map((name) => ({ name })),
    paths,
    components: {
      schemas: {
        ...componentSchemas(REQUEST_SCHEMAS, "input"),
        ...componentSchemas(RESPONSE_SCHEMAS, "output"),
      },
      responses,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "Required on every /v1 route when the server is started with MEMCG_SIM_API_TOKEN / --api-token (401 UNAUTHENTICATED without it); /livez, /readyz, /healthz, /metrics, /openapi.yaml and /docs stay open.",
        },
      },
    },
    "x-error-codes": Object.fromEntries(
      ERROR_CODES.map((c) => [
        c,
        { httpStatus: ERROR_STATUS[c].http, grpcCode: ERROR_STATUS[c].grpc, title: ERROR_STATUS[c].title },
      ]),
    ),
  };
}

function exampleProblem(status: number, code: string | undefined): Json {
  const c = (code ?? "INTERNAL") as keyof typeof ERROR_STATUS;
  return { type: "about:blank", title: ERROR_STATUS[c].title, status, detail: "…", code: c };
}

export const OPENAPI_HEADER =
  "# GENERATED by `npx tsx src/rest/openapi/generate.ts` from src/rest/openapi/ and src/commands/.\n# Do not edit by hand: test/contract/openapi.test.ts fails when this file differs from a regeneration.\n";

export function renderOpenapiYaml(): string {
  return OPENAPI_HEADER + stringify(buildOpenapiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}

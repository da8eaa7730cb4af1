import { readFileSync } from "node:fs";
import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
// ajv comes with fastify (a transitive dependency); JSON Schema 2020-12 is OpenAPI 3.1's dialect.
import { Ajv2020 } from "ajv/dist/2020.js";
import { ERROR_STATUS } from "../../src/commands/error-status.js";
import { ERROR_CODES } from "../../src/engine/errors.js";
import { registeredRoutes } from "../../src/rest/app.js";
import { openapiPath } from "../../src/rest/openapi-file.js";
import { renderOpenapiYaml } from "../../src/rest/openapi/document.js";
import { build } from "../rest/helpers.js";

const text = readFileSync(openapiPath(), "utf8");
// biome-ignore lint/suspicious/noExplicitAny: the parsed document is walked by key below
const doc: any = parse(text);

/** fastify's `/v1/instances/:name/cgroups/*` → the document's `/v1/instances/{name}/cgroups/{path}`. */
function openapiPathOf(url: string): string {
  const named = url.replace(/:(\w+)/g, "{$1}");
  if (!named.endsWith("*")) return named;
  return named.slice(0, -1) + (named.includes("/fs/") ? "{fsPath}" : "{path}");
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: "openapi", components: { schemas: doc.components.schemas } });

/** Validates a real answer against the document: the operation, its status and content type must exist. */
function checkResponse(method: string, path: string, r: LightMyRequestResponse): void {
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (op === undefined) throw new Error(`${method} ${path} is not in openapi.yaml`);
  const resp = op.responses[String(r.statusCode)];
  if (resp === undefined)
    throw new Error(`${method} ${path} answered ${r.statusCode}, not documented: ${r.body}`);
  const content =
    resp.$ref !== undefined ? doc.components.responses[resp.$ref.split("/").pop()].content : resp.content;
  if (r.statusCode === 204) {
    expect(r.body).toBe("");
    return;
  }
  const type = String(r.headers["content-type"]).split(";")[0];
  const media = content?.[type];
  if (media === undefined)
    throw new Error(`${method} ${path} ${r.statusCode} answered ${type}, not documented`);
  if (type !== "application/json" && type !== "application/problem+json") return;
  const ref = media.schema.$ref as string;
  const validate = ajv.getSchema(`openapi${ref}`)!;
  if (!validate(JSON.parse(r.body)))
    throw new Error(
      `${method} ${path} ${r.statusCode} does not match ${ref}: ${ajv.errorsText(validate.errors)}\n${r.body.slice(0, 500)}`,
    );
}

describe("openapi.yaml (the REST contract)", () => {
  it("is what the generator writes from the zod schemas (regenerate: npx tsx src/rest/openapi/generate.ts)", () => {
    expect(text).toBe(renderOpenapiYaml());
  });

  it("lists every route the app registers, and no route the app lacks", async () => {
    const { app } = await build();
    const routes = registeredRoutes
      .get(app)!
      .filter((r) => !r.url.startsWith("/docs/") && r.url !== "/docs/");
    const registered = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openapiPathOf(r.url)}`));
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops as object).map((m) => `${m} ${p}`)),
    );
    expect([...registered].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !registered.has(d))).toEqual([]);
  });

  it("lists every error code of the catalogue with its HTTP and gRPC status", () => {
    expect(doc.components.schemas.Problem.properties.code.enum).toEqual([...ERROR_CODES]);
    for (const code of ERROR_CODES) {
      expect(doc["x-error-codes"][code]).toEqual({
        httpStatus: ERROR_STATUS[code].http,
        grpcCode: ERROR_STATUS[code].grpc,
        title: ERROR_STATUS[code].title,
      });
      expect(doc.info.description).toContain(`| \`${code}\` | ${ERROR_STATUS[code].http} |`);
    }
  });

  it("describes the real answers of a small scenario, errors included", async () => {
    const { call } = await build({ readiness: { ready: false } });
    const I = "/v1/instances/{name}";
    const steps: [string, string, string, unknown?, Record<string, string>?][] = [
      ["GET", "/livez", "/livez"],
      ["GET", "/readyz", "/readyz"],
      ["GET", "/healthz", "/healthz"],
      ["POST", "/v1/instances", "/v1/instances", { name: "c", config: { model: "v5.9" } }],
      ["POST", "/v1/instances", "/v1/instances", { name: "c" }],
      ["POST", "/v1/instances", "/v1/instances", { name: "c", bogus: 1 }],
      ["GET", "/v1/instances", "/v1/instances"],
      ["GET", "/v1/instances/c", I],
      ["POST", "/v1/instances/c/cgroups", `${I}/cgroups`, { path: "/a" }],
      ["POST", "/v1/instances/c/cgroups", `${I}/cgroups`, { path: "/x/y" }],
      ["PATCH", "/v1/instances/c/cgroups/a", `${I}/cgroups/{path}`, { memoryMaxBytes: 65536 }],
      [
        "POST",
        "/v1/instances/c/caches",
        `${I}/caches`,
        { name: "dentry", objectSizeBytes: 192, flags: { account: true, reclaimAccount: true } },
      ],
      ["POST", "/v1/instances/c/caches", `${I}/caches`, { name: "k256", objectSizeBytes: 256 }],
      ["POST", "/v1/instances/c/caches/k256/register", `${I}/caches/{cache}/register`],
      ["POST", "/v1/instances/c/tasks", `${I}/tasks`, { cgroup: "/a", pid: 10 }],
      [
        "POST",
        "/v1/instances/c/objects/alloc",
        `${I}/objects/alloc`,
        { cache: "dentry", pid: 10, count: 5000 },
      ],
      ["POST", "/v1/instances/c/pages/alloc", `${I}/pages/alloc`, { pid: 10, kind: "anon", bytes: 1048576 }],
      ["POST", "/v1/instances/c/pages/alloc", `${I}/pages/alloc`, { pid: 10, kind: "file", bytes: 8192 }],
      [
        "POST",
        "/v1/instances/c/objects/free",
        `${I}/objects/free`,
        { cache: "dentry", cgroup: "/a", count: 10, order: "random" },
      ],
      ["POST", "/v1/instances/c/pages/free", `${I}/pages/free`, { cgroup: "/a", kind: "file", bytes: 4096 }],
      ["POST", "/v1/instances/c/reclaim", `${I}/reclaim`, { cgroup: "/", bytes: 8192 }],
      ["POST", "/v1/instances/c/clock/advance", `${I}/clock/advance`, { ms: 5 }],
      [
        "POST",
        "/v1/instances/c/batch",
        `${I}/batch`,
        { commands: [{ op: "createCgroup", path: "/b" }, { op: "nope" }] },
      ],
      ["GET", "/v1/instances/c/cgroups", `${I}/cgroups`],
      ["GET", "/v1/instances/c/cgroups/", `${I}/cgroups/{path}`],
      ["GET", "/v1/instances/c/caches", `${I}/caches`],
      ["GET", "/v1/instances/c/caches/dentry", `${I}/caches/{cache}`],
      ["GET", "/v1/instances/c/tasks", `${I}/tasks`],
      ["GET", "/v1/instances/c/tasks/10", `${I}/tasks/{pid}`],
      ["POST", "/v1/instances/c/tasks/10/move", `${I}/tasks/{pid}/move`, { cgroup: "/b" }],
      ["GET", "/v1/instances/c/fs/a/memory.stat", `${I}/fs/{fsPath}`],
      ["GET", "/v1/instances/c/fs/a/memory.nope", `${I}/fs/{fsPath}`],
      [
        "PUT",
        "/v1/instances/c/fs/a/memory.high",
        `${I}/fs/{fsPath}`,
        "max",
        { "content-type": "text/plain" },
      ],
      [
        "PUT",
        "/v1/instances/c/fs/a/memory.high",
        `${I}/fs/{fsPath}`,
        "x",
        { "content-type": "application/json" },
      ],
      ["GET", "/v1/instances/c/proc/slabinfo", `${I}/proc/slabinfo`],
      ["GET", "/v1/instances/c/proc/meminfo", `${I}/proc/meminfo`],
      ["GET", "/v1/instances/c/events?sinceSeq=0", `${I}/events`],
      ["DELETE", "/v1/instances/c/tasks/10", `${I}/tasks/{pid}`],
      ["DELETE", "/v1/instances/c/cgroups/b", `${I}/cgroups/{path}`],
      ["DELETE", "/v1/instances/c/caches/k256", `${I}/caches/{cache}`],
      ["DELETE", "/v1/instances/c/caches/dentry", `${I}/caches/{cache}`],
      ["POST", "/v1/instances/c/reset", `${I}/reset`],
      ["DELETE", "/v1/instances/c", I],
      ["GET", "/v1/instances/c", I],
      ["GET", "/openapi.yaml", "/openapi.yaml"],
      ["GET", "/docs", "/docs"],
    ];
    const seen = new Set<string>();
    for (const [method, url, path, body, headers] of steps) {
      const r = await call(method as "GET", url, body, headers);
      checkResponse(method, path, r);
      seen.add(`${r.statusCode}`);
    }
    // the scenario exercised successes and the main error statuses
    for (const s of ["200", "201", "204", "400", "404", "409", "415", "503"]) expect(seen).toContain(s);
  });
});

import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { afterEach } from "vitest";
import { DEFAULT_SERVER_LIMITS, Registry, type ServerLimits } from "../../src/registry.js";
import { type BuildAppOptions, buildApp } from "../../src/rest/app.js";
import type { ZodApp } from "../../src/rest/context.js";

const open: ZodApp[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
});

/** A fresh app over a fresh registry; closed after the test. */
export async function build(
  opts: Partial<Omit<BuildAppOptions, "limits">> & { limits?: Partial<ServerLimits> } = {},
) {
  const registry = opts.registry ?? new Registry({ ...DEFAULT_SERVER_LIMITS, ...opts.limits });
  const app = await buildApp({ ...opts, registry, limits: undefined });
  open.push(app);
  const call = (
    method: InjectOptions["method"],
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
  ) => app.inject({ method, url, payload: payload as InjectOptions["payload"], headers });
  return { app, registry, call };
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the assertions
export function json(r: LightMyRequestResponse): any {
  return JSON.parse(r.body);
}

/** Asserts a problem+json answer with this status and code; returns the body. */
// biome-ignore lint/suspicious/noExplicitAny: as json()
export function expectProblem(r: LightMyRequestResponse, status: number, code: string): any {
  if (r.statusCode !== status || !String(r.headers["content-type"]).startsWith("application/problem+json"))
    throw new Error(
      `expected ${status} ${code} problem, got ${r.statusCode} ${r.headers["content-type"]}: ${r.body}`,
    );
  const body = JSON.parse(r.body);
  if (
    body.code !== code ||
    body.status !== status ||
    body.type !== "about:blank" ||
    typeof body.title !== "string" ||
    typeof body.detail !== "string"
  )
    throw new Error(`expected ${status} ${code} problem, got ${r.body}`);
  return body;
}

/** The setup most tests share: an instance with /a, a registered dentry cache and task 100 in /a. */
export async function withDentry(
  call: Awaited<ReturnType<typeof build>>["call"],
  config: Record<string, unknown> = { model: "rfc-2012", kmemIndependentAccounting: true },
) {
  await call("POST", "/v1/instances", { name: "t", config });
  // registered before /a exists: under rfc-2012 a cgroup gets copies of the caches registered
  // before its creation only (mem_cgroup_create; docs/MODELS.md row 31)
  await call("POST", "/v1/instances/t/caches", {
    name: "dentry",
    objectSizeBytes: 192,
    flags: { reclaimAccount: true },
  });
  await call("POST", "/v1/instances/t/caches/dentry/register");
  await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
  await call("POST", "/v1/instances/t/tasks", { cgroup: "/a", pid: 100 });
}

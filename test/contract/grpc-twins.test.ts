import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { findProtoRoot, SIMULATOR_PROTO } from "../../src/grpc/proto.js";
import { registeredRoutes } from "../../src/rest/app.js";
import { build } from "../rest/helpers.js";

/**
 * docs/API.md §10: one RPC per REST route (issue #18, item 9: POST /v1/compare had none). Each
 * RPC of SimulatorService names its route in the comment above it (`// POST /v1/compare`); every
 * /v1 route the app registers must be named by one, and every named route must exist.
 */
const shape = (path: string) =>
  path
    .split("?")[0]
    .replace(/\{[^}/]*\}?/g, "_")
    .replace(/:\w+/g, "_")
    .replace(/\*$/, "_");

describe("gRPC twins of the REST routes", () => {
  it("names every /v1 route in an RPC comment, and only routes that exist", async () => {
    const proto = readFileSync(`${findProtoRoot()}/${SIMULATOR_PROTO}`, "utf8");
    const service = proto.slice(
      proto.indexOf("service SimulatorService"),
      proto.indexOf("\n}\n", proto.indexOf("service SimulatorService")),
    );
    const twins = new Set(
      [...service.matchAll(/^ {2}\/\/ (GET|POST|PUT|PATCH|DELETE) (\/v1\/[^\s:]*)/gm)].map(
        (m) => `${m[1]} ${shape(m[2])}`,
      ),
    );
    const { app } = await build();
    await app.ready();
    const routes = new Set(
      (registeredRoutes.get(app) ?? [])
        .filter((r) => r.url.startsWith("/v1/"))
        .map((r) => `${r.method} ${shape(r.url)}`),
    );
    expect(routes.has("POST /v1/compare")).toBe(true);
    expect([...routes].filter((r) => !twins.has(r)).sort()).toEqual([]);
    expect([...twins].filter((r) => !routes.has(r)).sort()).toEqual([]);
  });
});

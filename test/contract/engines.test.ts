import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// semver is npm's own range logic (a devDependency; it ships no types of its own)
const semver = createRequire(import.meta.url)("semver") as { satisfies(v: string, range: string): boolean };

/**
 * Every install fits the supported Node range without EBADENGINE warnings (issue #18, item 8):
 * package.json promises node >= 20.19.0, so every package in the lockfile must accept 20.19.0.
 * fastify's light-my-request and swagger-ui's @fastify/static pulled cookie 2.0.2 and
 * content-disposition 3.1.0 (node >= 22); package.json `overrides` pins the releases before them
 * that export the same functions (cookie 1.1.1: stringifySetCookie; content-disposition 2.0.1: create).
 */
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as {
  packages: Record<string, { version?: string; engines?: { node?: string } }>;
};

describe("dependencies and the supported Node range", () => {
  it("promises node >= 20.19.0", () => {
    expect(pkg.engines.node).toBe(">=20.19.0");
  });

  it("has no package in the lockfile that refuses node 20.19.0", () => {
    const refusing = Object.entries(lock.packages)
      .filter(([, p]) => p.engines?.node !== undefined && !semver.satisfies("20.19.0", p.engines.node))
      .map(([path, p]) => `${path}@${p.version} (node ${p.engines?.node})`);
    expect(refusing).toEqual([]);
  });

  it("resolves the overridden packages to the pinned versions", () => {
    expect(lock.packages["node_modules/light-my-request/node_modules/cookie"]?.version).toBe("1.1.1");
    expect(lock.packages["node_modules/@fastify/static/node_modules/content-disposition"]?.version).toBe(
      "2.0.1",
    );
    // the functions their dependents import exist in those versions, resolved as the dependents resolve them
    const fromLmr = createRequire(createRequire(import.meta.url).resolve("light-my-request"));
    expect(typeof fromLmr("cookie").stringifySetCookie).toBe("function");
    const fromStatic = createRequire(createRequire(import.meta.url).resolve("@fastify/static"));
    expect(typeof fromStatic("content-disposition").create).toBe("function");
  });
});

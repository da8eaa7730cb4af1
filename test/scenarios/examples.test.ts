import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadScenarioFile } from "../../src/scenarios/load.js";
import { build } from "../rest/helpers.js";

/** The examples say what they do (issue #18, item 6: a description that contradicted its config). */
describe("examples/", () => {
  it("describe the kmemIndependentAccounting value they set", async () => {
    const checked: string[] = [];
    // examples/sweep.yaml is a sweep spec, not a scenario (test/sweep/ loads it)
    for (const f of readdirSync("examples").filter((n) => /\.(json|ya?ml)$/.test(n) && n !== "sweep.yaml")) {
      const s = await loadScenarioFile(`examples/${f}`);
      for (const m of (s.description ?? "").matchAll(/kmemIndependentAccounting (true|false)/g)) {
        expect(String(s.config?.kmemIndependentAccounting ?? false), f).toBe(m[1]);
        checked.push(f);
      }
    }
    expect(checked).toContain("kmem-limit-rfc2012.yaml");
  });

  it("kmem-limit-rfc2012.yaml: 16 slabs fill the 64 KiB kmem limit, the 17th fails, memory stays 0", async () => {
    const s = await loadScenarioFile("examples/kmem-limit-rfc2012.yaml");
    const { call } = await build();
    expect((await call("POST", "/v1/instances", { name: "ex", config: s.config })).statusCode).toBe(201);
    const r = await call("POST", "/v1/instances/ex/batch", { commands: s.commands });
    expect(r.statusCode).toBe(200);
    const results = JSON.parse(r.body).results;
    // 16 slabs of 21 dentries (192 B, one 4 KiB page each) = 336 objects, then ENOMEM at /web
    expect(results[results.length - 1].result).toMatchObject({
      allocatedCount: 336,
      failedCount: 64,
      error: "ENOMEM",
      failedAt: "/web",
    });
    const file = async (name: string) => (await call("GET", `/v1/instances/ex/fs/web/${name}`)).body;
    expect(await file("memory.kmem.usage_in_bytes")).toBe("65536\n");
    expect(await file("memory.kmem.failcnt")).toBe("1\n");
    expect(await file("memory.usage_in_bytes")).toBe("0\n");
  });
});

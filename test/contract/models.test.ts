import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MODEL_NAMES } from "../../src/engine/config.js";
import { MODELS } from "../../src/engine/models/index.js";
import { eraTableMarkdown } from "../../src/engine/models/table.js";

/** The MODELS table is the only list of models: the contracts that spell the list out must agree with it. */
describe("the model list", () => {
  it("the proto's InstanceConfig.model comment lists exactly the MODELS table", () => {
    const proto = readFileSync("proto/memcg_sim/v1/simulator.proto", "utf8");
    const m = /message InstanceConfig \{\n\s*\/\/ ([^\n(]+)/.exec(proto);
    expect(m).not.toBeNull();
    const listed = [...m![1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
    expect(listed).toEqual(MODEL_NAMES);
  });

  it("openapi.yaml's model enums list exactly the MODELS table", () => {
    const yaml = readFileSync("openapi.yaml", "utf8");
    const enums = [...yaml.matchAll(/enum:\n((?:\s+- (?:rfc-2012|v[0-9.]+)\n)+)/g)].map((x) =>
      [...x[1].matchAll(/- (\S+)/g)].map((y) => y[1]),
    );
    expect(enums.length).toBe(4);
    for (const e of enums) expect(e).toEqual(MODEL_NAMES);
  });

  it("each row's era carries its own name", () => {
    for (const name of MODEL_NAMES) expect(MODELS[name].era.name).toBe(name);
  });
});

describe("docs/MODELS.md era table", () => {
  it("is exactly what the MODELS table generates (npx tsx scripts/models-table.ts --write)", () => {
    const doc = readFileSync("docs/MODELS.md", "utf8");
    const m = /<!-- era-table: [^>]*-->\n([\s\S]*?)\n<!-- \/era-table -->/.exec(doc);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(eraTableMarkdown());
    expect(m![1].split("\n")[0]).toContain("`v6.18`");
  });
});

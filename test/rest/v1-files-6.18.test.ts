import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { listCgroupFiles } from "../../src/engine/cgroupfs/files.js";
import { Simulation } from "../../src/engine/simulation.js";
import { build, json } from "./helpers.js";

/**
 * The golden transcript of cgroup v1 memory file semantics recorded on a real Linux 6.18 host
 * (test/fixtures/kernel-6.18/v1-files.json, a copy of the shared recording): on a fresh child
 * cgroup every memory.* file read, then writes each followed by a read back. Replayed through the
 * REST cgroupfs facade of a `v6.18` instance with cgroup v1: reads byte for byte, writes by status
 * (ok = 2xx, E:<errno> = 4xx with that errno as the problem code).
 */
interface Step {
  op: "read" | "write";
  file: string;
  value?: string;
  result: string;
}
const golden = JSON.parse(
  readFileSync(new URL("../fixtures/kernel-6.18/v1-files.json", import.meta.url), "utf8"),
) as { kernel: string; files: string[]; steps: Step[] };

async function fresh() {
  const { call } = await build();
  const c = await call("POST", "/v1/instances", { name: "k", config: { model: "v6.18", cgroupVersion: 1 } });
  expect(c.statusCode).toBe(201);
  expect((await call("POST", "/v1/instances/k/cgroups", { path: "/t" })).statusCode).toBe(201);
  return call;
}

describe("v6.18 cgroup v1 files against the real 6.18 kernel's transcript", () => {
  it("has exactly the kernel's files on a child cgroup", () => {
    const sim = new Simulation({ model: "v6.18", cgroupVersion: 1 });
    sim.execute({ op: "createCgroup", path: "/t" });
    expect(listCgroupFiles(sim, sim.lookup("/t")).sort()).toEqual([...golden.files].sort());
  });

  it(`gives every one of the ${golden.steps.length} steps the kernel's answer`, async () => {
    const call = await fresh();
    const got: string[] = [];
    const want: string[] = [];
    for (const [i, s] of golden.steps.entries()) {
      const url = `/v1/instances/k/fs/t/${s.file}`;
      const r =
        s.op === "read"
          ? await call("GET", url)
          : await call("PUT", url, s.value, { "content-type": "text/plain" });
      let answer: string;
      if (r.statusCode >= 200 && r.statusCode < 300) answer = s.op === "read" ? r.body : "ok";
      else if (r.statusCode >= 400 && r.statusCode < 500) answer = `E:${json(r).code}`;
      else answer = `HTTP ${r.statusCode}`;
      const label = `#${i} ${s.op} ${s.file}${s.op === "write" ? ` ${JSON.stringify(s.value)}` : ""}`;
      got.push(`${label} → ${JSON.stringify(answer)}`);
      want.push(`${label} → ${JSON.stringify(s.result)}`);
    }
    expect(got).toEqual(want);
  });
});

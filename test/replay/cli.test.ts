import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runReplayCli } from "../../src/replay/cli.js";

const F = (c: string) => join(import.meta.dirname, "fixtures", c);

async function run(args: string[]) {
  let out = "";
  let err = "";
  const code = await runReplayCli(args, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describe("replay CLI output", () => {
  it("--json with several models wraps them in models; with one it is the model's object", async () => {
    const two = JSON.parse((await run([F("pipes-500"), "--model", "v4.5,v5.9", "--json"])).out);
    expect(Object.keys(two)).toEqual(["models"]);
    expect(Object.keys(two.models)).toEqual(["v4.5", "v5.9"]);
    const one = JSON.parse((await run([F("pipes-500"), "--model", "v5.9", "--json"])).out);
    expect(Object.keys(one)).toEqual(["cgroups", "oomKills", "lines"]);
    expect(one).toEqual(two.models["v5.9"]);
    // real = after − before of meta.json: 1241088 bytes of kmem, 1048576 of usage
    expect(one.cgroups["pipes-500-0"].real).toEqual({
      "memory.kmem.usage_in_bytes": 1241088,
      "memory.usage_in_bytes": 1048576,
      "memory.failcnt": 0,
      oom_kill: 0,
    });
  });

  it("batching consecutive allocations changes no answer: --no-batch gives the same document, every model", async () => {
    const batched = await run([F("mixed-3000"), "--json"]);
    const single = await run([F("mixed-3000"), "--json", "--no-batch"]);
    expect(single.out).toBe(batched.out);
  });

  it("--table: one row per non-parent cgroup, the error in pages per model, the kills", async () => {
    const r = await run(["--table", F("oom-2m"), F("siblings-3"), "--model", "v4.5,v5.9"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        "| recording | cgroup | real Δkmem (pages) | v4.5 error (pages) | v5.9 error (pages) |",
        "|---|---|---:|---:|---:|",
        "| oom-2m | oom-2m-0 | 2088960 (510) | 0 | 0 |",
        "| siblings-3 | siblings-3-0 | 1441792 (352) | +8 | 0 |",
        "| siblings-3 | siblings-3-1 | 1437696 (351) | +9 | +1 |",
        "| siblings-3 | siblings-3-2 | 1437696 (351) | +9 | +1 |",
        "",
        "OOM kills: ",
        "- oom-2m: v5.9 OOM-kills pid 11812 in oom-2m-0 at line 11983 of 12007",
        "",
      ].join("\n"),
    );
  });

  it("--report writes the HTML report: the table, the Δkmem chart, live objects per cache", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "replay-report-")), "r.html");
    const r = await run([F("mkdir-2000"), "--model", "v5.9", "--report", out]);
    expect(r.code).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).toContain('<figure data-figure="kmem">');
    expect(html).toContain('<figure data-figure="live-v5.9">');
    expect(html).toContain("<td>1921024</td><td>1921024 (+0)</td>");
    expect(html).toContain(">dentry<");
  });
});

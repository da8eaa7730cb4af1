import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { runReplayCli } from "../../src/replay/cli.js";

/** Every bad input of `memcg-sim replay` is a clear one-line error (exit 1) or a usage error (exit 2). */
const FIXTURE = join(import.meta.dirname, "fixtures", "mkdir-2000");
const meta = readFileSync(join(FIXTURE, "meta.json"), "utf8");
const trace = readFileSync(join(FIXTURE, "trace.txt.gz"));

function dir(files: Record<string, string | Buffer>): string {
  const d = mkdtempSync(join(tmpdir(), "replay-err-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(d, name), content);
  return d;
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runReplayCli(args, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describe("replay: bad input", () => {
  it("missing meta.json", async () => {
    const d = dir({ "trace.txt.gz": trace });
    const r = await run([d, "--model", "v5.9"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `replay: BAD_RECORDING: ${d}: no meta.json (a recording needs meta.json beside its trace)\n`,
    );
    expect(r.out).toBe("");
  });

  it("a pid map naming a cgroup the recording does not have", async () => {
    const m = JSON.parse(meta);
    m.pids = { "11431": "nowhere" };
    const d = dir({ "meta.json": JSON.stringify(m), "trace.txt.gz": trace });
    const r = await run([d, "--model", "v5.9"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `BAD_RECORDING: ${join(d, "meta.json")}: pid 11431 maps to cgroup "nowhere", which meta.json "before" does not list`,
    );
  });

  it("a malformed --pid-cgroup flag is a usage error", async () => {
    const r = await run([FIXTURE, "--pid-cgroup", "abc=x"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--pid-cgroup abc=x: expected PID=NAME");
  });

  it("a trace map with none of the trace's pids: no usable line", async () => {
    const m = JSON.parse(meta);
    m.pids = { "1": "mkdir-2000-0" };
    const d = dir({ "meta.json": JSON.stringify(m), "trace.txt.gz": trace });
    const r = await run([d, "--model", "v5.9", "--json"]);
    expect(r.code).toBe(1);
    // every line parsed, none used: the allocations are another process's, the frees of objects it never saw
    expect(r.err).toBe(
      `replay: NO_USABLE_LINE: ${join(d, "trace.txt.gz")}: none of its 11045 lines could be used ({"pidNotInMap":${8854 + 190},"freeOfUnknownObject":2001}): is the pid map the trace's?\n`,
    );
    expect(r.out).toBe("");
  });

  it("not gzip: trace.txt.gz holding plain text names byte 0", async () => {
    const d = dir({
      "meta.json": meta,
      "trace.txt.gz": "python3-1 [000] ..... 1.0: kfree: call_site=x ptr=1\n",
    });
    const r = await run([d]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "replay: NOT_GZIP: the trace is not gzip data: byte 0 is 0x70, gzip starts with 0x1f 0x8b\n",
    );
  });

  it("truncated gzip: the error names the byte offset where the input ended", async () => {
    const cut = trace.subarray(0, 40_000);
    const d = dir({ "meta.json": meta, "trace.txt.gz": cut });
    const r = await run([d, "--model", "v5.9"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^replay: TRUNCATED_GZIP: truncated gzip: the input ends at byte 40000 inside a compressed member \(\d+ complete lines read\)\n$/,
    );
  });

  it("an empty trace", async () => {
    const d = dir({ "meta.json": meta, "trace.txt": "" });
    const r = await run([d]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`replay: EMPTY_TRACE: ${join(d, "trace.txt")}: the trace is empty\n`);
    const z = dir({ "meta.json": meta, "trace.txt.gz": gzipSync(Buffer.alloc(0)) });
    expect((await run([z])).err).toBe(
      `replay: EMPTY_TRACE: ${join(z, "trace.txt.gz")}: the trace is empty\n`,
    );
  });

  it("a trace with no usable line (header and other events only)", async () => {
    const d = dir({
      "meta.json": meta,
      "trace.txt":
        "# tracer: nop\n#\n  bash-1 [000] ..... 1.000000: sched_switch: prev_comm=bash prev_pid=1\nrandom junk\n",
    });
    const r = await run([d, "--model", "v5.9"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `replay: NO_USABLE_LINE: ${join(d, "trace.txt")}: none of its 4 lines is a kmem/page/fork event ({"comment":2,"otherEvent":1,"garbled":1})\n`,
    );
  });

  it("garbled lines inside a good trace are counted, never fatal", async () => {
    const d = mkdtempSync(join(tmpdir(), "replay-err-"));
    copyFileSync(join(FIXTURE, "meta.json"), join(d, "meta.json"));
    writeFileSync(join(d, "trace.txt"), `garbage line\n${gunzipSync(trace).toString("latin1")}`);
    const r = await run([d, "--model", "v5.9", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.lines).toEqual({ parsed: 11046, used: 11045, skipped: { garbled: 1 } });
    expect(doc.cgroups["mkdir-2000-0"].predicted["memory.kmem.usage_in_bytes"]).toBe(1921024);
  });

  it("an unknown model is a usage error", async () => {
    const r = await run([FIXTURE, "--model", "v9.9"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown model "v9.9"');
  });
});

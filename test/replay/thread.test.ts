import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { openRecording } from "../../src/replay/recording.js";
import { replayRecording } from "../../src/replay/run.js";

/**
 * A trace read and parsed on a thread of its own (run.ts `thread`, records.ts) gives what the
 * single-thread replay gives: the same report, and for a bad trace the same error (code, message
 * with its byte offset or line count, details), whatever the trace's size and content.
 */
const FIXTURE = join(import.meta.dirname, "fixtures", "mkdir-2000");
const meta = readFileSync(join(FIXTURE, "meta.json"), "utf8");
const trace = readFileSync(join(FIXTURE, "trace.txt.gz"));
const text = gunzipSync(trace).toString("latin1");

function dir(files: Record<string, string | Buffer>): string {
  const d = mkdtempSync(join(tmpdir(), "replay-thread-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(d, name), content);
  return d;
}

/** The outcome of a replay: its report, or its error's class, code, message and details. */
async function outcome(d: string, thread: boolean): Promise<unknown> {
  try {
    return { report: await replayRecording(openRecording(d), { thread, models: ["v5.9", "rfc-2012"] }) };
  } catch (e) {
    const x = e as Error & { code?: unknown; details?: unknown };
    return { error: { name: x.constructor.name, code: x.code, message: x.message, details: x.details } };
  }
}

async function same(d: string): Promise<unknown> {
  const single = await outcome(d, false);
  expect(await outcome(d, true)).toEqual(single);
  return single;
}

describe("replay on a parsing thread: the same outcome as on one thread", () => {
  it("a good trace over several batches", async () => {
    // 11,045 lines: two batches of records
    const r = (await same(FIXTURE)) as { report: { models: Record<string, { lines: { parsed: number } }> } };
    expect(r.report.models["v5.9"].lines.parsed).toBe(11045);
  });

  it("not gzip, empty gzip, truncated gzip (several cuts), corrupt gzip", async () => {
    const notGzip = (await same(dir({ "meta.json": meta, "trace.txt.gz": "python3-1 [000] x\n" }))) as {
      error: { code: string };
    };
    expect(notGzip.error.code).toBe("NOT_GZIP");
    const empty = (await same(dir({ "meta.json": meta, "trace.txt.gz": gzipSync(Buffer.alloc(0)) }))) as {
      error: { code: string };
    };
    expect(empty.error.code).toBe("EMPTY_TRACE");
    for (const cut of [10, 40_000, 70_001, trace.length - 3]) {
      const r = (await same(dir({ "meta.json": meta, "trace.txt.gz": trace.subarray(0, cut) }))) as {
        error: { code: string; message: string; details: { offset: number; lines: number } };
      };
      expect(r.error.code).toBe("TRUNCATED_GZIP");
      expect(r.error.details.offset).toBe(cut);
    }
    const bad = Buffer.from(trace);
    for (let k = 20_000; k < 20_064; k++) bad[k] ^= 0x5a;
    const r = (await same(dir({ "meta.json": meta, "trace.txt.gz": bad }))) as { error: { code: string } };
    expect(r.error.code).toBe("BAD_GZIP");
  });

  it("garbled lines, other events, comments, CRLF, no final newline, a plain-text trace", async () => {
    const lines = text.split("\n");
    const mixed = [
      "# tracer: nop",
      "garbage line",
      lines[5],
      "  bash-1 [000] ..... 1.000000: sched_switch: prev_comm=bash prev_pid=1",
      ...lines.slice(6, 9000).map((l, i) => (i % 997 === 0 ? `${l}\r` : l)),
      "python3-11431 [000] ..... 9.9: kmem_cache_alloc: ptr=zz name=dentry bytes_alloc=192",
      "python3-11431 [001] ..... 9.9: mm_page_alloc: page=x pfn=123 order=0 migratetype=0 gfp_flags=GFP_KERNEL_ACCOUNT",
      ...lines.slice(9000).filter((l) => l.length > 0),
    ].join("\n");
    const r = (await same(dir({ "meta.json": meta, "trace.txt.gz": gzipSync(mixed) }))) as {
      report: { models: Record<string, { lines: { skipped: Record<string, number> } }> };
    };
    expect(r.report.models["v5.9"].lines.skipped.garbled).toBeGreaterThan(0);
    await same(dir({ "meta.json": meta, "trace.txt": mixed }));
  });

  it("more distinct strings than the run's table holds (gfp texts), odd pointers", async () => {
    const head = "python3-11431 [000] ..... 5.000001: ";
    const out: string[] = [];
    for (let k = 0; k < 20_000; k++) {
      const ptr = `${k % 3 === 0 ? "0X" : ""}${(0x1000 + k).toString(16)}`;
      out.push(
        `${head}kmem_cache_alloc: call_site=x ptr=${ptr} name=c${k % 5} bytes_req=64 bytes_alloc=64 gfp_flags=GFP_KERNEL|0x${k.toString(16)}${k % 5 === 0 ? "|__GFP_ACCOUNT" : ""} accounted=${k % 5 === 0}`,
      );
      if (k % 2 === 0) out.push(`${head}kmem_cache_free: call_site=y ptr=${ptr} name=c${k % 5}`);
    }
    const r = (await same(dir({ "meta.json": meta, "trace.txt.gz": gzipSync(out.join("\n")) }))) as {
      report: { models: Record<string, { lines: { used: number } }> };
    };
    expect(r.report.models["v5.9"].lines.used).toBe(30_000);
  });

  it("an engine error while applying (more caches than the instance allows): the same error", async () => {
    const head = "python3-11431 [000] ..... 5.000001: ";
    const out: string[] = [];
    for (let k = 0; k < 3000; k++)
      out.push(
        `${head}kmem_cache_alloc: call_site=x ptr=${(0x1000 + k).toString(16)} name=c${k} bytes_req=64 bytes_alloc=64 gfp_flags=GFP_KERNEL accounted=false`,
      );
    const r = (await same(dir({ "meta.json": meta, "trace.txt.gz": gzipSync(out.join("\n")) }))) as {
      error: { name: string; code: string };
    };
    expect(r.error).toMatchObject({ name: "EngineError", code: "LIMIT_EXCEEDED" });
  });
});

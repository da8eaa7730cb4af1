import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { runRecordCli, runReplayCli } from "../../src/replay/cli.js";
import { TraceFilter } from "../../src/replay/record.js";

async function run(f: typeof runRecordCli, args: string[]) {
  let out = "";
  let err = "";
  const code = await f(args, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describe("record: the trace filter", () => {
  it("keeps the workload's allocations, the frees of its objects, its ACCOUNT pages and its children", () => {
    const f = new TraceFilter([100]);
    const lines = [
      " python3-100 [000] ..... 1.000001: kmem_cache_alloc: call_site=x ptr=00000000000000a1 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true",
      " other-200 [000] ..... 1.000002: kmem_cache_alloc: call_site=x ptr=00000000000000b1 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true",
      " <idle>-0 [001] ..s1. 1.000003: kmem_cache_free: call_site=rcu_do_batch ptr=00000000000000a1 name=dentry",
      " <idle>-0 [001] ..s1. 1.000004: kmem_cache_free: call_site=rcu_do_batch ptr=00000000000000b1 name=dentry",
      " python3-100 [000] ..... 1.000005: mm_page_alloc: page=1 pfn=0x10 order=0 migratetype=0 gfp_flags=GFP_KERNEL_ACCOUNT",
      " python3-100 [000] ..... 1.000006: mm_page_alloc: page=2 pfn=0x11 order=0 migratetype=0 gfp_flags=GFP_KERNEL",
      " python3-100 [000] ..... 1.000007: sched_process_fork: comm=python3 pid=100 child_comm=python3 child_pid=101",
      " python3-101 [000] ..... 1.000008: kmalloc: call_site=x ptr=00000000000000c1 bytes_req=60 bytes_alloc=64 gfp_flags=GFP_KERNEL_ACCOUNT node=-1 accounted=true",
      " kworker-7 [001] ..... 1.000009: mm_page_free: page=1 pfn=0x10 order=0",
      " python3-101 [000] ..... 1.000010: sched_process_exit: comm=python3 pid=101 prio=120",
      " python3-100 [000] ..... 1.000011: sched_switch: prev_comm=python3",
    ];
    expect(lines.map((l) => f.keep(l))).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
      true,
      true,
      true,
      true,
      false,
    ]);
    expect(f.kept).toBe(7);
    expect([...f.caches]).toEqual(["dentry"]);
    expect(f.parentOf.get(101)).toBe(100);
  });
});

describe("record: refusals", () => {
  it("refuses without root, naming why", async () => {
    const spy = vi.spyOn(process, "getuid").mockReturnValue(1000);
    try {
      const r = await run(runRecordCli, ["--out", join(tmpdir(), "never"), "--", "true"]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        "record: record needs root: it creates memory cgroups and enables kmem tracepoints (run it with sudo)\n",
      );
    } finally {
      spy.mockRestore();
    }
  });

  it("usage errors: no --out, no command, bad --cpus", async () => {
    expect((await run(runRecordCli, ["--", "true"])).err).toContain("record: --out DIR is required");
    expect((await run(runRecordCli, ["--out", "/tmp/x"])).err).toContain(
      "record: give the command to record after --",
    );
    const r = await run(runRecordCli, ["--out", "/tmp/x", "--cpus", "a", "--", "true"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--cpus a: expected a comma list of CPU numbers");
  });
});

// Records on the real kernel: root, tracefs, a memory controller. Creates and removes its own
// cgroups and tracing instance. Run with MEMCG_SIM_KERNEL_TESTS=1.
describe.runIf(process.env.MEMCG_SIM_KERNEL_TESTS === "1")("record on this kernel", () => {
  it("records 100 directories on tmpfs, leaves nothing behind, and v5.9 replays it within 3 pages", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "rec-")), "mkdir100");
    const shm = mkdtempSync("/dev/shm/memcg-sim-rec-");
    const before = readFileSync("/proc/mounts", "utf8").includes(" tracefs ");
    // the shell forks one mkdir per directory: --pages traces the forks (children join the pid map)
    const r = await run(runRecordCli, [
      "--out",
      out,
      "--pages",
      "--buffer-kb",
      "65536",
      "--",
      "sh",
      "-c",
      `for i in $(seq 100); do mkdir ${shm}/d$i; done`,
    ]);
    rmSync(shm, { recursive: true, force: true });
    expect(r.code, r.err).toBe(0);
    expect(readFileSync("/proc/mounts", "utf8").includes(" tracefs ")).toBe(before);
    const meta = JSON.parse(readFileSync(join(out, "meta.json"), "utf8"));
    expect(Object.values(meta.pids)).toContain("mkdir100-0");
    for (const d of ["/sys/fs/cgroup/memory", "/sys/fs/cgroup"])
      expect(existsSync(join(d, `memcg-sim-record-${process.pid}`))).toBe(false);
    const rep = await run(runReplayCli, [out, "--model", "v5.9", "--json"]);
    expect(rep.code, rep.err).toBe(0);
    const doc = JSON.parse(rep.out);
    const c = doc.cgroups["mkdir100-0"];
    expect(
      Math.abs(c.predicted["memory.kmem.usage_in_bytes"] - c.real["memory.kmem.usage_in_bytes"]),
    ).toBeLessThanOrEqual(3 * 4096);
  }, 120_000);
});

/**
 * Replay speed: trace lines per second per model, from a gzip file (issue #15: ≥ 1M lines/s), and
 * memory against trace length: the peak RSS and the heap left in use of a replay of 1M, 4M and 10M
 * lines, each in a fresh process (memory flat in trace length).
 *
 * The trace is synthetic, in the shape of the shared `mkdir`/`churn` recordings: per step a
 * names_cache allocation and its free, a dentry, a shmem inode and an LSM blob; every 64 steps the
 * objects of 64 steps before are freed (the live set stays bounded, as in a real churn).
 * Baseline: gunzip + line split of the same file with no parse and no replay (the I/O floor).
 *
 * `npx tsx bench/replay-speed.ts [--lines N] [--memory 1000000,4000000,10000000]` prints the
 * figures; bench/run.ts calls `replaySpeed` and `replayMemory`. The traces are written to a
 * temporary directory in gzip members of 50,000 lines (never whole in memory) and removed after.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, createReadStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { MODEL_NAMES as MODELS } from "../src/engine/config.js";
import { readTraceLines } from "../src/replay/input.js";
import { openRecording } from "../src/replay/recording.js";
import { replayRecording } from "../src/replay/run.js";

const PID = 4242;

/** Writes a recording directory with a synthetic trace of about `lines` lines; returns its path. */
export function syntheticRecording(lines: number): string {
  const dir = mkdtempSync(join(tmpdir(), "replay-speed-"));
  const meta = {
    case: "synthetic",
    cpus: [0],
    limit: null,
    siblings: 1,
    pids: { [PID]: "synthetic-0" },
    before: { parent: {}, "synthetic-0": {} },
    after: { parent: {}, "synthetic-0": {} },
    caches: {
      names_cache: {
        object_size: 4096,
        slab_size: 4096,
        objs_per_slab: 8,
        order: 3,
        align: 64,
        reclaim_account: false,
        destroy_by_rcu: false,
        hwcache_align: false,
      },
      dentry: {
        object_size: 192,
        slab_size: 192,
        objs_per_slab: 21,
        order: 0,
        align: 8,
        reclaim_account: true,
        destroy_by_rcu: false,
        hwcache_align: false,
      },
      shmem_inode_cache: {
        object_size: 744,
        slab_size: 752,
        objs_per_slab: 21,
        order: 2,
        align: 8,
        reclaim_account: true,
        destroy_by_rcu: false,
        hwcache_align: false,
      },
      lsm_inode_cache: {
        object_size: 32,
        slab_size: 32,
        objs_per_slab: 128,
        order: 0,
        align: 8,
        reclaim_account: false,
        destroy_by_rcu: false,
        hwcache_align: false,
      },
    },
    trace_lines: 0,
  };
  let out: string[] = [];
  const file = join(dir, "trace.txt.gz");
  writeFileSync(file, "");
  // written in gzip members of ~50,000 lines (a multi-member file, as `cat a.gz b.gz` makes)
  const spill = () => {
    appendFileSync(file, gzipSync(`${out.join("\n")}\n`, { level: 6 }));
    out = [];
  };
  let n = 0;
  let ts = 1000;
  const hex = (v: number) => v.toString(16).padStart(16, "0");
  const head = () => {
    ts += 0.000003;
    return `         python3-${PID}   [000] ..... ${ts.toFixed(6)}: `;
  };
  const steps: number[][] = [];
  let step = 0;
  while (n < lines) {
    const base = 0x10000000 + step * 16;
    out.push(
      `${head()}kmem_cache_alloc: call_site=getname_flags.part.0+0x24/0x1f0 ptr=${hex(0xfff)} name=names_cache bytes_req=4096 bytes_alloc=4096 gfp_flags=GFP_KERNEL node=-1 accounted=false`,
    );
    out.push(
      `${head()}kmem_cache_alloc: call_site=__d_alloc+0x2d/0x230 ptr=${hex(base + 1)} name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true`,
    );
    out.push(
      `${head()}kmem_cache_alloc: call_site=shmem_alloc_inode+0x1d/0x40 ptr=${hex(base + 2)} name=shmem_inode_cache bytes_req=744 bytes_alloc=752 gfp_flags=GFP_KERNEL node=-1 accounted=true`,
    );
    out.push(
      `${head()}kmem_cache_alloc: call_site=security_inode_alloc+0x28/0xe0 ptr=${hex(base + 3)} name=lsm_inode_cache bytes_req=32 bytes_alloc=32 gfp_flags=GFP_NOFS|__GFP_ZERO node=-1 accounted=false`,
    );
    out.push(`${head()}kmem_cache_free: call_site=do_mkdirat+0xe5/0x190 ptr=${hex(0xfff)} name=names_cache`);
    n += 5;
    if (out.length >= 50_000) spill();
    steps.push([base + 1, base + 2, base + 3]);
    step++;
    if (step % 64 === 0 && steps.length > 64) {
      // a churn: the 64 oldest steps' objects go, freed in a batch (as rm -r does)
      for (const [d, i, l] of steps.splice(0, 64)) {
        out.push(`${head()}kmem_cache_free: call_site=dentry_free+0x5f/0xa0 ptr=${hex(d)} name=dentry`);
        out.push(
          `${head()}kmem_cache_free: call_site=shmem_free_in_core_inode+0x2c/0x40 ptr=${hex(i)} name=shmem_inode_cache`,
        );
        out.push(
          `${head()}kmem_cache_free: call_site=security_inode_free+0x22/0x40 ptr=${hex(l)} name=lsm_inode_cache`,
        );
        n += 3;
      }
    }
  }
  if (out.length > 0) spill();
  meta.trace_lines = n;
  writeFileSync(join(dir, "meta.json"), JSON.stringify(meta));
  return dir;
}

export interface ReplaySpeed {
  lines: number;
  gzipBytes: number;
  /** gunzip + split only, lines/s. */
  floorPerSec: number;
  /** Per model: replay lines/s (one model per pass). */
  perModel: Record<string, number>;
  /** Per model: lines per second of CPU time (a figure less at the mercy of a shared machine). */
  perModelCpu: Record<string, number>;
  /** The same two figures with the trace parsed on the main thread (`thread: false`). */
  perModelSingle?: Record<string, number>;
  perModelSingleCpu?: Record<string, number>;
}

/** One replay's memory, measured in a process of its own. */
export interface ReplayMemory {
  lines: number;
  /** Peak RSS of the process (MiB), setup and module loading included. */
  maxRssMiB: number;
  /** V8 heap in use after the replay, after a full GC (MiB). */
  heapUsedMiB: number;
}

async function floor(dir: string): Promise<number> {
  const t = performance.now();
  let count = 0;
  await readTraceLines(
    createReadStream(join(dir, "trace.txt.gz"), { highWaterMark: 256 * 1024 }),
    "yes",
    () => {
      count++;
    },
  );
  return count / ((performance.now() - t) / 1000);
}

/** Lines per second of one replay: of wall-clock time, and of the process's CPU time (all threads). */
async function once(dir: string, model: string, thread?: boolean): Promise<{ wall: number; cpu: number }> {
  const rec = openRecording(dir);
  const t = performance.now();
  const c0 = process.cpuUsage();
  await replayRecording(rec, { models: [model], ...(thread === undefined ? {} : { thread }) });
  const c = process.cpuUsage(c0);
  const lines = rec.meta.trace_lines ?? 0;
  return { wall: lines / ((performance.now() - t) / 1000), cpu: lines / ((c.user + c.system) / 1e6) };
}

export async function replaySpeed(lines: number, runs: number): Promise<ReplaySpeed> {
  const dir = syntheticRecording(lines);
  const rec = openRecording(dir);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  await once(dir, "v5.9"); // warm-up (JIT)
  const floors: number[] = [];
  for (let i = 0; i < runs; i++) floors.push(await floor(dir));
  const perModel: Record<string, number> = {};
  const perModelCpu: Record<string, number> = {};
  const perModelSingle: Record<string, number> = {};
  const perModelSingleCpu: Record<string, number> = {};
  for (const m of MODELS) {
    // the default (a trace this size is parsed on a thread of its own) and one thread, interleaved
    const rs: { wall: number; cpu: number }[] = [];
    const ss: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < runs; i++) {
      rs.push(await once(dir, m));
      ss.push(await once(dir, m, false));
    }
    perModel[m] = med(rs.map((r) => r.wall));
    perModelCpu[m] = med(rs.map((r) => r.cpu));
    perModelSingle[m] = med(ss.map((r) => r.wall));
    perModelSingleCpu[m] = med(ss.map((r) => r.cpu));
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    lines: rec.meta.trace_lines ?? 0,
    gzipBytes: rec.traceBytes,
    floorPerSec: med(floors),
    perModel,
    perModelCpu,
    perModelSingle,
    perModelSingleCpu,
  };
}

/**
 * Replays a synthetic trace of each length under `model` in a fresh process (this file with
 * `--memory-child DIR MODEL`; the same node flags, --expose-gc added) and reads its peak RSS and
 * the heap in use after the replay.
 */
export function replayMemory(lengths: readonly number[], model = "v5.9"): ReplayMemory[] {
  const out: ReplayMemory[] = [];
  for (const n of lengths) {
    const dir = syntheticRecording(n);
    try {
      const res = execFileSync(
        process.execPath,
        [...process.execArgv, "--expose-gc", fileURLToPath(import.meta.url), "--memory-child", dir, model],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      );
      const r = JSON.parse(res.trim().split("\n").pop()!) as ReplayMemory;
      out.push(r);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

async function memoryChild(dir: string, model: string): Promise<void> {
  const rec = openRecording(dir);
  await replayRecording(rec, { models: [model] });
  global.gc?.();
  const r: ReplayMemory = {
    lines: rec.meta.trace_lines ?? 0,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
  };
  console.log(JSON.stringify(r));
}

const child = process.argv.indexOf("--memory-child");
if (process.argv[1] === fileURLToPath(import.meta.url) && child > 0) {
  await memoryChild(process.argv[child + 1], process.argv[child + 2]);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const lines = Number(arg("--lines") ?? 1_000_000);
  const r = await replaySpeed(lines, 3);
  console.log(
    `synthetic trace: ${r.lines} lines, ${(r.gzipBytes / 2 ** 20).toFixed(1)} MiB gzip; 3 runs per figure, median`,
  );
  console.log(`  baseline (gunzip + split): ${(r.floorPerSec / 1e6).toFixed(2)}M lines/s`);
  for (const [m, v] of Object.entries(r.perModel))
    console.log(
      `${v >= 1e6 ? "✓" : "✗"} replay ${m}: ${(v / 1e6).toFixed(2)}M lines/s from gzip (target ≥ 1M; ${((100 * v) / r.floorPerSec).toFixed(0)} % of the baseline; ${(r.perModelCpu[m] / 1e6).toFixed(2)}M lines per CPU-second); parsed on the main thread: ${(r.perModelSingle![m] / 1e6).toFixed(2)}M lines/s (${(r.perModelSingleCpu![m] / 1e6).toFixed(2)}M per CPU-second)`,
    );
  const lengths = (arg("--memory") ?? "1000000,4000000,10000000").split(",").map(Number);
  for (const m of replayMemory(lengths))
    console.log(
      `  memory, v5.9, ${m.lines} lines: peak RSS ${m.maxRssMiB.toFixed(0)} MiB, heap in use after ${m.heapUsedMiB.toFixed(1)} MiB`,
    );
}

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { EngineError } from "../engine/index.js";
import { emitK8s, K8S_DEFAULTS } from "./k8s.js";
import { mergeSweepDirs } from "./merge.js";
import type { PointResult } from "./point.js";
import { defaultWorkerCount, SweepPool } from "./pool.js";
import { renderSweepReport } from "./report.js";
import { runSweep, type Shard, type SweepProgress } from "./run.js";
import { loadSweepSpecFile } from "./spec.js";
import { ResultsDir, SweepFileError } from "./store.js";

export const SWEEP_USAGE = `Usage: memcg-sim sweep SPEC.yaml --out DIR [--workers N] [--shard I/N]
       memcg-sim sweep SPEC.yaml --emit-k8s DIR --completions N [--image IMG] [--parallelism P] [--workers N]

Runs every point of a parameter grid (SPEC: {description?, scenario: FILE | {config, commands},
models?: [...], axes: [{name, path, values}]}) as one deterministic simulation and appends one
JSON line per point to DIR/results.jsonl (timings to DIR/timings.jsonl). Run it again with the same
DIR to resume: points already written are skipped, a torn last line is rewritten.

  --out DIR          results directory (created; resumed when it holds this sweep's shard)
  --workers N        worker threads (default: the machine's cores, ${defaultWorkerCount()} here); 0 = this thread
  --shard I/N        run only the points whose index ≡ I (mod N); default from JOB_COMPLETION_INDEX
                     and JOB_COMPLETIONS when they are set (a Kubernetes Indexed Job), else 0/1
  --emit-k8s DIR     write a Kubernetes Indexed Job, ConfigMap and PersistentVolumeClaim instead
  --completions N    the Job's completions (= shards)
  --parallelism P    pods at once (default: completions)
  --image IMG        the project's image (default ${K8S_DEFAULTS.image})
  -h, --help         this text

Exit status: 0 done, 1 the spec or a results file is invalid, 2 wrong usage.
`;

export const SWEEP_MERGE_USAGE = `Usage: memcg-sim sweep-merge DIR... --out FILE.jsonl [--report OUT.html]

Merges the results directories of the shards of one sweep into FILE.jsonl, one line per point in
index order (the same bytes a single process writes). Refuses directories of different sweeps and
a point whose lines disagree; reports points no directory holds.

  --out FILE.jsonl   the merged results
  --report OUT.html  also draw every column against every axis, one line per model
  -h, --help         this text

Exit status: 0 merged and complete, 3 merged but points are missing (listed on stderr),
1 refused (different sweeps, disagreeing lines, a torn or damaged file), 2 wrong usage.
`;

export interface SweepIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): SweepIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

function int(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${name} must be an integer in [${min}, ${max}], not "${text}"`);
  return n;
}

class UsageError extends Error {}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** `--shard I/N`, else JOB_COMPLETION_INDEX / JOB_COMPLETIONS, else 0/1. */
export function shardOf(flag: string | undefined, env: NodeJS.ProcessEnv): Shard {
  if (flag !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(flag);
    if (m === null) throw new UsageError(`--shard must be I/N such as 0/2, not "${flag}"`);
    const shard = { index: Number(m[1]), count: Number(m[2]) };
    if (shard.count < 1 || shard.index >= shard.count)
      throw new UsageError(`--shard ${flag}: I must be in [0, N)`);
    return shard;
  }
  const i = env.JOB_COMPLETION_INDEX;
  const n = env.JOB_COMPLETIONS;
  if (i === undefined && n === undefined) return { index: 0, count: 1 };
  if (i === undefined || n === undefined)
    throw new UsageError(
      "JOB_COMPLETION_INDEX and JOB_COMPLETIONS must be set together (or pass --shard I/N)",
    );
  const index = int(i, "JOB_COMPLETION_INDEX", 0, 1_000_000)!;
  const count = int(n, "JOB_COMPLETIONS", 1, 1_000_000)!;
  if (index >= count)
    throw new UsageError(`JOB_COMPLETION_INDEX ${index} must be below JOB_COMPLETIONS ${count}`);
  return { index, count };
}

/** A one-line progress bar (terminal) or a line every 10 % (a log, such as a pod's). */
function progressReporter(io: SweepIo): (p: SweepProgress) => void {
  let lastTenth = -1;
  let lastText = "";
  return (p) => {
    const frac = p.total === 0 ? 1 : p.done / p.total;
    const eta = p.etaSeconds === null ? "?" : `${Math.ceil(p.etaSeconds)} s`;
    const text = `${p.done}/${p.total} points  ${p.pointsPerSecond.toFixed(2)} points/s  ETA ${eta}`;
    if (io.stderr.isTTY) {
      const width = 30;
      const full = Math.round(frac * width);
      const line = `[${"#".repeat(full)}${"-".repeat(width - full)}] ${text}`;
      if (line !== lastText) io.stderr.write(`\r${line}\x1b[K${p.done === p.total ? "\n" : ""}`);
      lastText = line;
      return;
    }
    const tenth = Math.floor(frac * 10);
    if (tenth !== lastTenth) io.stderr.write(`sweep: ${text}\n`);
    lastTenth = tenth;
  };
}

function userError(io: SweepIo, what: string, e: unknown): number {
  if (e instanceof UsageError) {
    io.stderr.write(`${what}: ${e.message}\n`);
    return 2;
  }
  if (e instanceof EngineError || e instanceof SweepFileError) {
    io.stderr.write(`${what}: ${e.message}\n`);
    return 1;
  }
  const err = e as NodeJS.ErrnoException;
  if (err?.code === "ENOENT" || err?.code === "EACCES" || err?.code === "EISDIR" || err?.code === "ENOTDIR") {
    io.stderr.write(`${what}: ${err.message}\n`);
    return 1;
  }
  throw e;
}

/** `memcg-sim sweep ...` (issue #21). `argv` are the arguments after `sweep`. */
export async function runSweepCli(argv: string[], io: SweepIo = defaultIo()): Promise<number> {
  let args: ReturnType<typeof parseSweepArgs>;
  try {
    args = parseSweepArgs(argv);
  } catch (e) {
    io.stderr.write(`sweep: ${(e as Error).message}\n\n${SWEEP_USAGE}`);
    return 2;
  }
  const v = args.values;
  if (v.help) {
    io.stdout.write(SWEEP_USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) {
    io.stderr.write(`sweep: expected exactly one SPEC file\n\n${SWEEP_USAGE}`);
    return 2;
  }
  if ((v.out === undefined) === (v["emit-k8s"] === undefined)) {
    io.stderr.write(`sweep: give either --out DIR or --emit-k8s DIR\n\n${SWEEP_USAGE}`);
    return 2;
  }
  let pool: SweepPool | null = null;
  try {
    const workers = int(v.workers, "--workers", 0, 256) ?? defaultWorkerCount();
    const spec = await loadSweepSpecFile(args.positionals[0]);
    if (v["emit-k8s"] !== undefined) {
      const completions = int(v.completions, "--completions", 1, 100_000);
      if (completions === undefined) throw new UsageError("--emit-k8s needs --completions N");
      const files = emitK8s(spec, v["emit-k8s"], {
        completions,
        parallelism: int(v.parallelism, "--parallelism", 1, 100_000) ?? completions,
        image: v.image ?? K8S_DEFAULTS.image,
        workers: Math.max(1, workers),
      });
      io.stdout.write(`${files.join("\n")}\n`);
      const g = gcd(completions, spec.models.length);
      if (g > 1)
        io.stderr.write(
          `sweep: note: ${completions} completions and ${spec.models.length} models share the factor ${g}: each pod runs only ${spec.models.length / g} of the models (the model is the fastest coordinate); a completion count coprime with ${spec.models.length} mixes every model into every pod\n`,
        );
      return 0;
    }
    const shard = shardOf(v.shard, io.env);
    const dir = ResultsDir.open(v.out as string, spec, shard, (msg) => io.stderr.write(`sweep: ${msg}\n`));
    const mine = Math.ceil((spec.pointCount - shard.index) / shard.count);
    io.stderr.write(
      `sweep: ${spec.pointCount} points, shard ${shard.index}/${shard.count} owns ${mine}, ${dir.done.size} already done; ${workers === 0 ? "this thread" : `${workers} worker threads`}\n`,
    );
    pool = workers === 0 ? null : new SweepPool(workers);
    const t0 = performance.now();
    const ran = await runSweep(spec, {
      pool,
      shard,
      skip: dir.done,
      onResult: (index, line, wallMs) => dir.append(index, line, wallMs, workers),
      onProgress: progressReporter(io),
    });
    const secs = (performance.now() - t0) / 1000;
    io.stderr.write(
      `sweep: ${ran} points in ${secs.toFixed(1)} s (${secs > 0 ? (ran / secs).toFixed(2) : "-"} points/s) → ${dir.resultsFile}\n`,
    );
    return 0;
  } catch (e) {
    return userError(io, "sweep", e);
  } finally {
    await pool?.close();
  }
}

/** `memcg-sim sweep-merge DIR... --out FILE.jsonl [--report OUT.html]`. */
export async function runSweepMergeCli(argv: string[], io: SweepIo = defaultIo()): Promise<number> {
  let args: ReturnType<typeof parseMergeArgs>;
  try {
    args = parseMergeArgs(argv);
  } catch (e) {
    io.stderr.write(`sweep-merge: ${(e as Error).message}\n\n${SWEEP_MERGE_USAGE}`);
    return 2;
  }
  if (args.values.help) {
    io.stdout.write(SWEEP_MERGE_USAGE);
    return 0;
  }
  if (args.positionals.length === 0 || args.values.out === undefined) {
    io.stderr.write(`sweep-merge: expected DIR... and --out FILE.jsonl\n\n${SWEEP_MERGE_USAGE}`);
    return 2;
  }
  try {
    const merged = mergeSweepDirs(args.positionals);
    writeFileSync(args.values.out, merged.lines.join(""));
    if (args.values.report !== undefined) {
      const results = merged.lines.map((l) => JSON.parse(l) as PointResult);
      writeFileSync(
        args.values.report,
        renderSweepReport(merged.spec, results, `memcg-sim sweep: ${args.values.out}`),
      );
    }
    io.stderr.write(
      `sweep-merge: ${merged.lines.length}/${merged.spec.pointCount} points → ${args.values.out}` +
        (merged.duplicateCount > 0 ? ` (${merged.duplicateCount} identical duplicates kept once)` : "") +
        "\n",
    );
    if (merged.missing.length > 0) {
      io.stderr.write(`sweep-merge: ${merged.missing.length} points missing:\n`);
      for (const p of merged.missing.slice(0, 20))
        io.stderr.write(`  point ${p.index}: model ${p.model} ${JSON.stringify(p.coords)}\n`);
      if (merged.missing.length > 20) io.stderr.write(`  … and ${merged.missing.length - 20} more\n`);
      return 3;
    }
    return 0;
  } catch (e) {
    return userError(io, "sweep-merge", e);
  }
}

function parseSweepArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: "string" },
      workers: { type: "string" },
      shard: { type: "string" },
      "emit-k8s": { type: "string" },
      completions: { type: "string" },
      parallelism: { type: "string" },
      image: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function parseMergeArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: "string" },
      report: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { EngineError, MODEL_NAMES as MODELS } from "../engine/index.js";
import { TraceInputError } from "./input.js";
import { openRecording } from "./recording.js";
import { COUNTERS } from "./replay.js";
import { renderReplayReport } from "./report.js";
import { type ModelReport, type ReplayReport, replayRecording } from "./run.js";

export const REPLAY_USAGE = `Usage: memcg-sim replay DIR [--model M ...] [--json] [--report OUT.html] [options]
       memcg-sim replay --table DIR... [--model M ...]

Replays the kernel trace of the recording DIR (meta.json + trace.txt.gz, the layout of
docs/REPLAY.md) under each model and prints, per cgroup and counter, the real delta
(after − before in meta.json), the predicted one and the error.

  --model M              a model to replay under (repeatable, or a comma list; default: ${MODELS.join(",")})
  --json                 print one JSON document (with one --model: that model's object, no "models" wrapper)
  --report OUT.html      also write an HTML report (predicted vs real, live objects per cache)
  --pid-cgroup PID=NAME  place PID in the recording's cgroup NAME (a new child of parent if unknown; repeatable)
  --cpus N               CPUs of the simulated machine (default: meta.json nr_cpus, else its highest cpus entry + 1)
  --charge-batch-pages N the per-CPU page-charge batch (the kernel's MEMCG_CHARGE_BATCH is 64; default 1)
  --no-batch             one allocObjects per allocation line (slower; the same answer)
  --table DIR...         several recordings: one markdown table of each cgroup's Δkmem error in pages per model
  -h, --help             this text

Exit status: 0 done, 1 the recording or trace cannot be used, 2 wrong usage.
`;

export interface ReplayCliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: "string", multiple: true },
      models: { type: "string" },
      json: { type: "boolean" },
      report: { type: "string" },
      "pid-cgroup": { type: "string", multiple: true },
      cpus: { type: "string" },
      "charge-batch-pages": { type: "string" },
      "no-batch": { type: "boolean" },
      table: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/**
 * `--table`: one markdown table over several recordings — per non-parent cgroup the real
 * Δmemory.kmem.usage_in_bytes and each model's error in pages, then the OOM kills.
 */
export function formatTable(rows: { dir: string; report: ReplayReport }[], models: string[]): string {
  const head = `| recording | cgroup | real Δkmem (pages) | ${models.map((m) => `${m} error (pages)`).join(" | ")} |`;
  const sep = `|---|---|---:|${models.map(() => "---:").join("|")}|`;
  const lines = [head, sep];
  const kills: string[] = [];
  for (const { dir, report } of rows) {
    const name = dir.replace(/\/+$/, "").split("/").pop() ?? dir;
    const first = report.models[models[0]];
    for (const cg of Object.keys(first.cgroups)) {
      if (cg === "parent") continue;
      const real = first.cgroups[cg].real?.["memory.kmem.usage_in_bytes"];
      const cells = models.map((m) => {
        const v = report.models[m].cgroups[cg];
        return v.real === null
          ? "-"
          : pagesOf(v.predicted["memory.kmem.usage_in_bytes"] - v.real["memory.kmem.usage_in_bytes"]);
      });
      lines.push(
        `| ${name} | ${cg} | ${real === undefined ? "-" : `${real} (${real / 4096})`} | ${cells.join(" | ")} |`,
      );
    }
    for (const m of models)
      for (const k of report.models[m].oomKills)
        kills.push(
          `${name}: ${m} OOM-kills pid ${k.pid} in ${k.cgroup} at line ${k.atLine} of ${report.models[m].lines.parsed}`,
        );
  }
  return `${lines.join("\n")}\n\nOOM kills: ${kills.length === 0 ? "none" : `\n${kills.map((k) => `- ${k}`).join("\n")}`}\n`;
}

function intArg(v: string | undefined, name: string, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi)
    throw new Error(`--${name} must be an integer in [${lo}, ${hi}]`);
  return Number(v);
}

/** Pages, with sign and two decimals where not whole. */
function pagesOf(bytes: number): string {
  const p = bytes / 4096;
  const s = Number.isInteger(p) ? String(p) : p.toFixed(2);
  return p > 0 ? `+${s}` : s;
}

/** The text report: one block per model, one row per cgroup and counter. */
export function formatReplay(report: ReplayReport): string {
  const rows: string[][] = [["model", "cgroup", "counter", "real", "predicted", "error", "error pages"]];
  const tail: string[] = [];
  for (const [model, m] of Object.entries(report.models)) {
    for (const [cg, v] of Object.entries(m.cgroups))
      for (const k of COUNTERS) {
        const real = v.real?.[k];
        const pred = v.predicted[k];
        const err = real === undefined ? null : pred - real;
        const bytes = k.endsWith("_bytes");
        rows.push([
          model,
          cg,
          k,
          real === undefined ? "-" : String(real),
          String(pred),
          err === null ? "-" : (err > 0 ? "+" : "") + String(err),
          err === null || !bytes ? "" : pagesOf(err),
        ]);
      }
    const kills = m.oomKills.map((k) => `pid ${k.pid} in ${k.cgroup} at line ${k.atLine}`).join("; ");
    const skipped = Object.entries(m.lines.skipped)
      .map(([r, n]) => `${r} ${n}`)
      .join(", ");
    tail.push(
      `${model}: ${m.lines.parsed} lines, ${m.lines.used} used${skipped ? `, skipped: ${skipped}` : ""}; OOM kills: ${kills || "none"}`,
    );
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const text = rows.map((r) =>
    r
      .map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd(),
  );
  return `${text.join("\n")}\n\n${tail.join("\n")}\n`;
}

/** `memcg-sim replay DIR ...`. Resolves to the exit status. */
export async function runReplayCli(
  argv: string[],
  io: ReplayCliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let args: ReturnType<typeof parse>;
  let models: string[];
  let pidCgroups: Map<number, string>;
  let cpus: number | undefined;
  let batchPages: number | undefined;
  try {
    args = parse(argv);
    if (args.values.help) {
      io.stdout.write(REPLAY_USAGE);
      return 0;
    }
    if (args.positionals.length === 0 || (args.positionals.length > 1 && !args.values.table))
      throw new Error("give exactly one recording directory (several with --table)");
    models = [...(args.values.model ?? []), ...(args.values.models !== undefined ? [args.values.models] : [])]
      .flatMap((m) => m.split(","))
      .map((m) => m.trim())
      .filter((m) => m.length > 0);
    if (models.length === 0) models = [...MODELS];
    for (const m of models)
      if (!(MODELS as readonly string[]).includes(m))
        throw new Error(`unknown model "${m}"; one of ${MODELS.join(", ")}`);
    if (new Set(models).size !== models.length) throw new Error("a model is given twice");
    pidCgroups = new Map();
    for (const pc of args.values["pid-cgroup"] ?? []) {
      const m = /^([1-9]\d{0,6})=([A-Za-z0-9_@+-][A-Za-z0-9_.:@+-]{0,254})$/.exec(pc);
      if (m === null || m[2] === "parent")
        throw new Error(
          `--pid-cgroup ${pc}: expected PID=NAME (a cgroup name of the recording, not "parent")`,
        );
      pidCgroups.set(Number(m[1]), m[2]);
    }
    cpus = intArg(args.values.cpus, "cpus", 1, 256);
    batchPages = intArg(args.values["charge-batch-pages"], "charge-batch-pages", 1, 64);
  } catch (e) {
    io.stderr.write(`replay: ${(e as Error).message}\n\n${REPLAY_USAGE}`);
    return 2;
  }
  try {
    if (args.values.table) {
      const rows: { dir: string; report: ReplayReport }[] = [];
      for (const dir of args.positionals)
        rows.push({
          dir,
          report: await replayRecording(openRecording(dir), {
            models,
            pidCgroups,
            cpuCount: cpus,
            chargeBatchPages: batchPages,
          }),
        });
      io.stdout.write(formatTable(rows, models));
      return 0;
    }
    const rec = openRecording(args.positionals[0]);
    let lastLen = 0;
    const report = await replayRecording(rec, {
      models,
      pidCgroups,
      cpuCount: cpus,
      chargeBatchPages: batchPages,
      batch: args.values["no-batch"] ? false : undefined,
      series: args.values.report !== undefined,
      now: () => performance.now(),
      onProgress: (p) => {
        if (p.elapsedMs < 1000) return;
        const rate = Math.round(p.lines / (p.elapsedMs / 1000));
        const pct = p.bytesTotal > 0 ? Math.min(100, (100 * p.bytesIn) / p.bytesTotal) : 0;
        const line = `replay: ${p.lines} lines, ${rate} lines/s, ${pct.toFixed(1)}%`;
        io.stderr.write(`\r${line.padEnd(lastLen)}`);
        lastLen = line.length;
      },
    });
    if (lastLen > 0) io.stderr.write("\n");
    if (args.values.report !== undefined)
      await writeFile(args.values.report, renderReplayReport(report, rec.dir));
    const strip = (m: ModelReport) => {
      const { series: _series, ...rest } = m;
      return rest;
    };
    if (args.values.json) {
      const doc =
        models.length === 1
          ? strip(report.models[models[0]])
          : { models: Object.fromEntries(Object.entries(report.models).map(([k, v]) => [k, strip(v)])) };
      io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else io.stdout.write(formatReplay(report));
    return 0;
  } catch (e) {
    if (e instanceof TraceInputError || e instanceof EngineError) {
      io.stderr.write(`replay: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export const RECORD_USAGE = `Usage: memcg-sim record --out DIR [--limit BYTES] [--cpus 0,1] [--siblings K] [--pages] [--buffer-kb N] -- CMD ARGS...

Runs CMD in K fresh memory cgroups of this host (children of a new parent cgroup, each process
pinned to one CPU of --cpus in turn), with the kmem tracepoints on, and writes the recording
DIR/meta.json + DIR/trace.txt.gz (docs/REPLAY.md). Needs Linux, root, tracefs and the memory
cgroup controller (v1 or v2). Tracing runs in a tracing instance of its own and every cgroup it
made is removed at the end, also on Ctrl-C and on errors.

  --out DIR       the recording directory; its last part names the case and the cgroups
  --limit BYTES   memory limit of each sibling cgroup (default none)
  --cpus LIST     CPUs to pin the siblings to (default 0)
  --siblings K    sibling cgroups, one process each (default 1)
  --pages         also trace ACCOUNT page allocations/frees and the workload's forks and exits
  --buffer-kb N   ring buffer per CPU in KiB (default 65536); lost events are reported
`;

/** `memcg-sim record ...`. Resolves to the exit status. */
export async function runRecordCli(
  argv: string[],
  io: ReplayCliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const dd = argv.indexOf("--");
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const command = dd < 0 ? [] : argv.slice(dd + 1);
  let opts: import("./record.js").RecordOptions;
  try {
    const a = parseArgs({
      args: own,
      options: {
        out: { type: "string" },
        limit: { type: "string" },
        cpus: { type: "string" },
        siblings: { type: "string" },
        pages: { type: "boolean" },
        "buffer-kb": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (a.values.help) {
      io.stdout.write(RECORD_USAGE);
      return 0;
    }
    if (a.values.out === undefined) throw new Error("--out DIR is required");
    if (command.length === 0) throw new Error("give the command to record after --");
    const cpus = (a.values.cpus ?? "0").split(",").map((c) => {
      if (!/^\d{1,3}$/.test(c))
        throw new Error(`--cpus ${a.values.cpus}: expected a comma list of CPU numbers`);
      return Number(c);
    });
    opts = {
      out: a.values.out,
      command,
      limit:
        a.values.limit === undefined
          ? null
          : (intArg(a.values.limit, "limit", 4096, Number.MAX_SAFE_INTEGER) as number),
      cpus,
      siblings: intArg(a.values.siblings, "siblings", 1, 64) ?? 1,
      pages: a.values.pages === true,
      bufferKb: intArg(a.values["buffer-kb"], "buffer-kb", 64, 4_194_304) ?? 65536,
      log: (s) => io.stderr.write(`${s}\n`),
    };
  } catch (e) {
    io.stderr.write(`record: ${(e as Error).message}\n\n${RECORD_USAGE}`);
    return 2;
  }
  const { record, RecordError } = await import("./record.js");
  try {
    const n = await record(opts);
    io.stderr.write(`record: wrote ${opts.out}/meta.json and ${opts.out}/trace.txt.gz (${n} lines)\n`);
    return 0;
  } catch (e) {
    if (e instanceof RecordError) {
      io.stderr.write(`record: ${e.message}\n`);
      return 1;
    }
    if (e instanceof Error && "code" in e && typeof e.code === "string" && e.code.startsWith("E")) {
      io.stderr.write(`record: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

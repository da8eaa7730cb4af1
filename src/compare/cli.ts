import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { EngineError, MODEL_NAMES } from "../engine/index.js";
import { loadScenarioFile } from "../scenarios/load.js";
import { type CompareProgress, type CompareResult, compareScenario } from "./compare.js";
import { formatCompareTable } from "./format.js";
import { renderReport } from "./report.js";

export const COMPARE_USAGE = `Usage: memcg-sim compare FILE [--models LIST] [--json] [--report OUT.html] [--max-samples N]

Runs the scenario FILE (JSON or YAML: {description?, config, commands}) once per accounting
model, each on a fresh in-process instance, and prints one row per model.

  --models LIST      comma-separated models (default ${MODEL_NAMES.join(",")})
  --json             print the result as JSON: {"models": [...], "runs": [...], "series": [...]}
  --report OUT.html  also write a self-contained HTML report with charts
  --max-samples N    time-series samples per model (default 400)
  -h, --help         this text

Exit status: 0 done, 1 the scenario is invalid or failed, 2 wrong usage.
`;

/** Where `runCompareCli` writes; tests pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** A one-line progress bar on a terminal: `[#####-----] v4.5 (2/4) 51234/100224`. */
function progressBar(io: CliIo): { update: (p: CompareProgress) => void; done: () => void } {
  let last = "";
  return {
    update(p) {
      const frac = p.commandCount === 0 ? 1 : p.commandsDone / p.commandCount;
      const width = 30;
      const full = Math.round(frac * width);
      const line = `[${"#".repeat(full)}${"-".repeat(width - full)}] ${p.model} (${p.modelIndex + 1}/${p.modelCount}) ${p.commandsDone}/${p.commandCount}`;
      if (line !== last) io.stderr.write(`\r${line}\x1b[K`);
      last = line;
    },
    done() {
      if (last !== "") io.stderr.write("\r\x1b[K");
    },
  };
}

/**
 * `memcg-sim compare FILE --models rfc-2012,v3.8,v4.5,v5.9 [--json] [--report out.html]`
 * (docs/API.md §11). `argv` are the arguments after `compare`. Resolves to the exit status.
 */
export async function runCompareCli(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    io.stderr.write(`compare: ${(e as Error).message}\n\n${COMPARE_USAGE}`);
    return 2;
  }
  if (args.values.help) {
    io.stdout.write(COMPARE_USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) {
    io.stderr.write(`compare: expected exactly one scenario FILE\n\n${COMPARE_USAGE}`);
    return 2;
  }
  const maxSamples =
    args.values["max-samples"] === undefined ? undefined : Number(args.values["max-samples"]);
  if (maxSamples !== undefined && (!Number.isInteger(maxSamples) || maxSamples < 1 || maxSamples > 100_000)) {
    io.stderr.write("compare: --max-samples must be an integer in [1, 100000]\n");
    return 2;
  }
  const models = (args.values.models ?? MODEL_NAMES.join(","))
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
  const file = args.positionals[0];
  const bar = io.stderr.isTTY ? progressBar(io) : null;
  let result: CompareResult;
  try {
    const scenario = await loadScenarioFile(file);
    result = await compareScenario(scenario, models, { maxSamples, onProgress: bar?.update });
    bar?.done();
    if (args.values.report !== undefined)
      await writeFile(args.values.report, renderReport(result, { title: file }));
  } catch (e) {
    bar?.done();
    if (e instanceof EngineError) {
      io.stderr.write(`compare: ${e.message}\n`);
      return e.code === "INVALID_ARGUMENT" && /^invalid models/.test(e.message) ? 2 : 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT" || err.code === "EACCES" || err.code === "EISDIR") {
      io.stderr.write(`compare: ${err.message}\n`);
      return 1;
    }
    throw e;
  }
  io.stdout.write(args.values.json ? `${JSON.stringify(result)}\n` : formatCompareTable(result));
  if (args.values.report !== undefined && !args.values.json)
    io.stdout.write(`report written to ${args.values.report}\n`);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      models: { type: "string" },
      json: { type: "boolean" },
      report: { type: "string" },
      "max-samples": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

#!/usr/bin/env node
import { pathToFileURL } from "node:url";
import { runCompareCli } from "../compare/cli.js";
import { EngineError } from "../engine/index.js";
import { main as serve } from "../main.js";
import { runSweepCli, runSweepMergeCli } from "../sweep/cli.js";
import { runRecordCli, runReplayCli } from "../replay/cli.js";
import { type Io, runCli } from "./run.js";

export const USAGE = `Usage: memcg-sim <command> [args]   (npm run cli -- <command>)

Commands:
  serve              start the REST + gRPC server (what npm start runs)
  run FILE [--json]  run a scenario file against a fresh instance, print the final state
  compare FILE ...   run a scenario once per model, one row per model
  sweep SPEC ...     run a parameter grid (worker threads, shards, Kubernetes Indexed Jobs)
  sweep-merge DIR... merge the shards of a sweep, draw its report
  replay DIR ...     replay a real kernel trace recording under each model, predicted vs real
  record --out DIR -- CMD ...  record CMD's slab trace on this host (root, tracefs, memory cgroups)

Run "memcg-sim <command> --help" for a command's flags.
`;

/** The `memcg-sim` command (docs/API.md §11). Returns the exit code; `serve` keeps running. */
export async function cli(
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "serve":
        return await serve(rest);
      case "run":
        return await runCli(rest, io);
      case "compare":
        return await runCompareCli(rest);
      case "sweep":
        return await runSweepCli(rest);
      case "sweep-merge":
        return await runSweepMergeCli(rest);
      case "replay":
        return await runReplayCli(rest, io);
      case "record":
        return await runRecordCli(rest, io);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    // A refused scenario (bad file, invalid command) is the user's to fix: one line, no stack.
    if (err instanceof EngineError) {
      io.stderr.write(`memcg-sim ${command}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof Error && "code" in err && err.code === "ENOENT") {
      io.stderr.write(`memcg-sim ${command}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exit(code);
  });
}

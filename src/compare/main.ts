/**
 * Stand-alone entry for `compare` until the `memcg-sim` CLI (src/cli/main.ts) dispatches to
 * `runCompareCli`: `npx tsx src/compare/main.ts FILE --models …`.
 */
import { runCompareCli } from "./cli.js";

process.exitCode = await runCompareCli(process.argv.slice(2));

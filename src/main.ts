import { pathToFileURL } from "node:url";
import { pino } from "pino";
import { ConfigError, parseServerConfig, SERVER_HELP } from "./server-config.js";
import { startServer } from "./server.js";

/** Longest a graceful shutdown may take before the process gives up on stragglers. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * `npm start` / `memcg-sim serve`: config from env and flags (docs/API.md §1), one start-up line
 * naming the bound ports, SIGTERM/SIGINT drain and exit 0. Returns the exit code on a refusal.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(SERVER_HELP);
    return 0;
  }
  let config: ReturnType<typeof parseServerConfig>;
  try {
    config = parseServerConfig(env, argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`memcg-sim: ${err.message}\n`);
    return 2;
  }
  const logger = pino({ level: config.logLevel, base: { service: "memcg-sim" } });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    // an integrity refusal is an operator's decision to make: the whole message, plainly, on stderr
    if (err instanceof Error && err.name === "IntegrityError")
      process.stderr.write(`memcg-sim: ${err.message}\n`);
    else logger.fatal({ err }, "start-up failed");
    return 1;
  }
  logger.info(
    {
      pid: process.pid,
      host: config.host,
      httpPort: server.httpPort,
      grpcPort: server.grpcPort,
      dataDir: config.dataDir,
      demo: config.demo,
      auth: config.apiToken === null ? "none" : "bearer token",
    },
    `memcg-sim listening: REST http://${config.host}:${server.httpPort} gRPC ${config.host}:${server.grpcPort}`,
  );

  if (config.apiToken === null && !["127.0.0.1", "::1", "localhost"].includes(config.host))
    logger.warn(
      { host: config.host },
      "listening beyond loopback without MEMCG_SIM_API_TOKEN: anyone who can reach the ports can change every simulation",
    );

  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down: draining requests and streams, flushing state");
    const force = setTimeout(() => {
      logger.error("shutdown timed out; exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    force.unref();
    server.close().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  return 0;
}

// Run when executed directly (tsx src/main.ts, node dist/src/main.js), not when imported by the CLI.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exit(code);
  });
}

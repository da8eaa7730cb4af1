/**
 * Server configuration of API.md §1: each setting from its environment variable, overridden by
 * its `--kebab-case` flag. Parsed once, validated, frozen (ARCHITECTURE.md habit 3).
 */
export interface ServerConfig {
  readonly host: string;
  /** 0 = a free port, reported in the start-up log line. */
  readonly httpPort: number;
  readonly grpcPort: number;
  /** A directory, or "none" to keep instances in memory only. */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly demo: boolean;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface Setting {
  key: keyof ServerConfig;
  env: string;
  flag: string;
  fallback: string;
  help: string;
}

const SETTINGS: Setting[] = [
  {
    key: "host",
    env: "MEMCG_SIM_HOST",
    flag: "--host",
    fallback: "127.0.0.1",
    help: "bind address for both listeners",
  },
  {
    key: "httpPort",
    env: "MEMCG_SIM_HTTP_PORT",
    flag: "--http-port",
    fallback: "8080",
    help: "REST port; 0 picks a free port",
  },
  {
    key: "grpcPort",
    env: "MEMCG_SIM_GRPC_PORT",
    flag: "--grpc-port",
    fallback: "50051",
    help: "gRPC port; 0 picks a free port",
  },
  {
    key: "dataDir",
    env: "MEMCG_SIM_DATA_DIR",
    flag: "--data-dir",
    fallback: "./data",
    help: "where instances are persisted; `none` = memory only",
  },
  {
    key: "logLevel",
    env: "MEMCG_SIM_LOG_LEVEL",
    flag: "--log-level",
    fallback: "info",
    help: `pino level (${LOG_LEVELS.join(", ")})`,
  },
  {
    key: "demo",
    env: "MEMCG_SIM_DEMO",
    flag: "--demo",
    fallback: "1",
    help: "`0` starts with no demo instance",
  },
];

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export const SERVER_HELP = `Usage: memcg-sim serve [flags]   (npm start)

Starts the REST and gRPC server. Each flag overrides its environment variable.

${SETTINGS.map((s) => `  ${`${s.flag} VALUE`.padEnd(20)} ${s.env.padEnd(22)} ${s.help} (default ${s.fallback})`).join("\n")}
  --help                                      this text
`;

function port(v: string, what: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535)
    throw new ConfigError(`${what} must be a port number 0–65535, got "${v}"`);
  return Number(v);
}

/** Reads `--flag value` and `--flag=value`; an unknown flag or a missing value is an error, not ignored. */
function readFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set(SETTINGS.map((s) => s.flag));
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    if (!known.has(flag)) throw new ConfigError(`unknown argument "${arg}" (see --help)`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    out.set(flag, value);
  }
  return out;
}

export function parseServerConfig(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[] = [],
): ServerConfig {
  const flags = readFlags(argv);
  const raw = (s: Setting) => flags.get(s.flag) ?? env[s.env] ?? s.fallback;
  const get = (key: keyof ServerConfig) => {
    const s = SETTINGS.find((x) => x.key === key)!;
    return { v: raw(s).trim(), what: `${s.env} / ${s.flag}` };
  };

  const host = get("host");
  if (host.v === "") throw new ConfigError(`${host.what} must not be empty`);
  const level = get("logLevel");
  if (!(LOG_LEVELS as readonly string[]).includes(level.v))
    throw new ConfigError(`${level.what} must be one of ${LOG_LEVELS.join(", ")}`);
  const demo = get("demo");
  if (!["0", "1", "true", "false"].includes(demo.v)) throw new ConfigError(`${demo.what} must be 0 or 1`);
  const dataDir = get("dataDir");
  if (dataDir.v === "")
    throw new ConfigError(`${dataDir.what} must not be empty (use "none" for memory only)`);

  return Object.freeze({
    host: host.v,
    httpPort: port(get("httpPort").v, get("httpPort").what),
    grpcPort: port(get("grpcPort").v, get("grpcPort").what),
    dataDir: dataDir.v,
    logLevel: level.v as LogLevel,
    demo: demo.v === "1" || demo.v === "true",
  });
}

import { DEFAULT_SERVER_LIMITS, type ServerLimits } from "./registry.js";

/**
 * Server configuration of docs/API.md §1: each setting from its environment variable, overridden by
 * its `--kebab-case` flag. Parsed once, validated, frozen (docs/ARCHITECTURE.md habit 3).
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
  /** Every client-controlled quantity's limit (docs/RELIABILITY.md); each hit is 429 LIMIT_EXCEEDED. */
  readonly limits: Readonly<ServerLimits>;
  /**
   * When set, REST `/v1/...` and every gRPC call except health need `authorization: Bearer <token>`
   * (401 / UNAUTHENTICATED otherwise). null = no authentication (loopback default).
   */
  readonly apiToken: string | null;
  /** What restore does with data that fails its integrity check (docs/RELIABILITY.md). */
  readonly recover: "refuse" | "truncate-to-last-good" | "skip";
  /** Largest the data file may grow (bytes; 0 = as large as the disk allows): beyond it writes answer 507. */
  readonly maxDataBytes: number;
  /** Compaction: journal rows behind each verified state file are deleted (docs/RELIABILITY.md "Compaction"). */
  readonly compact: boolean;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface Setting {
  key: Exclude<keyof ServerConfig, "limits">;
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
  {
    key: "apiToken",
    env: "MEMCG_SIM_API_TOKEN",
    flag: "--api-token",
    fallback: "",
    help: "bearer token required on /v1 routes and gRPC; empty = none",
  },
  {
    key: "recover",
    env: "MEMCG_SIM_RECOVER",
    flag: "--recover",
    fallback: "refuse",
    help: "data failing its integrity check: refuse to start, truncate-to-last-good, or skip the instance",
  },
  {
    key: "maxDataBytes",
    env: "MEMCG_SIM_MAX_DATA_BYTES",
    flag: "--max-data-bytes",
    fallback: "0",
    help: "largest size of the data file; writes beyond it answer 507 as on a full disk; 0 = the disk's",
  },
  {
    key: "compact",
    env: "MEMCG_SIM_COMPACT",
    flag: "--compact",
    fallback: "on",
    help: "on: delete the journal rows behind each verified state file (export then writes version 2); off: keep every row",
  },
];

/** What each limit bounds (the help text and docs/RELIABILITY.md's table). */
export const LIMIT_HELP: Record<keyof ServerLimits, string> = {
  maxInstances: "instances on the server",
  maxCgroups: "cgroups per instance (dying ones included)",
  maxDepth: "cgroup depth (path segments)",
  maxCaches: "caches per instance",
  maxTasks: "tasks per instance",
  maxLiveObjects: "live slab objects per instance",
  maxCountPerCommand: "`count` of one alloc/free command",
  maxPagesPerInstance: "simulated RAM per instance in 4 KiB pages (config.memoryBytes / 4096)",
  maxBatchCommands: "commands in one /batch or ExecuteBatch",
  maxImportCommands: "commands in one import document",
  maxBodyBytes: "REST request body bytes (413 beyond)",
  maxGrpcMessageBytes: "received gRPC message bytes",
  maxWatchers: "SSE + gRPC WatchEvents streams open at once",
  maxEventPage: "events in one page (`?limit=`, ListEvents `limit`)",
  maxTotalLiveObjects: "live slab objects of all instances together",
  maxTotalCgroups: "cgroups of all instances together",
  maxConnections: "open HTTP connections (more are closed at once)",
  headersTimeoutMs: "ms for a request's headers to arrive (slow clients closed)",
  requestTimeoutMs: "ms for a whole request, body included, to arrive",
  maxMetricsSeries: "series of the simulation families in one /metrics scrape (the rest dropped and counted)",
};

/** `maxLiveObjects` → `MEMCG_SIM_MAX_LIVE_OBJECTS` / `--max-live-objects`. */
const LIMIT_SETTINGS = (Object.keys(LIMIT_HELP) as (keyof ServerLimits)[]).map((limit) => {
  const words = limit
    .replace(/([A-Z])/g, " $1")
    .toLowerCase()
    .split(" ");
  return {
    limit,
    env: `MEMCG_SIM_${words.join("_").toUpperCase()}`,
    flag: `--${words.join("-")}`,
    fallback: String(DEFAULT_SERVER_LIMITS[limit]),
    help: LIMIT_HELP[limit],
  };
});

export { LIMIT_SETTINGS };

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export const SERVER_HELP = `Usage: memcg-sim serve [flags]   (npm start)

Starts the REST and gRPC server. Each flag overrides its environment variable.

${SETTINGS.map((s) => `  ${`${s.flag} VALUE`.padEnd(20)} ${s.env.padEnd(22)} ${s.help} (default ${s.fallback || "none"})`).join("\n")}

Limits (each hit answers 429 LIMIT_EXCEEDED naming the limit; 413 for the body size):
${LIMIT_SETTINGS.map((s) => `  ${`${s.flag} N`.padEnd(30)} ${s.env.padEnd(35)} ${s.help} (default ${s.fallback})`).join("\n")}
  --help                                      this text
`;

function port(v: string, what: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535)
    throw new ConfigError(`${what} must be a port number 0–65535, got "${v}"`);
  return Number(v);
}

/** Reads `--flag value` and `--flag=value`; an unknown flag or a missing value is an error, not ignored. */
function readFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set([...SETTINGS, ...LIMIT_SETTINGS].map((s) => s.flag));
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

  const limits = { ...DEFAULT_SERVER_LIMITS };
  for (const s of LIMIT_SETTINGS) {
    const v = (flags.get(s.flag) ?? env[s.env] ?? s.fallback).trim();
    if (!/^\d{1,15}$/.test(v) || Number(v) < 1)
      throw new ConfigError(`${s.env} / ${s.flag} must be an integer ≥ 1, got "${v}"`);
    limits[s.limit] = Number(v);
  }
  const token = get("apiToken");
  if (token.v !== "" && !/^[\x21-\x7e]{1,4096}$/.test(token.v))
    throw new ConfigError(`${token.what} must be printable ASCII without spaces`);

  const recover = get("recover");
  if (!["refuse", "truncate-to-last-good", "skip"].includes(recover.v))
    throw new ConfigError(
      `${recover.what} must be refuse, truncate-to-last-good or skip, got "${recover.v}"`,
    );

  const maxData = get("maxDataBytes");
  if (!/^\d{1,15}$/.test(maxData.v))
    throw new ConfigError(`${maxData.what} must be a byte count, got "${maxData.v}"`);

  const compact = get("compact");
  if (!["on", "off"].includes(compact.v))
    throw new ConfigError(`${compact.what} must be on or off, got "${compact.v}"`);

  return Object.freeze({
    recover: recover.v as ServerConfig["recover"],
    compact: compact.v === "on",
    maxDataBytes: Number(maxData.v),
    host: host.v,
    httpPort: port(get("httpPort").v, get("httpPort").what),
    grpcPort: port(get("grpcPort").v, get("grpcPort").what),
    dataDir: dataDir.v,
    logLevel: level.v as LogLevel,
    demo: demo.v === "1" || demo.v === "true",
    limits: Object.freeze(limits),
    apiToken: token.v === "" ? null : token.v,
  });
}

import { z } from "zod";
import { commandSchema, instanceConfigSchema, parseOrThrow } from "../commands/schemas.js";
import {
  type Command,
  EngineError,
  fail,
  type InstanceConfigInput,
  resolveConfig,
  type Simulation,
} from "../engine/index.js";
import { type Entry, limitExceeded, type Registry, replayCommand } from "../registry.js";
import type { CommandSource, ExportBase } from "./command-log.js";
import { stateDigest } from "./digest.js";
import { parseState, restoreUnder } from "./state-file.js";

export const EXPORT_FORMAT = "memcg-sim-export";
/** The version export writes when the instance's whole history is in its log (read by every importer). */
export const EXPORT_VERSION = 1;
/** The version export writes when the log starts from a base state (compaction, or an imported version 2). */
export const EXPORT_VERSION_BASE = 2;
/** Server limit on the commands of one import (docs/ARCHITECTURE.md habit 4); the body size limit usually binds first. */
export const DEFAULT_MAX_IMPORT_COMMANDS = 1_000_000;

const name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);
const versionError = {
  error: `unsupported export version; this server reads versions ${EXPORT_VERSION} and ${EXPORT_VERSION_BASE}`,
};

/**
 * An exported instance, version 1: its resolved config and the accepted commands since its
 * creation or last reset, in the command language of docs/API.md §6. Because the engine is
 * deterministic, replaying `commands` on a fresh instance with `config` gives the same state and
 * the same answers.
 */
export const exportDocV1Schema = z
  .object({
    format: z.literal(EXPORT_FORMAT, { error: `format must be "${EXPORT_FORMAT}"` }),
    version: z.literal(EXPORT_VERSION, versionError),
    name,
    config: instanceConfigSchema,
    commands: z.array(commandSchema),
  })
  .strict();

/**
 * Version 2: the history starts from `base`, a state (the journal's rows before it were compacted
 * away, docs/RELIABILITY.md "Compaction"): `state` is the state file (src/persistence/state-file.ts)
 * in base64, `digest` its stateDigest, `commandCount` the commands it had applied; `commands` are
 * the accepted commands after it.
 */
export const exportDocV2Schema = z
  .object({
    format: z.literal(EXPORT_FORMAT, { error: `format must be "${EXPORT_FORMAT}"` }),
    version: z.literal(EXPORT_VERSION_BASE, versionError),
    name,
    config: instanceConfigSchema,
    base: z
      .object({
        commandCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        digest: z.string().regex(/^[0-9a-f]{64}$/, { error: "a sha256 in lowercase hex" }),
        state: z.string(),
      })
      .strict(),
    commands: z.array(commandSchema),
  })
  .strict();

/** The body of import and the answer of export (openapi ExportDocument). */
export const exportDocSchema = z.union([exportDocV1Schema, exportDocV2Schema]);

export interface ExportDoc {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION | typeof EXPORT_VERSION_BASE;
  name: string;
  config: InstanceConfigInput;
  /** Version 2 only. */
  base?: { commandCount: number; digest: string; state: string };
  commands: Command[];
}

/** An export checked and read whole (nothing can fail once its first byte is sent). */
export interface ExportPlan {
  name: string;
  config: InstanceConfigInput;
  base: ExportBase | null;
  /** The commands after the base, as the JSON texts the log holds. */
  commands: string[];
}

/**
 * `GET /v1/instances/{name}/export`, first step: the instance's resolved config (defaults pinned,
 * so a later change of a default cannot change the replay) and its history read from `source`
 * (the Persistence: SQLite journal, or its in-memory CommandLog when the data directory is
 * `none`), every check done. Throws INSTANCE_NOT_FOUND, EIO (a damaged row or base state); a log
 * that does not hold every command the instance applied (the instance was created before
 * persistence was attached) is a bug (a plain Error, 500).
 */
export function prepareExport(registry: Registry, source: CommandSource, name: string): ExportPlan {
  const entry = registry.get(name);
  const h = source.history(name);
  const held = h === undefined ? undefined : (h.base?.commandCount ?? 0) + h.commands.length;
  if (held !== entry.instance.commandCount)
    throw new Error(
      `command log of instance ${name} holds ${held ?? "no"} commands, the instance applied ${entry.instance.commandCount}`,
    );
  return { name, config: { ...entry.instance.config }, base: h?.base ?? null, commands: h?.commands ?? [] };
}

/** Base64 of this many bytes per chunk (a multiple of 3, so the chunks concatenate to one base64 text). */
const BASE64_CHUNK = 3 * 256 * 1024;
const COMMANDS_PER_CHUNK = 4096;

/**
 * The export document's JSON text, in chunks: version 1 without a base, version 2 with one. The
 * REST route streams them, gRPC joins them, so both transports send the same bytes; key order is
 * that of ExportDoc (JSON.stringify of the same document gives the same text).
 */
export function* exportChunks(plan: ExportPlan): Generator<string> {
  const head = JSON.stringify({
    format: EXPORT_FORMAT,
    version: plan.base === null ? EXPORT_VERSION : EXPORT_VERSION_BASE,
    name: plan.name,
    config: plan.config,
  });
  yield head.slice(0, -1);
  const b = plan.base;
  if (b !== null) {
    yield `,"base":{"commandCount":${JSON.stringify(b.commandCount)},"digest":${JSON.stringify(b.digest)},"state":"`;
    const bytes = Buffer.from(b.state.buffer, b.state.byteOffset, b.state.byteLength);
    for (let off = 0; off < bytes.length; off += BASE64_CHUNK)
      yield bytes.subarray(off, Math.min(bytes.length, off + BASE64_CHUNK)).toString("base64");
    yield `"}`;
  }
  yield `,"commands":[`;
  for (let i = 0; i < plan.commands.length; i += COMMANDS_PER_CHUNK)
    yield (i === 0 ? "" : ",") + plan.commands.slice(i, i + COMMANDS_PER_CHUNK).join(",");
  yield "]}";
}

/** The export document as an object (tests and in-process callers; the transports send exportChunks). */
export function exportInstance(registry: Registry, source: CommandSource, name: string): ExportDoc {
  const plan = prepareExport(registry, source, name);
  const commands = plan.commands.map((t) => JSON.parse(t) as Command);
  if (plan.base === null)
    return { format: EXPORT_FORMAT, version: EXPORT_VERSION, name, config: plan.config, commands };
  const b = plan.base;
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION_BASE,
    name,
    config: plan.config,
    base: {
      commandCount: b.commandCount,
      digest: b.digest,
      state: Buffer.from(b.state.buffer, b.state.byteOffset, b.state.byteLength).toString("base64"),
    },
    commands,
  };
}

/** Where an imported base state goes: the Persistence journals it as the new instance's base. */
export interface BaseSink {
  adoptBase(name: string, base: ExportBase): void;
}

export interface ImportOptions {
  /** Name of the new instance (default: the document's `name`). */
  name?: string;
  maxCommands?: number;
  /** Where a version 2 document's base goes (the Persistence); without one version 2 is refused. */
  baseSink?: BaseSink;
}

/**
 * A version 2 document whose base does not check out: 400 INVALID_ARGUMENT with `details.code`
 * naming what is wrong (docs/API.md, export/import) and the path `base.*`.
 */
function badBase(code: string, path: string, message: string): never {
  return fail("INVALID_ARGUMENT", `import refused: ${path}: ${message}`, {
    code,
    issues: [{ path, message }],
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Keys sorted at every level, so two configs compare by content. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/**
 * Decodes and checks the base of a version 2 document: base64, the state file's format and CRC-32,
 * the restored state's digest, command count and config; then the server's limits on what it
 * holds (instance limits, the global budgets), which commands would have hit one by one.
 */
function restoreBase(
  registry: Registry,
  config: InstanceConfigInput,
  base: { commandCount: number; digest: string; state: string },
): { sim: Simulation; base: ExportBase } {
  if (base.state.length % 4 !== 0 || !BASE64.test(base.state))
    badBase("BASE_STATE_ENCODING", "base.state", "not base64 (RFC 4648, with padding)");
  const bytes = Buffer.from(base.state, "base64");
  let sim: Simulation;
  try {
    sim = restoreUnder(parseState(bytes, "base.state").graph, registry.limits);
  } catch (err) {
    return badBase(
      "BASE_STATE_DAMAGED",
      "base.state",
      `not a readable memcg-sim state file: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (stateDigest(sim) !== base.digest)
    badBase("BASE_DIGEST_MISMATCH", "base.digest", "the state's digest differs from base.digest");
  if (sim.commandCount !== base.commandCount)
    badBase(
      "BASE_COMMAND_COUNT_MISMATCH",
      "base.commandCount",
      `the state applied ${sim.commandCount} commands, base.commandCount says ${base.commandCount}`,
    );
  if (canonical(sim.config) !== canonical(resolveConfig(config)))
    badBase("BASE_CONFIG_MISMATCH", "config", "the state was made with another config");
  // the limits commands would have hit one by one, checked on what the state holds
  const l = registry.limits;
  const held: [keyof typeof l, number][] = [
    ["maxCgroups", sim.cgroupCount],
    ["maxCaches", sim.slab.caches.size],
    ["maxTasks", sim.tasks.size],
    ["maxLiveObjects", sim.slab.liveObjects],
    ["maxDepth", Math.max(0, ...sim.allCgroups().map((cg) => cg.path.split("/").filter(Boolean).length))],
  ];
  for (const [limit, n] of held)
    if (n > l[limit])
      limitExceeded(limit, l[limit], `the imported state holds ${n} (${limit} is ${l[limit]})`);
  let objects = 0;
  let cgroups = 0;
  for (const e of registry.list()) {
    objects += e.instance.slab.liveObjects;
    cgroups += e.instance.cgroupCount;
  }
  if (objects + sim.slab.liveObjects > l.maxTotalLiveObjects)
    limitExceeded(
      "maxTotalLiveObjects",
      l.maxTotalLiveObjects,
      `the server holds ${objects} live objects in all instances; the imported state's ${sim.slab.liveObjects} would pass the budget of ${l.maxTotalLiveObjects}`,
    );
  if (cgroups + sim.cgroupCount > l.maxTotalCgroups)
    limitExceeded(
      "maxTotalCgroups",
      l.maxTotalCgroups,
      `the server holds ${cgroups} cgroups in all instances; the imported state's ${sim.cgroupCount} would pass the budget of ${l.maxTotalCgroups}`,
    );
  return { sim, base: { commandCount: base.commandCount, digest: base.digest, state: bytes } };
}

/**
 * `POST /v1/instances/import`: validates `doc` (strict, unknown keys rejected, version checked;
 * 400 INVALID_ARGUMENT with `details.issues` paths like `commands.3.op`), creates the instance
 * (version 2: from its base state, checked by restoreBase before anything is created) and replays
 * the commands through `registry.execute`, so listeners (the journal) see an ordinary creation
 * followed by ordinary commands. Atomic: if a command is refused (the document does not describe a
 * reachable state) the instance is deleted again and nothing remains; the error is
 * INVALID_ARGUMENT with `details.index`, `details.code` (LIMIT_EXCEEDED when a server limit was
 * hit, which an import into a roomier server could pass). INSTANCE_EXISTS when the name is taken.
 * Returns the new entry (the route answers 201 with `registry.view(entry)`).
 */
export function importInstance(registry: Registry, doc: unknown, opts: ImportOptions = {}): Entry {
  const maxCommands = opts.maxCommands ?? DEFAULT_MAX_IMPORT_COMMANDS;
  if (typeof doc === "object" && doc !== null && Array.isArray((doc as { commands?: unknown }).commands)) {
    const n = (doc as { commands: unknown[] }).commands.length;
    if (n > maxCommands)
      fail("LIMIT_EXCEEDED", `import limit ${maxCommands} commands (document holds ${n})`, {
        limit: "maxImportCommands",
        value: maxCommands,
      });
  }
  const v2 = typeof doc === "object" && doc !== null && (doc as { version?: unknown }).version === 2;
  const parsed = v2
    ? parseOrThrow(exportDocV2Schema, doc, "export document")
    : parseOrThrow(exportDocV1Schema, doc, "export document");
  const name = opts.name ?? parsed.name;
  if (registry.list().some((e) => e.name === name))
    fail("INSTANCE_EXISTS", `instance ${name} already exists`, { name });
  const config = parsed.config as InstanceConfigInput;
  let restored: ReturnType<typeof restoreBase> | null = null;
  if ("base" in parsed) {
    if (opts.baseSink === undefined)
      fail("INVALID_ARGUMENT", "this importer reads export version 1 only", {
        issues: [{ path: "version", message: "version 2 needs a server with a command log" }],
      });
    restored = restoreBase(registry, config, parsed.base);
  }
  const entry = registry.create(name, config, { instance: restored?.sim });
  if (restored !== null)
    try {
      opts.baseSink?.adoptBase(name, restored.base);
    } catch (err) {
      registry.delete(name);
      if (err instanceof EngineError) throw err;
      fail(
        "INSUFFICIENT_STORAGE",
        `the imported state could not be written (${err instanceof Error ? err.message : String(err)}); nothing was imported`,
        { cause: (err as { code?: string })?.code ?? null },
      );
    }
  const commands = parsed.commands as Command[];
  let i = 0;
  try {
    for (; i < commands.length; i++) replayCommand((c) => registry.execute(name, c), commands[i]);
  } catch (err) {
    registry.delete(name);
    if (!(err instanceof EngineError)) throw err;
    const code = err.code === "LIMIT_EXCEEDED" ? "LIMIT_EXCEEDED" : "INVALID_ARGUMENT";
    fail(code, `import refused at commands[${i}] (${commands[i].op}): ${err.code}: ${err.message}`, {
      index: i,
      code: err.code,
      issues: [{ path: `commands.${i}`, message: `${err.code}: ${err.message}` }],
    });
  }
  return entry;
}

import { z } from "zod";
import { commandSchema, instanceConfigSchema, parseOrThrow } from "../commands/schemas.js";
import { type Command, EngineError, fail, type InstanceConfigInput } from "../engine/index.js";
import { type Entry, type Registry, replayCommand } from "../registry.js";
import type { CommandSource } from "./command-log.js";

export const EXPORT_FORMAT = "memcg-sim-export";
export const EXPORT_VERSION = 1;
/** Server limit on the commands of one import (docs/ARCHITECTURE.md habit 4); the body size limit usually binds first. */
export const DEFAULT_MAX_IMPORT_COMMANDS = 1_000_000;

/**
 * An exported instance: its resolved config and the accepted commands since its creation or last
 * reset, in the command language of docs/API.md §6. Because the engine is deterministic, replaying
 * `commands` on a fresh instance with `config` gives the same state and the same answers.
 */
export const exportDocSchema = z
  .object({
    format: z.literal(EXPORT_FORMAT, { error: `format must be "${EXPORT_FORMAT}"` }),
    version: z.literal(EXPORT_VERSION, {
      error: `unsupported export version; this server reads version ${EXPORT_VERSION}`,
    }),
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
    config: instanceConfigSchema,
    commands: z.array(commandSchema),
  })
  .strict();

export interface ExportDoc {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  name: string;
  config: InstanceConfigInput;
  commands: Command[];
}

/**
 * `GET /v1/instances/{name}/export`: the instance's resolved config (defaults pinned, so a later
 * change of a default cannot change the replay) and its accepted command log read from `source`
 * (the Persistence: SQLite journal, or its in-memory CommandLog when the data directory is `none`).
 * Throws INSTANCE_NOT_FOUND; a log that does not hold every command the instance applied (the
 * instance was created before persistence was attached) is a bug (a plain Error, 500).
 */
export function exportInstance(registry: Registry, source: CommandSource, name: string): ExportDoc {
  const entry = registry.get(name);
  const commands = source.commands(name);
  if (commands === undefined || commands.length !== entry.instance.commandCount)
    throw new Error(
      `command log of instance ${name} holds ${commands?.length ?? "no"} commands, the instance applied ${entry.instance.commandCount}`,
    );
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    name,
    config: { ...entry.instance.config },
    commands,
  };
}

export interface ImportOptions {
  /** Name of the new instance (default: the document's `name`). */
  name?: string;
  maxCommands?: number;
}

/**
 * `POST /v1/instances/import`: validates `doc` (strict, unknown keys rejected, version checked;
 * 400 INVALID_ARGUMENT with `details.issues` paths like `commands.3.op`), creates the instance
 * and replays the commands through `registry.execute`, so listeners (the journal) see an ordinary
 * creation followed by ordinary commands. Atomic: if a command is refused (the document does not
 * describe a reachable state) the instance is deleted again and nothing remains; the error is
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
  const parsed = parseOrThrow(exportDocSchema, doc, "export document");
  const name = opts.name ?? parsed.name;
  if (registry.list().some((e) => e.name === name))
    fail("INSTANCE_EXISTS", `instance ${name} already exists`, { name });
  const entry = registry.create(name, parsed.config as InstanceConfigInput);
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

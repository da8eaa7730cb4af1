import { type Command, fail } from "../engine/index.js";

/** Commands the in-memory log keeps per instance before it gives up (bounded memory, docs/ARCHITECTURE.md habit 4). */
export const DEFAULT_MEMORY_LOG_MAX_COMMANDS = 1_000_000;

/**
 * The state an instance's log starts from when it does not start at its creation or last reset:
 * the journal's base after compaction, or the state of an imported export of version 2.
 */
export interface ExportBase {
  /** Commands the state had applied (the instance's commandCount there). */
  commandCount: number;
  /** stateDigest of the state. */
  digest: string;
  /** The state file's bytes (state-file.ts), CRC-checked. */
  state: Uint8Array;
}

/** An instance's history as export writes it: the base (null: creation or last reset) and the commands after it, as JSON texts. */
export interface History {
  base: ExportBase | null;
  commands: string[];
}

/** Where export reads the accepted command log of an instance (since its creation or last reset). */
export interface CommandSource {
  /** The accepted commands of `name` after its base (all of them without one), oldest first; undefined when the log does not know the instance. */
  commands(name: string): Command[] | undefined;
  /** The base and the commands after it, checked; undefined when the log does not know the instance. */
  history(name: string): History | undefined;
}

/**
 * The in-memory command log used when the data directory is `none`: per instance, the accepted
 * commands since creation or the last reset, kept as their JSON text (compact, and immune to a
 * caller mutating the command object after it was applied). Export reads it exactly as it reads
 * the SQLite journal, so `GET .../export` works with or without a data directory.
 */
/**
 * One instance's log: the distinct consecutive command texts and how many times each came in a row
 * (a client repeating one request — the single-object alloc of a load test — costs 8 bytes of
 * count, not a string per request).
 */
interface Log {
  texts: string[];
  repeats: number[];
  count: number;
}

export class CommandLog implements CommandSource {
  private readonly logs = new Map<string, Log>();
  /** Instances imported from an export of version 2: the state their log starts from. */
  private readonly bases = new Map<string, ExportBase>();
  /** Instances whose log passed the cap: dropped, export refused until a reset or a recreate. */
  private readonly overflowed = new Set<string>();

  constructor(readonly maxCommands = DEFAULT_MEMORY_LOG_MAX_COMMANDS) {}

  /** Starts (or restarts, after a reset or a recreate) the empty log of `name`. */
  begin(name: string): void {
    this.logs.set(name, { texts: [], repeats: [], count: 0 });
    this.overflowed.delete(name);
    this.bases.delete(name);
  }

  /** The log of `name` (just begun) starts from `base`, not from the creation. */
  setBase(name: string, base: ExportBase): void {
    this.bases.set(name, base);
  }

  append(name: string, commandJson: string): void {
    if (this.overflowed.has(name)) return;
    let log = this.logs.get(name);
    if (log === undefined) {
      log = { texts: [], repeats: [], count: 0 };
      this.logs.set(name, log);
    }
    if (log.count >= this.maxCommands) {
      // a long-running server without a data directory must not grow without bound
      this.logs.delete(name);
      this.overflowed.add(name);
      return;
    }
    log.count++;
    const last = log.texts.length - 1;
    if (last >= 0 && log.texts[last] === commandJson) log.repeats[last]++;
    else {
      log.texts.push(commandJson);
      log.repeats.push(1);
    }
  }

  drop(name: string): void {
    this.logs.delete(name);
    this.bases.delete(name);
    this.overflowed.delete(name);
  }

  /** Number of commands logged for `name` (0 when unknown). */
  size(name: string): number {
    return this.logs.get(name)?.count ?? 0;
  }

  commands(name: string): Command[] | undefined {
    return this.history(name)?.commands.map((t) => JSON.parse(t) as Command);
  }

  history(name: string): History | undefined {
    if (this.overflowed.has(name))
      fail(
        "LIMIT_EXCEEDED",
        `the in-memory command log of ${name} passed ${this.maxCommands} commands and was dropped; export needs a data directory (MEMCG_SIM_DATA_DIR)`,
        {
          limit: "memoryLogMaxCommands",
          value: this.maxCommands,
        },
      );
    const log = this.logs.get(name);
    if (log === undefined) return undefined;
    const out: string[] = [];
    for (let i = 0; i < log.texts.length; i++)
      for (let k = 0; k < log.repeats[i]; k++) out.push(log.texts[i]);
    return { base: this.bases.get(name) ?? null, commands: out };
  }
}

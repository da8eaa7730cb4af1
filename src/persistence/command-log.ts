import type { Command } from "../engine/commands.js";

/** Where export reads the accepted command log of an instance (since its creation or last reset). */
export interface CommandSource {
  /** The accepted commands of `name`, oldest first; undefined when the log does not know the instance. */
  commands(name: string): Command[] | undefined;
}

/**
 * The in-memory command log used when the data directory is `none`: per instance, the accepted
 * commands since creation or the last reset, kept as their JSON text (compact, and immune to a
 * caller mutating the command object after it was applied). Export reads it exactly as it reads
 * the SQLite journal, so `GET .../export` works with or without a data directory.
 */
export class CommandLog implements CommandSource {
  private readonly logs = new Map<string, string[]>();

  /** Starts (or restarts, after a reset or a recreate) the empty log of `name`. */
  begin(name: string): void {
    this.logs.set(name, []);
  }

  append(name: string, commandJson: string): void {
    let log = this.logs.get(name);
    if (log === undefined) {
      log = [];
      this.logs.set(name, log);
    }
    log.push(commandJson);
  }

  drop(name: string): void {
    this.logs.delete(name);
  }

  /** Number of commands logged for `name` (0 when unknown). */
  size(name: string): number {
    return this.logs.get(name)?.length ?? 0;
  }

  commands(name: string): Command[] | undefined {
    const log = this.logs.get(name);
    return log === undefined ? undefined : log.map((s) => JSON.parse(s) as Command);
  }
}

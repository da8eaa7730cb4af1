import { type Command, EngineError, type Simulation } from "../engine/index.js";

/** A command the instance refused (a request error, docs/API.md §2), with its place in the stream. */
export interface CommandError {
  index: number;
  op: string;
  code: string;
  detail: string;
}

export interface RunOutcome {
  commandCount: number;
  /** Commands refused with a request error; the run goes on after each (a batch with stopOnError false). */
  errorCount: number;
  /** The first `keepErrors` of them. */
  errors: CommandError[];
}

export interface RunHooks {
  /** Called after every command (executed or refused), with its 0-based index. */
  afterCommand?: (index: number, command: Command) => void;
  keepErrors?: number;
}

/**
 * Runs commands on `instance` one after the other, as a scenario `run` does: a command the engine
 * refuses (EngineError: unknown cgroup, a task the OOM killer already took, a file this cgroup
 * version lacks) is recorded and skipped; simulated failures (ENOMEM, OOM kills) are results, not
 * errors. Any other exception is a bug and propagates.
 */
export function runCommands(
  instance: Simulation,
  commands: Iterable<Command>,
  hooks: RunHooks = {},
): RunOutcome {
  const keep = hooks.keepErrors ?? 20;
  const out: RunOutcome = { commandCount: 0, errorCount: 0, errors: [] };
  for (const cmd of commands) {
    const index = executeRecorded(instance, cmd, out, keep);
    hooks.afterCommand?.(index, cmd);
  }
  return out;
}

/** Executes one command of a run, recording a refusal in `out`; returns the command's index. */
export function executeRecorded(
  instance: Simulation,
  cmd: Command,
  out: RunOutcome,
  keepErrors: number,
): number {
  const index = out.commandCount++;
  try {
    instance.execute(cmd);
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    out.errorCount++;
    if (out.errors.length < keepErrors)
      out.errors.push({ index, op: cmd.op, code: e.code, detail: e.message });
  }
  return index;
}

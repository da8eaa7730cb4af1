import { type CompareRequestLimits, handleCompareRequest } from "../compare/rest.js";
import type { CompareResult } from "../compare/compare.js";
import { type Command, type CommandRun, EngineError } from "../engine/index.js";
import type { ExportDoc } from "../persistence/index.js";
import { exportChunks, Persistence } from "../persistence/index.js";
import { type Entry, limitExceeded, type Registry } from "../registry.js";
import { type ApiAuth, authOf, tokenMatcher } from "./auth.js";
import { EventFollower, type FollowSink } from "./follower.js";
import { type InstanceQueue, instanceQueueOf } from "./queue.js";
import { type LongRequestProgress, nextTurn, SliceBudget, type SliceOptions } from "./slices.js";
import type { Transfer } from "./transfer.js";

/**
 * An `allocObjects` or `freeObjects` of more objects than this runs in parts (Service.execute, executeBatch): about
 * 1–5 ms of engine time here (~0.02–0.1 µs per object warm, up to ~0.15 µs cold), so a smaller one
 * runs whole as before.
 */
export const LONG_COMMAND_OBJECTS = 65_536;
/** Objects per part of a long command: a slice's budget is checked before each part. */
export const COMMAND_STEP_OBJECTS = 4_096;

function isLong(command: Command): boolean {
  if (command.op === "allocObjects") return (command.count ?? 1) > LONG_COMMAND_OBJECTS;
  if (command.op === "freeObjects")
    return (command.count ?? command.objectIds?.length ?? 0) > LONG_COMMAND_OBJECTS;
  return false;
}

/** One slot of a batch answer (docs/API.md §6). */
export type BatchSlot =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; detail: string } };

/** The answer of `/batch` and `ExecuteBatch`. */
export interface BatchResult {
  results: BatchSlot[];
  executedCount: number;
}

export interface BatchOptions extends SliceOptions {
  /** Called after each slice of the batch was applied and committed (tests count slices). */
  onSlice?: (slotsDone: number) => void;
}

export interface ServiceOptions {
  registry: Registry;
  /** Commits queued journal writes now (export reads the journal); default: nothing to commit. */
  flush?: () => void;
  /** Resolves when everything applied so far is durable (the group commit); default: `flush()` now. */
  durable?: () => Promise<void>;
  /**
   * Export/import over the persistence's command log; default: an in-memory log attached to the
   * registry now (it can export instances created from now on), closed by `close()`.
   */
  transfer?: Transfer;
  /** `MEMCG_SIM_API_TOKEN`: when set, every call but the open ones needs `Bearer <token>`. */
  apiToken?: string | null;
  /** Slices of long requests (batches): the time budget of one, and its clock (src/service/slices.ts). */
  slice?: SliceOptions;
}

/**
 * What both transports share below their adapters (docs/ARCHITECTURE.md, "Transports"): the
 * group commit (acknowledged ⇒ durable), the API token, export/import and the event-log follower.
 * REST (src/rest) and gRPC (src/grpc) only map their wire form to these calls and back.
 */
export class Service {
  readonly registry: Registry;
  readonly auth: ApiAuth | null;
  /** Whether an `authorization` value carries the token (always true when none is set). */
  readonly authorized: (authorization: unknown) => boolean;
  private readonly transfer: Transfer;
  private readonly ownTransfer: Persistence | null = null;
  private readonly flushFn: () => void;
  private readonly durableFn: () => Promise<void>;
  /** Per-instance ordering across turns (shared by every Service of the registry). */
  readonly queue: InstanceQueue;
  /** The slices of long requests (budget and clock), for the routes that run one (compare). */
  readonly sliceOptions: SliceOptions;
  /** Long requests running now and the slices they ran, by kind. */
  readonly progress: LongRequestProgress = {
    batch: { running: 0, slices: 0 },
    compare: { running: 0, slices: 0 },
    command: { running: 0, slices: 0 },
  };

  constructor(opts: ServiceOptions) {
    this.registry = opts.registry;
    this.auth = authOf(opts.apiToken);
    this.authorized = this.auth === null ? () => true : tokenMatcher(this.auth.token);
    this.queue = instanceQueueOf(this.registry);
    this.sliceOptions = opts.slice ?? {};
    const flush = opts.flush ?? (() => {});
    this.flushFn = flush;
    this.durableFn = opts.durable ?? (async () => flush());
    if (opts.transfer === undefined) {
      const own = new Persistence({ dataDir: null });
      own.attach(this.registry);
      this.ownTransfer = own;
      this.transfer = own;
    } else this.transfer = opts.transfer;
  }

  /** Commits queued journal writes now. */
  flush(): void {
    this.flushFn();
  }

  /**
   * Resolves once every mutation applied so far is durable: requests of one event-loop turn share
   * one commit (acknowledged ⇒ durable).
   */
  durable(): Promise<void> {
    return this.durableFn();
  }

  /**
   * Runs one mutation and resolves with its result once it is durable. A refusal is answered once
   * durable too: a refusal that already reclaimed (a historic refusal) is journaled.
   */
  async commit<T>(mutation: () => T): Promise<T> {
    try {
      return mutation();
    } finally {
      await this.durableFn();
    }
  }

  /**
   * One command through the registry, answered once durable. It runs at once unless an earlier
   * request to the same instance is still running (a batch between slices); then after it.
   */
  execute(instance: string, command: Command): Promise<unknown> {
    if (isLong(command)) return this.executeLong(instance, command);
    return this.mutate(instance, () => this.registry.execute(instance, command));
  }

  /**
   * A large `allocObjects` or `freeObjects` (more than LONG_COMMAND_OBJECTS objects) in parts:
   * runs of COMMAND_STEP_OBJECTS objects while the slice's budget lasts, then the event loop's turn
   * (Registry.begin, Simulation.begin). The instance is held in its order meanwhile (requests to it
   * wait, as during a batch); the command is journaled once, at its end, and answered once durable.
   */
  private executeLong(instance: string, command: Command): Promise<unknown> {
    const run = async (): Promise<unknown> => {
      const budget = new SliceBudget(this.sliceOptions);
      const r = this.registry.begin(instance, command);
      if (r === null) return this.registry.execute(instance, command);
      await this.stepped(r, budget);
      return r.finish();
    };
    return this.queue.run(instance, run).then(
      async (r) => {
        await this.durableFn();
        return r;
      },
      async (err) => {
        if (!(err instanceof EngineError && err.code === "INSUFFICIENT_STORAGE")) await this.durableFn();
        throw err;
      },
    );
  }

  /** Steps `run` to its end, giving the event loop a turn whenever `budget`'s slice is spent. */
  private async stepped(run: CommandRun, budget: SliceBudget): Promise<void> {
    const progress = this.progress.command;
    progress.running++;
    try {
      // the budget is checked before each part: the set-up (sizing the slab arrays for the whole
      // command) may already have spent it
      for (;;) {
        if (budget.due()) {
          await nextTurn();
          progress.slices++;
          budget.begin();
        }
        if (run.step(COMMAND_STEP_OBJECTS)) break;
      }
    } finally {
      progress.running--;
    }
  }

  /**
   * A mutation of one instance (`fn` applies it synchronously), in the instance's order, answered
   * once durable: at once when nothing runs on the instance (the same turn, the same group commit
   * as before), else after what runs on it.
   */
  mutate<T>(instance: string, fn: () => T): Promise<T> {
    if (this.queue.idle(instance) === undefined) return this.commit(fn);
    const applied = this.queue.run(instance, fn);
    return applied.then(
      async (r) => {
        await this.durableFn();
        return r;
      },
      async (err) => {
        await this.durableFn();
        throw err;
      },
    );
  }

  /**
   * Resolves when every request queued on `instance` so far is done; undefined when none is (the
   * transports let a request that names an instance wait on it, so a read never sees a batch half
   * way and a reset or delete never cuts one).
   */
  idle(instance: string): Promise<void> | undefined {
    return this.queue.idle(instance);
  }

  /**
   * `/batch` and `ExecuteBatch` (docs/API.md §6): each command applied in order; an invalid or
   * refused one is reported in its slot and, with stopOnError (default), ends the batch. The batch
   * runs in slices of `sliceMs` (src/service/slices.ts): after each slice its commands are
   * committed and the event loop gets a turn, so other instances, probes and scrapes are served
   * meanwhile; requests to this instance wait until the batch is done. Each command is applied
   * whole, as before. If the journal refuses a slice's commit (507 INSUFFICIENT_STORAGE), that
   * slice's commands are rolled back, the batch ends, and the answer is that 507 with
   * `details.keptCommandCount`: the commands before the slice, applied and durable.
   */
  executeBatch(
    instance: string,
    commands: readonly Command[] | readonly (() => Command)[],
    stopOnError = true,
    opts: BatchOptions = {},
  ): Promise<BatchResult> {
    const limits = this.registry.limits;
    const run = async (): Promise<BatchResult> => {
      this.registry.get(instance);
      if (commands.length > limits.maxBatchCommands)
        limitExceeded(
          "maxBatchCommands",
          limits.maxBatchCommands,
          `batch limit ${limits.maxBatchCommands} commands`,
        );
      const results: BatchSlot[] = [];
      let executed = 0;
      let kept = 0;
      const budget = new SliceBudget({ ...this.sliceOptions, ...opts });
      const progress = this.progress.batch;
      progress.running++;
      try {
        for (let i = 0; i < commands.length; i++) {
          const c = commands[i];
          try {
            const cmd = typeof c === "function" ? c() : c;
            const long = isLong(cmd) ? this.registry.begin(instance, cmd) : null;
            if (long !== null) {
              // the commands before it become durable first: nothing of the batch waits uncommitted
              // across the long command's turns (a refused commit then is the batch's 507, as ever)
              await this.sliceCommitted(kept);
              kept = results.length;
              await this.stepped(long, budget);
            }
            results.push({
              ok: true,
              result: long !== null ? long.finish() : this.registry.execute(instance, cmd),
            });
            executed++;
          } catch (err) {
            if (!(err instanceof EngineError)) throw err;
            results.push({ ok: false, error: { code: err.code, detail: err.message } });
            if (stopOnError) break;
          }
          if (i + 1 < commands.length && budget.due()) {
            // the slice's commands become durable, and the event loop gets its turn
            await this.sliceCommitted(kept);
            kept = results.length;
            progress.slices++;
            opts.onSlice?.(kept);
            budget.begin();
          }
        }
        await this.sliceCommitted(kept);
        progress.slices++;
        opts.onSlice?.(results.length);
        return { results, executedCount: executed };
      } finally {
        progress.running--;
      }
    };
    return this.queue.run(instance, run).catch(async (err) => {
      // a refusal of the whole batch (unknown instance, maxBatchCommands) or a bug: answered once
      // what was applied is durable, as every answer
      if (!(err instanceof EngineError && err.code === "INSUFFICIENT_STORAGE")) await this.durableFn();
      throw err;
    });
  }

  /**
   * Commits what a batch applied so far and gives the event loop a turn. A refused commit (507)
   * has rolled the slice back; the error then names the `kept` commands before it.
   */
  private async sliceCommitted(kept: number): Promise<void> {
    try {
      await Promise.all([this.durableFn(), nextTurn()]);
    } catch (err) {
      throw keptAfterRefusal(err, kept);
    }
  }

  /** The export document (config + accepted commands); the journal is committed first (export reads it). */
  exportInstance(name: string): ExportDoc {
    this.flushFn();
    return this.transfer.exportInstance(this.registry, name);
  }

  /**
   * The export document's JSON text in chunks (REST streams them, gRPC joins them: the same
   * bytes). Every check (instance, journal rows, base state) is done before this returns, so an
   * error is still a proper problem; the chunks are then made from memory and cannot fail.
   */
  exportText(name: string): Iterable<string> {
    this.flushFn();
    return exportChunks(this.transfer.exportPlan(this.registry, name));
  }

  /** Imports a document (validated whole, atomic) as a new instance; a mutation: run it in `commit`. */
  importInstance(doc: unknown, name: string | undefined): Entry {
    return this.transfer.importInstance(this.registry, doc, {
      name,
      maxCommands: this.registry.limits.maxImportCommands,
    });
  }

  /**
   * Follows the event log of `instance` from `fromSeq` (src/service/follower.ts). Throws
   * INSTANCE_NOT_FOUND, then LIMIT_EXCEEDED (`maxWatchers`), before anything is delivered; call
   * `start()` on the result once the transport is ready to write.
   */
  follow(instance: string, fromSeq: number, sink: FollowSink): EventFollower {
    return new EventFollower(this.registry, instance, fromSeq, sink);
  }

  /**
   * `POST /v1/compare` and `Compare`: runs the comparison in slices (`sliceOptions`), stopping at
   * the next slice boundary once `signal` aborts (the client went away); counted in `progress`.
   */
  async compare(body: unknown, limits: CompareRequestLimits, signal?: AbortSignal): Promise<CompareResult> {
    const progress = this.progress.compare;
    progress.running++;
    try {
      return await handleCompareRequest(body, limits, signal, {
        ...this.sliceOptions,
        onSlice: () => {
          progress.slices++;
        },
      });
    } finally {
      progress.running--;
    }
  }

  /** Closes what the service made itself (the in-memory export log). */
  close(): void {
    this.ownTransfer?.close();
  }
}

/** A journal refusal in the middle of a batch, naming how many of its commands were kept. */
function keptAfterRefusal(err: unknown, kept: number): unknown {
  if (!(err instanceof EngineError) || err.code !== "INSUFFICIENT_STORAGE") return err;
  return new EngineError(
    err.code,
    `${err.message}; the batch ended there: its first ${kept} commands were applied and are durable, the rest were not applied`,
    { ...err.details, keptCommandCount: kept },
  );
}

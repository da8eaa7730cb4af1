import {
  type Command,
  type CommandRun,
  DEFAULT_LIMITS,
  EngineError,
  type EngineLimits,
  fail,
  Simulation,
  type InstanceConfigInput,
  instanceView,
} from "./engine/index.js";

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** Server-wide limits (docs/ARCHITECTURE.md habit 4): every one configurable, every hit a 429 LIMIT_EXCEEDED. */
export interface ServerLimits extends EngineLimits {
  maxInstances: number;
  /**
   * Simulated pages per instance: `config.memoryBytes / 4096` at creation (import and reset
   * included), which also bounds the pages any one command can allocate or free, so the
   * page-at-a-time loops of the engine stay short.
   */
  maxPagesPerInstance: number;
  maxBatchCommands: number;
  /** Commands in one import document (`POST /v1/instances/import`, ImportInstance). */
  maxImportCommands: number;
  /** REST request bodies (413 PAYLOAD_TOO_LARGE beyond). */
  maxBodyBytes: number;
  /** Received gRPC messages (grpc-js answers RESOURCE_EXHAUSTED beyond). */
  maxGrpcMessageBytes: number;
  /** SSE streams and gRPC WatchEvents streams together. */
  maxWatchers: number;
  /** `limit` of one events page (REST `?limit=`, gRPC ListEvents). */
  maxEventPage: number;
  /** Live slab objects of all instances together (the server's memory budget for objects, ~28 B each). */
  maxTotalLiveObjects: number;
  /** Cgroups of all instances together (the budget for cgroups, ~2.6 KiB each). */
  maxTotalCgroups: number;
  /** Open HTTP connections (beyond it, new connections are closed at once). */
  maxConnections: number;
  /** An HTTP request's headers must arrive within this (slow-header clients are closed). */
  headersTimeoutMs: number;
  /** A whole HTTP request (headers and body) must arrive within this (slow bodies are closed). */
  requestTimeoutMs: number;
  /**
   * Series of the simulation families in one `/metrics` scrape (src/metrics): those past it are
   * left out and counted in `memcg_sim_metrics_series_dropped` (a bound, not a 429).
   */
  maxMetricsSeries: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  ...DEFAULT_LIMITS,
  maxInstances: 64,
  // 64 GiB of simulated RAM: one allocPages of all of it runs in about a second
  maxPagesPerInstance: 16 * 1024 * 1024,
  maxBatchCommands: 10_000,
  maxImportCommands: 1_000_000,
  maxBodyBytes: 8 * 1024 * 1024,
  maxGrpcMessageBytes: 8 * 1024 * 1024,
  maxWatchers: 256,
  maxEventPage: 10_000,
  // 64 instances may each hold 50M objects and 20k cgroups (3.2 billion objects, ~90 GB): the
  // totals keep the whole server within a few GB (docs/RELIABILITY.md)
  maxTotalLiveObjects: 100_000_000,
  maxTotalCgroups: 200_000,
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  // ~70 bytes a series: a scrape of at most ~7 MB, formatted in tens of ms (docs/OBSERVABILITY.md)
  maxMetricsSeries: 100_000,
};

/** Throws 429 LIMIT_EXCEEDED naming the limit (`details.limit`) and its value. */
export function limitExceeded(limit: keyof ServerLimits | string, value: number, detail: string): never {
  return fail("LIMIT_EXCEEDED", detail, { limit, value });
}

export interface Entry {
  readonly name: string;
  /** The config as the client sent it (reset and export recreate from it). */
  readonly configInput: InstanceConfigInput | undefined;
  instance: Simulation;
}

/**
 * A command refused with a kernel errno after it already ran reclaim or an OOM kill — a v1
 * `limit_in_bytes` shrink that ends in EBUSY, `memory.reclaim` that ends in EAGAIN, a task move
 * whose precharge fails with ENOMEM, a mkdir whose parent cannot pay for the new cgroup's
 * statistics (ENOMEM, 5.9+), a fork whose stack or page tables cannot be charged (ENOMEM). As in
 * the kernel, what reclaim freed (and the OOM killer killed) stays so, so these
 * refusals are part of the instance's history: they are announced (journaled, exported) and a
 * replay applies them again and expects the same refusal. Every other refusal changes nothing.
 */
export function isHistoricRefusal(command: Command, err: unknown): boolean {
  return (
    err instanceof EngineError &&
    (err.code === "EBUSY" || err.code === "EAGAIN" || err.code === "ENOMEM") &&
    (command.op === "writeFile" ||
      command.op === "updateCgroup" ||
      command.op === "moveTask" ||
      (err.code === "ENOMEM" && (command.op === "createCgroup" || command.op === "spawnTask")))
  );
}

/**
 * Applies a journaled or imported command during a replay: a historic refusal (see
 * `isHistoricRefusal`) is expected to be refused again; anything else must succeed.
 */
export function replayCommand(
  apply: (c: Command) => unknown,
  command: Command,
  onRefused?: () => void,
): void {
  try {
    apply(command);
  } catch (err) {
    if (!isHistoricRefusal(command, err)) throw err;
    onRefused?.();
  }
}

/** What a listener hears: an applied command (or a historic refusal), or an instance created/reset/deleted. */
export type RegistryEvent =
  | { kind: "command"; name: string; command: Command; refused?: string }
  | { kind: "created"; name: string; config: InstanceConfigInput | undefined }
  | { kind: "reset"; name: string }
  | { kind: "deleted"; name: string };

/**
 * The named simulation instances of one server. Every mutation of an instance goes through
 * `execute` so listeners (persistence journal, metrics) see the same command stream.
 */
export class Registry {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(e: RegistryEvent) => void>();
  private watchers = 0;

  constructor(readonly limits: ServerLimits = DEFAULT_SERVER_LIMITS) {}

  /** Open event streams (SSE and gRPC WatchEvents together). */
  get watcherCount(): number {
    return this.watchers;
  }

  /**
   * Takes one of the `maxWatchers` stream slots shared by both transports; returns its release
   * (idempotent). Throws LIMIT_EXCEEDED when all are taken.
   */
  acquireWatcher(): () => void {
    if (this.watchers >= this.limits.maxWatchers)
      limitExceeded(
        "maxWatchers",
        this.limits.maxWatchers,
        `watcher limit ${this.limits.maxWatchers} reached`,
      );
    this.watchers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.watchers--;
    };
  }

  /** The maxPagesPerInstance check: a new instance's memoryBytes in 4 KiB pages. */
  private checkPages(config: InstanceConfigInput | undefined): void {
    const bytes = config?.memoryBytes;
    if (typeof bytes !== "number") return;
    const pages = Math.ceil(bytes / 4096);
    if (pages > this.limits.maxPagesPerInstance)
      limitExceeded(
        "maxPagesPerInstance",
        this.limits.maxPagesPerInstance,
        `config.memoryBytes ${bytes} is ${pages} pages; the server allows ${this.limits.maxPagesPerInstance} pages per instance`,
      );
  }

  on(fn: (e: RegistryEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: RegistryEvent): void {
    for (const l of this.listeners) l(e);
  }

  /**
   * Instances the data file holds that restore did not load because their rows failed the
   * integrity check (`--recover=skip`): name → reason. Their rows are kept; the name cannot be
   * created again until `delete(name)` drops them.
   */
  readonly kept = new Map<string, string>();

  /** `kept` as the list answers show it (REST `failedInstances`, gRPC `failed_instances`), by name. */
  failedInstances(): { name: string; state: "failed"; reason: string }[] {
    return [...this.kept]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, reason]) => ({ name, state: "failed" as const, reason }));
  }

  /**
   * `opts.instance`: the new instance's simulation when it does not start empty (the base state of
   * an imported export of version 2, already checked against these limits by the importer).
   */
  create(
    name: string,
    config?: InstanceConfigInput,
    opts: { silent?: boolean; instance?: Simulation } = {},
  ): Entry {
    if (typeof name !== "string" || !NAME.test(name))
      fail("INVALID_ARGUMENT", `invalid instance name "${name}"`, {
        issues: [{ path: "name", message: "must match ^[a-z][a-z0-9-]{0,62}$" }],
      });
    if (this.entries.has(name)) fail("INSTANCE_EXISTS", `instance ${name} already exists`, { name });
    const kept = this.kept.get(name);
    if (kept !== undefined)
      fail(
        "INSTANCE_EXISTS",
        `instance ${name} failed its integrity check at start-up and its rows are kept (${kept}); delete it to reuse the name`,
        { name, state: "failed" },
      );
    if (this.entries.size >= this.limits.maxInstances)
      fail("LIMIT_EXCEEDED", `instance limit ${this.limits.maxInstances} reached`, {
        limit: "maxInstances",
        value: this.limits.maxInstances,
      });
    this.checkPages(config);
    const entry: Entry = {
      name,
      configInput: config,
      instance: opts.instance ?? new Simulation(config, this.limits),
    };
    this.entries.set(name, entry);
    if (!opts.silent) this.emit({ kind: "created", name, config });
    return entry;
  }

  /**
   * Persistence rolling back what a failed journal commit had applied (a full disk): puts the
   * instance's durable state in place, or removes an instance the file does not hold. No event.
   */
  replaceSilently(name: string, configInput: InstanceConfigInput | undefined, sim: Simulation | null): void {
    if (sim === null) {
      this.entries.delete(name);
      return;
    }
    const e = this.entries.get(name);
    if (e !== undefined) e.instance = sim;
    else this.entries.set(name, { name, configInput, instance: sim });
  }

  get(name: string): Entry {
    const e = this.entries.get(name);
    if (e === undefined) fail("INSTANCE_NOT_FOUND", `instance ${name} not found`, { name });
    return e;
  }

  list(): Entry[] {
    return [...this.entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  delete(name: string): void {
    if (!this.entries.has(name) && this.kept.delete(name)) {
      // the kept rows of an instance that failed its integrity check go with it
      this.emit({ kind: "deleted", name });
      return;
    }
    this.get(name);
    this.entries.delete(name);
    this.emit({ kind: "deleted", name });
  }

  reset(name: string): Entry {
    const e = this.get(name);
    e.instance = new Simulation(e.configInput, this.limits);
    this.emit({ kind: "reset", name });
    return e;
  }

  /**
   * The server-wide budgets (maxTotalLiveObjects, maxTotalCgroups): a command that would take the
   * sum over every instance past one answers 429 naming it, before it runs.
   */
  private checkBudgets(command: Command): void {
    if (command.op === "allocObjects") {
      const count = command.count ?? 1;
      let total = 0;
      for (const e of this.entries.values()) total += e.instance.slab.liveObjects;
      if (total + count > this.limits.maxTotalLiveObjects)
        limitExceeded(
          "maxTotalLiveObjects",
          this.limits.maxTotalLiveObjects,
          `the server holds ${total} live objects in all instances; ${count} more would pass the budget of ${this.limits.maxTotalLiveObjects}`,
        );
    } else if (command.op === "createCgroup") {
      let total = 0;
      for (const e of this.entries.values()) total += e.instance.cgroupCount;
      if (total + 1 > this.limits.maxTotalCgroups)
        limitExceeded(
          "maxTotalCgroups",
          this.limits.maxTotalCgroups,
          `the server holds ${total} cgroups in all instances, the budget is ${this.limits.maxTotalCgroups}`,
        );
    }
  }

  /** Applies one command to an instance; the command is announced only once it was accepted. */
  execute(name: string, command: Command): unknown {
    const e = this.get(name);
    this.checkBudgets(command);
    let r: unknown;
    try {
      r = e.instance.execute(command);
    } catch (err) {
      if (isHistoricRefusal(command, err)) {
        // A historic refusal is part of the instance's history (journaled, exported, replayed), so
        // it counts as an applied command: export checks the log's length against commandCount.
        // (The engine counts only commands that returned; restore counts a replayed refusal the same way.)
        e.instance.commandCount++;
        this.emit({ kind: "command", name, command, refused: (err as EngineError).code });
      }
      throw err;
    }
    this.emit({ kind: "command", name, command });
    return r;
  }

  /**
   * A command of `name` run in parts (Simulation.begin: `allocObjects`, `freeObjects`), or null when the
   * command runs whole (use `execute`). Refusals throw here, before anything changes. `finish`
   * answers as `execute` does and announces the command to the listeners (the journal) only then;
   * if the instance was replaced meanwhile (a refused journal commit rebuilt it from its durable
   * rows), the parts applied went to the replaced state: `finish` refuses with the commit's 507
   * `INSUFFICIENT_STORAGE` and nothing is announced.
   */
  begin(name: string, command: Command): CommandRun | null {
    const e = this.get(name);
    const sim = e.instance;
    this.checkBudgets(command);
    const run = sim.begin(command);
    if (run === null) return null;
    return {
      step: run.step,
      finish: () => {
        if (this.entries.get(name) !== e || e.instance !== sim)
          fail(
            "INSUFFICIENT_STORAGE",
            `instance ${name} was rebuilt from its journal while the command ran (a journal write was refused); the command was not applied`,
          );
        const r = run.finish();
        this.emit({ kind: "command", name, command });
        return r;
      },
    };
  }

  /**
   * `/batch` (docs/API.md §6): each command applied in order; an invalid or refused one is reported
   * in its slot and, with stopOnError (default), ends the batch.
   */
  executeBatch(
    name: string,
    commands: Command[] | (() => Command)[],
    stopOnError = true,
  ): {
    results: ({ ok: true; result: unknown } | { ok: false; error: { code: string; detail: string } })[];
    executedCount: number;
  } {
    this.get(name);
    if (commands.length > this.limits.maxBatchCommands)
      fail("LIMIT_EXCEEDED", `batch limit ${this.limits.maxBatchCommands} commands`, {
        limit: "maxBatchCommands",
        value: this.limits.maxBatchCommands,
      });
    const results: (
      | { ok: true; result: unknown }
      | { ok: false; error: { code: string; detail: string } }
    )[] = [];
    let executed = 0;
    for (const c of commands) {
      try {
        const cmd = typeof c === "function" ? c() : c;
        results.push({ ok: true, result: this.execute(name, cmd) });
        executed++;
      } catch (err) {
        if (!(err instanceof EngineError)) throw err;
        results.push({ ok: false, error: { code: err.code, detail: err.message } });
        if (stopOnError) break;
      }
    }
    return { results, executedCount: executed };
  }

  /** The Instance JSON of docs/API.md §3. */
  view(e: Entry) {
    return { name: e.name, ...instanceView(e.instance) };
  }
}

import { performance } from "node:perf_hooks";
import { type Command, Simulation, type InstanceConfigInput, resolveConfig } from "../engine/index.js";
import { type Entry, type Registry, type RegistryEvent, replayCommand } from "../registry.js";
import { CommandLog, type CommandSource } from "./command-log.js";
import { stateDigest } from "./digest.js";
import { type ExportDoc, exportInstance, type ImportOptions, importInstance } from "./export.js";
import { type JournalOp, JournalStore, type Synchronous } from "./store.js";

export const DEFAULT_DATA_DIR = "./data";

/** `MEMCG_SIM_DATA_DIR` (docs/API.md §1): a directory, default ./data; `none` (or empty) = memory only, no file touched. */
export function dataDirFromEnv(value: string | undefined): string | null {
  const v = value ?? DEFAULT_DATA_DIR;
  return v === "none" || v === "" ? null : v;
}

export interface PersistenceOptions {
  /** The data directory; null or "none" keeps everything in memory (export still works). */
  dataDir: string | null;
  /**
   * SQLite `synchronous` in WAL mode. NORMAL (default): a COMMIT is written to the WAL file (the
   * OS page cache) before flush() returns, so it survives a SIGKILL of the server; only an OS
   * crash or power loss can lose the newest commits. FULL adds an fsync per commit, which also
   * survives power loss, at a cost measured in bench/persistence.ts.
   */
  synchronous?: Synchronous;
  /** An instance gets a state snapshot (digest) each time this many commands were journaled; 0 = never. */
  snapshotEveryCommands?: number;
  /** Snapshots kept per instance (older ones pruned). */
  keepSnapshots?: number;
  /** How long opening waits for another process's lock on the file before failing (default 2000). */
  busyTimeoutMs?: number;
  /** Where a failed end-of-turn group commit is reported (the ops stay queued and are retried). */
  onError?: (err: unknown) => void;
  /** Wall clock for snapshot timestamps (ms). */
  now?: () => number;
  /** Without a data directory: commands kept per instance for export before the log is dropped (default 1,000,000). */
  memoryLogMaxCommands?: number;
}

export interface RestoreReport {
  instanceCount: number;
  commandCount: number;
  ms: number;
  snapshotsVerified: number;
  /** Snapshots whose digest differs after replay: the engine no longer reproduces that state. */
  snapshotMismatches: { name: string; seq: number }[];
  /** Instances not loaded (kept untouched in the file): a refused command, a journal gap, a name taken. */
  failed: { name: string; seq: number | null; error: string }[];
}

export interface PersistenceStats {
  enabled: boolean;
  file: string | null;
  journaledCommandCount: number;
  commitCount: number;
  pendingOpCount: number;
  snapshotCount: number;
  /** Commands of instances the journal does not track (created before attach): export of those fails. */
  untrackedCommandCount: number;
}

interface Track {
  /** Commands journaled since the instance's creation or last reset (= its journal's last seq). */
  seq: number;
  /** seq of the newest snapshot. */
  snapSeq: number;
}

const RESTORE_CHUNK = 50_000;

/**
 * Persistence of a Registry (issue "Reliability"): every accepted command is appended to a journal
 * synchronously from the registry's event, in the command language (docs/API.md §6).
 *
 * Group commit: appends queue in memory and are written in ONE SQLite transaction, either at the
 * end of the current event-loop turn (setImmediate) or when a transport calls `flush()` before it
 * replies, whichever comes first. So an acknowledged mutation is durable (see `synchronous`), and
 * a burst of commands in one turn or one `/batch` costs one commit.
 *
 * Restore recreates each instance from its resolved config and replays its journal in order
 * (the engine is deterministic, so this reproduces the state exactly); snapshots record a digest
 * of the state every `snapshotEveryCommands` commands, and restore checks them.
 *
 * With dataDir `none` nothing touches the disk; the accepted commands are kept in an in-memory
 * CommandLog so export works the same way.
 */
export class Persistence implements CommandSource {
  readonly enabled: boolean;
  private readonly store: JournalStore | null;
  private readonly memLog: CommandLog | null;
  private readonly tracks = new Map<string, Track>();
  private pending: JournalOp[] = [];
  private readonly dirty = new Set<string>();
  private scheduled = false;
  /** dataDir `none`: resolves at the end of the current event-loop turn (see durable). */
  private turnEnd: Promise<void> | null = null;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private registry: Registry | null = null;
  private detach: (() => void) | null = null;
  private nextCreatedSeq = 1;
  private readonly snapshotEvery: number;
  private readonly onError: (err: unknown) => void;
  private readonly now: () => number;
  private readonly counters = {
    journaledCommandCount: 0,
    commitCount: 0,
    snapshotCount: 0,
    untrackedCommandCount: 0,
  };

  constructor(opts: PersistenceOptions) {
    const dir = opts.dataDir === "none" ? null : opts.dataDir;
    this.enabled = dir !== null;
    this.store =
      dir === null
        ? null
        : new JournalStore(dir, {
            synchronous: opts.synchronous,
            keepSnapshots: opts.keepSnapshots,
            busyTimeoutMs: opts.busyTimeoutMs,
          });
    this.memLog = dir === null ? new CommandLog(opts.memoryLogMaxCommands) : null;
    this.snapshotEvery = opts.snapshotEveryCommands ?? 10_000;
    this.onError =
      opts.onError ?? ((err) => console.error("memcg-sim persistence: group commit failed:", err));
    this.now = opts.now ?? Date.now;
    if (this.store !== null) this.nextCreatedSeq = this.store.maxCreatedSeq() + 1;
  }

  /** The SQLite file, or null when disabled. */
  get file(): string | null {
    return this.store?.file ?? null;
  }

  /** restore() then attach(): what src/main.ts calls at start-up, before creating the demo. */
  start(registry: Registry): RestoreReport {
    const report = this.restore(registry);
    this.attach(registry);
    return report;
  }

  /**
   * Recreates every journaled instance in `registry` silently (nothing is re-journaled, no
   * listener hears it) and replays its journal, read in bulk chunks. An instance whose replay
   * fails, or whose name is already taken, is not loaded and its rows are left as they are.
   */
  restore(registry: Registry): RestoreReport {
    const t0 = performance.now();
    const report: RestoreReport = {
      instanceCount: 0,
      commandCount: 0,
      ms: 0,
      snapshotsVerified: 0,
      snapshotMismatches: [],
      failed: [],
    };
    if (this.store === null) return report;
    const taken = new Set(registry.list().map((e) => e.name));
    for (const row of this.store.instances()) {
      if (taken.has(row.name)) {
        report.failed.push({ name: row.name, seq: null, error: "an instance of that name already exists" });
        continue;
      }
      let seq = 0;
      try {
        const config = JSON.parse(row.config) as InstanceConfigInput;
        const sim = new Simulation(config, registry.limits);
        const snaps = this.store.snapshots(row.name);
        let si = 0;
        const check = () => {
          while (si < snaps.length && snaps[si].seq <= seq) {
            if (snaps[si].seq === seq) {
              if (stateDigest(sim) === snaps[si].digest) report.snapshotsVerified++;
              else report.snapshotMismatches.push({ name: row.name, seq });
            }
            si++;
          }
        };
        check();
        for (;;) {
          const rows = this.store.journal(row.name, seq, RESTORE_CHUNK);
          for (const [s, json] of rows) {
            if (s !== seq + 1) throw new Error(`journal gap: expected seq ${seq + 1}, found ${s}`);
            // a historic refusal counts as applied, as Registry.execute counts it (export compares)
            replayCommand(
              (c) => sim.execute(c),
              JSON.parse(json) as Command,
              () => sim.commandCount++,
            );
            seq = s;
            if (si < snaps.length && snaps[si].seq <= seq) check();
          }
          if (rows.length < RESTORE_CHUNK) break;
        }
        const entry = registry.create(row.name, config, { silent: true });
        entry.instance = sim;
        const lastSnap = snaps.filter((s) => s.seq <= seq).at(-1)?.seq ?? 0;
        this.tracks.set(row.name, { seq, snapSeq: lastSnap });
        taken.add(row.name);
        report.instanceCount++;
        report.commandCount += seq;
      } catch (err) {
        report.failed.push({
          name: row.name,
          seq: seq + 1,
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      }
    }
    report.ms = performance.now() - t0;
    return report;
  }

  /**
   * Subscribes to the registry's events. Instances already in the registry that the journal does
   * not know are adopted when they have applied no command yet (and no journaled instance of that
   * name exists); attach before anything else mutates the registry (src/main.ts: right after
   * restore, before the demo).
   */
  attach(registry: Registry): void {
    if (this.registry !== null) throw new Error("persistence is already attached to a registry");
    this.registry = registry;
    // never adopt over a journaled instance that restore did not load: its rows stay for inspection
    const journaled = new Set(this.store?.instances().map((r) => r.name) ?? []);
    for (const e of registry.list())
      if (!this.tracks.has(e.name) && !journaled.has(e.name) && e.instance.commandCount === 0)
        this.onEvent({ kind: "created", name: e.name, config: e.configInput });
    this.detach = registry.on(this.onEvent);
  }

  private readonly onEvent = (e: RegistryEvent): void => {
    switch (e.kind) {
      case "command": {
        const t = this.tracks.get(e.name);
        if (t === undefined) {
          this.counters.untrackedCommandCount++;
          return;
        }
        t.seq++;
        this.counters.journaledCommandCount++;
        const json = JSON.stringify(e.command);
        if (this.memLog !== null) this.memLog.append(e.name, json);
        else {
          this.pending.push({ t: "command", name: e.name, seq: t.seq, command: json });
          this.dirty.add(e.name);
        }
        break;
      }
      case "created":
        this.tracks.set(e.name, { seq: 0, snapSeq: 0 });
        if (this.memLog !== null) this.memLog.begin(e.name);
        else
          this.pending.push({
            t: "create",
            name: e.name,
            config: JSON.stringify(resolveConfig(e.config)),
            createdSeq: this.nextCreatedSeq++,
          });
        break;
      case "reset":
        this.tracks.set(e.name, { seq: 0, snapSeq: 0 });
        if (this.memLog !== null) this.memLog.begin(e.name);
        else this.pending.push({ t: "reset", name: e.name });
        break;
      case "deleted":
        this.tracks.delete(e.name);
        this.dirty.delete(e.name);
        if (this.memLog !== null) this.memLog.drop(e.name);
        else this.pending.push({ t: "delete", name: e.name });
        break;
    }
    if (this.store !== null && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.tick);
    }
  };

  private readonly tick = (): void => {
    this.scheduled = false;
    try {
      this.flush();
    } catch (err) {
      this.onError(err);
    }
  };

  /**
   * Commits every queued journal write in one transaction and returns once it is durable. The
   * transport calls it after applying a mutation and before replying (acknowledged ⇒ durable).
   * Throws when the commit fails (disk full, I/O error): the writes stay queued, the request
   * should answer 500. A no-op with dataDir `none` or nothing queued.
   */
  flush(): void {
    if (this.store === null || this.pending.length === 0) {
      this.settle(null);
      return;
    }
    this.queueSnapshots(false);
    const ops = this.pending;
    this.pending = [];
    try {
      this.store.apply(ops);
    } catch (err) {
      this.pending = ops.concat(this.pending);
      this.settle(err);
      throw err;
    }
    this.counters.commitCount++;
    this.settle(null);
  }

  /**
   * Resolves once everything queued so far is committed: the end-of-turn group commit serves every
   * waiter of that turn with one transaction (an alternative to flush() for transports that can
   * await; with many concurrent requests it turns N commits into one). With dataDir `none` it
   * resolves at the end of the turn, so both modes release answers at the same point.
   */
  durable(): Promise<void> {
    if (this.store === null) {
      // No disk, but the same release point as the journal's group commit: the answers of one
      // event-loop turn leave together once it ends. Under concurrent load that batches the turn's
      // socket writes (docs/BENCHMARKS.md: single-object allocs over HTTP with and without it);
      // a lone request waits one turn, tens of microseconds.
      if (this.turnEnd === null)
        this.turnEnd = new Promise((resolve) =>
          setImmediate(() => {
            this.turnEnd = null;
            resolve();
          }),
        );
      return this.turnEnd;
    }
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private settle(err: unknown): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (err === null) w.resolve();
      else w.reject(err);
    }
  }

  /** Queues a state snapshot of every instance due one (all with new commands when `force`). */
  private queueSnapshots(force: boolean): void {
    if (this.registry === null || (!force && this.snapshotEvery <= 0)) return;
    for (const name of this.dirty) {
      const t = this.tracks.get(name);
      if (t === undefined || t.seq === t.snapSeq || (!force && t.seq - t.snapSeq < this.snapshotEvery))
        continue;
      const sim = this.registry.get(name).instance;
      this.pending.push({
        t: "snapshot",
        name,
        seq: t.seq,
        commandCount: sim.commandCount,
        digest: stateDigest(sim),
        takenAtMs: this.now(),
      });
      t.snapSeq = t.seq;
      this.counters.snapshotCount++;
      this.dirty.delete(name);
    }
  }

  /** Snapshots every instance with commands since its last snapshot, then flushes (clean shutdown). */
  snapshot(): void {
    if (this.store === null) return;
    this.queueSnapshots(true);
    this.flush();
  }

  /** The accepted commands of `name` since its creation or last reset (CommandSource, for export). */
  commands(name: string): Command[] | undefined {
    if (this.memLog !== null) return this.memLog.commands(name);
    if (!this.tracks.has(name) || this.store === null) return undefined;
    this.flush();
    return this.store
      .journal(name, 0, Number.MAX_SAFE_INTEGER)
      .map(([, json]) => JSON.parse(json) as Command);
  }

  /** `GET /v1/instances/{name}/export` (see export.ts). */
  exportInstance(registry: Registry, name: string): ExportDoc {
    return exportInstance(registry, this, name);
  }

  /** `POST /v1/instances/import` (see export.ts); journaled as an ordinary create + commands. */
  importInstance(registry: Registry, doc: unknown, opts: ImportOptions = {}): Entry {
    return importInstance(registry, doc, opts);
  }

  stats(): PersistenceStats {
    return { enabled: this.enabled, file: this.file, pendingOpCount: this.pending.length, ...this.counters };
  }

  /** Snapshot, flush, unsubscribe and close the file (SIGTERM path). Safe to call twice. */
  close(): void {
    if (this.store !== null && this.registry !== null) this.snapshot();
    else this.flush();
    this.detach?.();
    this.detach = null;
    this.registry = null;
    this.store?.close();
  }
}

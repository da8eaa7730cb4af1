import { mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  type Command,
  captureState,
  EngineError,
  fail,
  type InstanceConfigInput,
  resolveConfig,
  Simulation,
} from "../engine/index.js";
import { type Entry, type Registry, type RegistryEvent, replayCommand } from "../registry.js";
import { CommandLog, type CommandSource, type ExportBase, type History } from "./command-log.js";
import { stateDigest } from "./digest.js";
import {
  type ExportDoc,
  type ExportPlan,
  exportInstance,
  type ImportOptions,
  importInstance,
  prepareExport,
} from "./export.js";
import { type Acked, AckMarker } from "./ack-marker.js";
import {
  checkStateBytes,
  readStateFile,
  restoreUnder,
  writeStateBytes,
  writeStateFile,
} from "./state-file.js";
import {
  type BaseRow,
  baseCrc,
  DB_FILE,
  chainSeed,
  commandCrc,
  instanceCrc,
  type InstanceRow,
  type JournalOp,
  JournalStore,
  type SnapshotRow,
  type Synchronous,
  snapshotCrc,
} from "./store.js";

/**
 * What restore does with an instance whose rows fail the integrity check (`--recover`, docs/RELIABILITY.md):
 * `refuse` (default) stops the start-up with an error naming the instance, the seq and these
 * choices, changing nothing; `truncate-to-last-good` keeps the rows before the first bad one,
 * deletes the rest and loads the instance from them; `skip` starts without the instance, its rows
 * kept untouched (state `failed`, reported by restore).
 */
export type RecoverMode = "refuse" | "truncate-to-last-good" | "skip";
export const RECOVER_MODES: readonly RecoverMode[] = ["refuse", "truncate-to-last-good", "skip"];

/** One integrity failure found at restore. `seq` is the first journal row that cannot be trusted (null: the instance row itself). */
export interface IntegrityProblem {
  /** null: the file as a whole. */
  name: string | null;
  seq: number | null;
  /** The rows before `seq` that checked out (what truncate-to-last-good would keep). */
  lastGoodSeq: number;
  reason: string;
}

/** Restore refused to start: the data file does not hold what was acknowledged, or fails its checksums. */
export class IntegrityError extends Error {
  constructor(
    readonly file: string,
    readonly problems: IntegrityProblem[],
  ) {
    super(
      `${file}: the data fails its integrity check, nothing was changed:\n${problems
        .map(
          (p) =>
            `  ${p.name === null ? "the file" : `instance ${JSON.stringify(p.name)}`}: ${p.reason}` +
            (p.seq === null ? "" : ` (seq 1..${p.lastGoodSeq} check out)`),
        )
        .join(
          "\n",
        )}\nchoose one: restart with --recover=truncate-to-last-good to keep each instance's rows that check out and drop the rest, or --recover=skip to start without these instances (their rows are kept; delete them to reuse the names)`,
    );
    this.name = "IntegrityError";
  }
}

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
  /** What restore does with rows that fail the integrity check (default `refuse`). */
  recover?: RecoverMode;
  /** Snapshots write the simulation's state to `<dataDir>/state` (default true), so restore starts from the newest. */
  saveState?: boolean;
  /** Largest the data file may grow (bytes; 0 = unbounded): beyond it a commit fails as on a full disk. */
  maxDataBytes?: number;
  /**
   * Compaction (`--compact`, default true): once a snapshot's state file is written and read back
   * whole, the journal rows up to the oldest kept snapshot with a state file are deleted and that
   * snapshot becomes the instance's base (docs/RELIABILITY.md "Compaction").
   */
  compact?: boolean;
}

export interface RestoreReport {
  instanceCount: number;
  commandCount: number;
  ms: number;
  snapshotsVerified: number;
  /** Snapshots whose digest differs after replay: the engine no longer reproduces that state. */
  snapshotMismatches: { name: string; seq: number }[];
  /** Instances not loaded (kept untouched in the file): a refused command, a name taken, or skipped by `--recover=skip`. */
  failed: { name: string; seq: number | null; error: string }[];
  /** Instances loaded from their rows that checked out, the rest deleted (`--recover=truncate-to-last-good`). */
  truncated: { name: string; keptSeq: number; droppedRows: number; reason: string }[];
  /** The file was migrated from this schema version at open (checksums computed from its rows). */
  migratedFrom: number | null;
  /** Instances restored from a state file (then the journal rows after it), not from row 1. */
  statesLoaded: number;
  /** Journal rows read and applied by this restore (the rows after each instance's state). */
  replayedCommandCount: number;
  /** State files that could not be used (missing, damaged, another digest): restore fell back to an older state or to row 1. */
  stateFallbacks: { name: string; seq: number; error: string }[];
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
  /** Journal writes refused by the disk (full, I/O error) and rolled back in memory. */
  rolledBackOpCount: number;
}

interface Track {
  /** Commands journaled since the instance's creation or last reset (= its journal's last seq). */
  seq: number;
  /** seq of the newest snapshot. */
  snapSeq: number;
  /** Creation order (the instance's identity across a delete and re-create of its name). */
  createdSeq: number;
  /** Resets since creation. */
  epoch: number;
  /** Checksum chain value after row `seq`. */
  crc: number;
  /** seq of the journal's base: the rows up to it were compacted away (0: none). */
  baseSeq: number;
}

const RESTORE_CHUNK = 50_000;
const STATE_DIR = "state";

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** SQLite's own verdict that the file is damaged (better-sqlite3 SqliteError codes). */
function isSqliteCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB");
}

function asIntegrityError(file: string, name: string | null, err: unknown): unknown {
  if (err instanceof IntegrityError || !isSqliteCorruption(err)) return err;
  return new IntegrityError(file, [
    { name, seq: null, lastGoodSeq: 0, reason: `SQLite cannot read it: ${errorText(err)}` },
  ]);
}

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
  private readonly dataDir: string | null;
  private readonly recover: RecoverMode;
  /** Written after each commit (ack-marker.ts); null until restore, and without a data directory. */
  private marker: AckMarker | null = null;
  /** Instances whose rows failed the integrity check and were kept, not loaded: name → reason. */
  private readonly kept = new Map<string, string>();
  private readonly memLog: CommandLog | null;
  /** `<dataDir>/state`: the snapshots' state files (state-file.ts); null without a data directory. */
  private readonly stateDir: string | null;
  /** Snapshots write the state (not only its digest). */
  private readonly saveState: boolean;
  /** Compaction on (PersistenceOptions.compact). */
  private readonly compact: boolean;
  /** State files (relative names) read back whole by this process: restored, and digest equal to their row's. */
  private readonly verifiedFiles = new Set<string>();
  /** Instances whose old state files may be removed after the next commit. */
  private readonly pruneState = new Set<string>();
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
    rolledBackOpCount: 0,
  };

  constructor(opts: PersistenceOptions) {
    const dir = opts.dataDir === "none" ? null : opts.dataDir;
    this.enabled = dir !== null;
    this.dataDir = dir;
    this.recover = opts.recover ?? "refuse";
    this.stateDir = dir === null ? null : join(dir, STATE_DIR);
    this.saveState = opts.saveState ?? true;
    this.compact = opts.compact ?? true;
    try {
      this.store =
        dir === null
          ? null
          : new JournalStore(dir, {
              synchronous: opts.synchronous,
              keepSnapshots: opts.keepSnapshots,
              busyTimeoutMs: opts.busyTimeoutMs,
            });
    } catch (err) {
      // a damaged schema is SQLite's SQLITE_CORRUPT at open: the same start-up error as a damaged row
      throw asIntegrityError(join(dir as string, DB_FILE), null, err);
    }
    if (this.store !== null && (opts.maxDataBytes ?? 0) > 0) this.store.setMaxBytes(opts.maxDataBytes ?? 0);
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
    let report: RestoreReport;
    try {
      report = this.restore(registry);
    } catch (err) {
      // a refused start leaves the file as it was, and unlocked for the operator's next try
      this.store?.close();
      throw err;
    }
    this.attach(registry);
    return report;
  }

  /**
   * Recreates every journaled instance in `registry` silently (nothing is re-journaled, no
   * listener hears it) and replays its journal, read in bulk chunks, verifying as it goes: the
   * instance row's checksum, the journal's seq order and checksum chain (store.ts), the snapshots'
   * checksums and digests, and against the acknowledgement marker (ack-marker.ts) that no
   * acknowledged row, reset or instance is missing. A failure is handled as `recover` says
   * (RecoverMode); with `refuse` (default) nothing is loaded or changed and IntegrityError is thrown.
   * An instance whose verified journal no longer replays, or whose name is already taken, is not
   * loaded and its rows are left as they are (`failed`).
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
      truncated: [],
      migratedFrom: this.store?.migratedFrom ?? null,
      statesLoaded: 0,
      replayedCommandCount: 0,
      stateFallbacks: [],
    };
    const store = this.store;
    if (store === null || this.dataDir === null) return report;
    const marker = AckMarker.read(this.dataDir);
    const problems: IntegrityProblem[] = [];
    const loads: { row: InstanceRow; sim: Simulation; config: InstanceConfigInput; track: Track }[] = [];
    const skipped = new Map<string, Acked>();
    const taken = new Set(registry.list().map((e) => e.name));
    let rows: InstanceRow[];
    try {
      // No PRAGMA quick_check here: it reads the whole file, so restart would again grow with the
      // history. The rows restore reads are checked by their checksums, and SQLite reports a
      // damaged page it reads (SQLITE_CORRUPT, turned into an IntegrityError below).
      rows = store.instances();
    } catch (err) {
      throw asIntegrityError(store.file, null, err);
    }
    for (const row of rows) {
      if (taken.has(row.name)) {
        report.failed.push({ name: row.name, seq: null, error: "an instance of that name already exists" });
        continue;
      }
      const acked = marker?.get(row.name);
      if (instanceCrc(row.name, row.config, row.createdSeq, row.epoch) !== row.crc) {
        problems.push({
          name: row.name,
          seq: null,
          lastGoodSeq: 0,
          reason: "its instance row (config, creation, resets) fails its checksum",
        });
        skipped.set(row.name, acked ?? { createdSeq: row.createdSeq, epoch: row.epoch, seq: 0 });
        continue;
      }
      let seq = 0;
      let crc = chainSeed(row.name, row.epoch);
      let problem: IntegrityProblem | null = null;
      let config: InstanceConfigInput;
      let sim: Simulation;
      try {
        config = JSON.parse(row.config) as InstanceConfigInput;
        sim = new Simulation(config, registry.limits);
      } catch (err) {
        report.failed.push({ name: row.name, seq: null, error: errorText(err) });
        continue;
      }
      let base: BaseRow | undefined;
      try {
        base = store.base(row.name);
      } catch (err) {
        if (!isSqliteCorruption(err)) throw err;
        problems.push({
          name: row.name,
          seq: null,
          lastGoodSeq: 0,
          reason: `its base row cannot be read: ${errorText(err)}`,
        });
        skipped.set(row.name, acked ?? { createdSeq: row.createdSeq, epoch: row.epoch, seq: 0 });
        continue;
      }
      if (base !== undefined && baseCrc(row.name, base) !== base.crc) {
        problems.push({
          name: row.name,
          seq: null,
          lastGoodSeq: 0,
          reason: `its base row (the state its journal rows 1..${base.seq} were compacted into) fails its checksum`,
        });
        skipped.set(row.name, acked ?? { createdSeq: row.createdSeq, epoch: row.epoch, seq: base.seq });
        continue;
      }
      try {
        const snaps = store.snapshots(row.name);
        let si = 0;
        // start from the newest state that checks out (row checksum, file CRC, digest), else replay
        // from row 1; with a base the rows before it are gone, so one at or after it must check out
        const fallbacks: { name: string; seq: number; error: string }[] = [];
        const start = this.startState(row.name, base, snaps, registry.limits, fallbacks);
        report.stateFallbacks.push(...fallbacks);
        if (start !== null) {
          sim = start.sim;
          seq = start.seq;
          crc = start.crc;
          si = snaps.findIndex((x) => x.seq > seq);
          if (si < 0) si = snaps.length;
          report.snapshotsVerified++;
          report.statesLoaded++;
        } else if (base !== undefined)
          problem = {
            name: row.name,
            seq: null,
            lastGoodSeq: base.seq,
            reason: `its journal rows 1..${base.seq} were compacted into state files and no state at or after seq ${base.seq} checks out (${fallbacks.map((f) => f.error).join("; ")}); --recover=truncate-to-last-good cannot rebuild it`,
          };
        const check = () => {
          while (si < snaps.length && snaps[si].seq <= seq) {
            const sn = snaps[si];
            if (sn.seq === seq) {
              if (
                snapshotCrc(
                  row.name,
                  sn.seq,
                  sn.commandCount,
                  sn.digest,
                  sn.file,
                  sn.fileCrc,
                  sn.chainCrc,
                ) !== sn.crc
              )
                report.snapshotMismatches.push({ name: row.name, seq });
              else if (stateDigest(sim) === sn.digest) report.snapshotsVerified++;
              else report.snapshotMismatches.push({ name: row.name, seq });
            }
            si++;
          }
        };
        if (problem === null) check();
        read: for (; problem === null; ) {
          const chunk = store.journal(row.name, seq, RESTORE_CHUNK);
          for (const [s, json, rowCrc] of chunk) {
            if (s !== seq + 1) {
              problem = {
                name: row.name,
                seq: seq + 1,
                lastGoodSeq: seq,
                reason: `journal gap: row ${seq + 1} is missing (the next row is ${s})`,
              };
              break read;
            }
            const c = commandCrc(crc, s, json);
            if (c !== rowCrc) {
              problem = {
                name: row.name,
                seq: s,
                lastGoodSeq: seq,
                reason: `journal row ${s} fails its checksum`,
              };
              break read;
            }
            // a historic refusal counts as applied, as Registry.execute counts it (export compares)
            replayCommand(
              (cmd) => sim.execute(cmd),
              JSON.parse(json) as Command,
              () => sim.commandCount++,
            );
            seq = s;
            crc = c;
            report.replayedCommandCount++;
            if (si < snaps.length && snaps[si].seq <= seq) check();
          }
          if (chunk.length < RESTORE_CHUNK) break;
        }
      } catch (err) {
        if (isSqliteCorruption(err))
          problem = {
            name: row.name,
            seq: seq + 1,
            lastGoodSeq: seq,
            reason: `row ${seq + 1} cannot be read: ${errorText(err)}`,
          };
        else {
          report.failed.push({ name: row.name, seq: seq + 1, error: errorText(err) });
          continue;
        }
      }
      if (problem === null && acked !== undefined) {
        if (acked.createdSeq > row.createdSeq)
          problem = {
            name: row.name,
            seq: null,
            lastGoodSeq: seq,
            reason: `the file holds an older instance of this name (created #${row.createdSeq}) than the one acknowledged (created #${acked.createdSeq})`,
          };
        else if (acked.createdSeq === row.createdSeq && acked.epoch > row.epoch)
          problem = {
            name: row.name,
            seq: 1,
            lastGoodSeq: seq,
            reason: `a reset was acknowledged (generation ${acked.epoch}) that the file does not hold (generation ${row.epoch})`,
          };
        else if (acked.createdSeq === row.createdSeq && acked.epoch === row.epoch && acked.seq > seq)
          problem = {
            name: row.name,
            seq: seq + 1,
            lastGoodSeq: seq,
            reason: `journal rows ${seq + 1}..${acked.seq} were acknowledged but are missing`,
          };
      }
      if (problem !== null) {
        problems.push(problem);
        if (this.recover !== "truncate-to-last-good" || problem.seq === null) {
          skipped.set(row.name, acked ?? { createdSeq: row.createdSeq, epoch: row.epoch, seq });
          continue;
        }
        report.truncated.push({ name: row.name, keptSeq: seq, droppedRows: 0, reason: problem.reason });
      }
      const lastSnap =
        store
          .snapshots(row.name)
          .filter((x) => x.seq <= seq)
          .at(-1)?.seq ?? 0;
      loads.push({
        row,
        sim,
        config,
        track: {
          seq,
          snapSeq: lastSnap,
          createdSeq: row.createdSeq,
          epoch: row.epoch,
          crc,
          baseSeq: base?.seq ?? 0,
        },
      });
    }
    if (marker !== null) {
      const inFile = new Set(rows.map((r) => r.name));
      for (const [name, a] of marker) {
        if (inFile.has(name) || store.deleted(name, a.createdSeq)) continue;
        problems.push({
          name,
          seq: 1,
          lastGoodSeq: 0,
          reason: `acknowledged with ${a.seq} journal rows but missing from the data file`,
        });
        skipped.set(name, a);
      }
    }
    if (problems.length > 0 && this.recover === "refuse") throw new IntegrityError(store.file, problems);

    // from here on the file and the registry change
    for (const t of report.truncated) t.droppedRows = store.truncate(t.name, t.keptSeq);
    for (const [name] of skipped) {
      const p = problems.find((x) => x.name === name);
      report.failed.push({
        name,
        seq: p?.seq ?? null,
        error: `integrity: ${p?.reason ?? "skipped"} (kept by --recover=${this.recover})`,
      });
      this.kept.set(name, p?.reason ?? "skipped");
      registry.kept.set(name, p?.reason ?? "skipped");
    }
    for (const { row, sim, config, track } of loads) {
      const entry = registry.create(row.name, config, { silent: true });
      entry.instance = sim;
      this.tracks.set(row.name, track);
      taken.add(row.name);
      report.instanceCount++;
      report.commandCount += track.seq;
    }
    this.marker = new AckMarker(this.dataDir, this.onError);
    this.marker.seed(skipped);
    for (const [name, t] of this.tracks)
      this.marker.set(name, { createdSeq: t.createdSeq, epoch: t.epoch, seq: t.seq });
    // instances the file holds that were not loaded (a taken name, a replay failure) keep the marker's word on them
    if (marker !== null)
      for (const f of report.failed) {
        const a = marker.get(f.name);
        if (a !== undefined && !this.tracks.has(f.name) && !skipped.has(f.name))
          this.marker.seed(new Map([[f.name, a]]));
      }
    this.marker.writeSync();
    report.ms = performance.now() - t0;
    return report;
  }

  /**
   * The newest state `name` can start from: among its snapshots' state files at or after its base
   * (and the base's own file, whose snapshot row may already be pruned), newest first, the first
   * whose row checksum, file CRC and digest check out; each one that does not is added to
   * `fallbacks` naming the file. null: none (then restore replays from row 1, or, with a base,
   * whose rows are gone, the instance cannot be restored).
   */
  private startState(
    name: string,
    base: BaseRow | undefined,
    snaps: readonly SnapshotRow[],
    limits: Registry["limits"],
    fallbacks: { name: string; seq: number; error: string }[],
  ): { sim: Simulation; seq: number; crc: number } | null {
    if (this.dataDir === null) return null;
    const from = base?.seq ?? 0;
    const candidates: { row: Omit<SnapshotRow, "file"> & { file: string }; rowOk: boolean }[] = [];
    for (const sn of snaps)
      if (sn.file !== null && sn.seq >= from)
        candidates.push({
          row: { ...sn, file: sn.file },
          rowOk:
            snapshotCrc(name, sn.seq, sn.commandCount, sn.digest, sn.file, sn.fileCrc, sn.chainCrc) ===
            sn.crc,
        });
    if (base !== undefined && !candidates.some((c) => c.row.seq === base.seq && c.row.file === base.file))
      candidates.push({ row: base, rowOk: baseCrc(name, base) === base.crc });
    candidates.sort((a, b) => b.row.seq - a.row.seq);
    for (const { row: sn, rowOk } of candidates) {
      try {
        if (!rowOk) throw new Error(`${sn.file}: its snapshot row fails its checksum`);
        const sim = this.verifyState(sn.file, sn.fileCrc, sn.digest, limits);
        return { sim, seq: sn.seq, crc: sn.chainCrc };
      } catch (err) {
        fallbacks.push({ name, seq: sn.seq, error: errorText(err) });
      }
    }
    return null;
  }

  /**
   * Reads the state file `rel` back whole: its CRC-32 must be `fileCrc` and the restored state's
   * digest `digest`. Returns the restored simulation; remembers the file as verified.
   */
  private verifyState(rel: string, fileCrc: number, digest: string, limits: Registry["limits"]): Simulation {
    const { graph, crc } = readStateFile(join(this.dataDir as string, rel));
    if (crc !== fileCrc) throw new Error(`${rel}: CRC-32 differs from the snapshot row's`);
    const sim = restoreUnder(graph, limits);
    if (stateDigest(sim) !== digest)
      throw new Error(`${rel}: the state's digest differs from the snapshot row's`);
    this.verifiedFiles.add(rel);
    return sim;
  }

  /**
   * Compaction (after the commit of a snapshot of `name`): the oldest kept snapshot with a state
   * file becomes the journal's base and the rows up to it are deleted, in one transaction, then
   * their pages given back (store.apply). Only a state this process read back whole (written and
   * verified, or loaded at restore; else it is verified now) is made a base, so the rows it
   * replaces are never deleted on the word of an unread file. A failure leaves the rows (retried
   * after the next snapshot).
   */
  private compactJournal(name: string): void {
    const store = this.store;
    const t = this.tracks.get(name);
    if (store === null || t === undefined || this.registry === null) return;
    const oldest = store.snapshots(name).find((x) => x.file !== null);
    if (oldest === undefined || oldest.file === null || oldest.seq <= t.baseSeq) return;
    try {
      if (
        snapshotCrc(
          name,
          oldest.seq,
          oldest.commandCount,
          oldest.digest,
          oldest.file,
          oldest.fileCrc,
          oldest.chainCrc,
        ) !== oldest.crc
      )
        throw new Error(`${oldest.file}: its snapshot row fails its checksum; not compacted`);
      if (!this.verifiedFiles.has(oldest.file))
        this.verifyState(oldest.file, oldest.fileCrc, oldest.digest, this.registry.limits);
      store.apply([
        {
          t: "base",
          name,
          seq: oldest.seq,
          commandCount: oldest.commandCount,
          digest: oldest.digest,
          file: oldest.file,
          fileCrc: oldest.fileCrc,
          chainCrc: oldest.chainCrc,
        },
      ]);
      t.baseSeq = oldest.seq;
    } catch (err) {
      this.onError(err);
    }
  }

  /** Instances not loaded because their rows failed the integrity check (`--recover=skip`): name → reason. */
  keptInstances(): ReadonlyMap<string, string> {
    return this.kept;
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
          t.crc = commandCrc(t.crc, t.seq, json);
          this.pending.push({ t: "command", name: e.name, seq: t.seq, command: json, crc: t.crc });
          this.dirty.add(e.name);
        }
        break;
      }
      case "created": {
        const createdSeq = this.nextCreatedSeq++;
        this.tracks.set(e.name, {
          seq: 0,
          snapSeq: 0,
          createdSeq,
          epoch: 0,
          crc: chainSeed(e.name, 0),
          baseSeq: 0,
        });
        if (this.memLog !== null) this.memLog.begin(e.name);
        else
          this.pending.push({
            t: "create",
            name: e.name,
            config: JSON.stringify(resolveConfig(e.config)),
            createdSeq,
          });
        break;
      }
      case "reset": {
        const t = this.tracks.get(e.name);
        if (t === undefined) break;
        const epoch = t.epoch + 1;
        this.tracks.set(e.name, {
          seq: 0,
          snapSeq: 0,
          createdSeq: t.createdSeq,
          epoch,
          crc: chainSeed(e.name, epoch),
          baseSeq: 0,
        });
        if (this.memLog !== null) this.memLog.begin(e.name);
        else this.pending.push({ t: "reset", name: e.name, epoch });
        break;
      }
      case "deleted":
        this.kept.delete(e.name);
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
   * Throws 507 INSUFFICIENT_STORAGE when the commit fails (disk full, I/O error), after rolling
   * the uncommitted commands back in memory. A no-op with dataDir `none` or nothing queued.
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
      // Nothing of `ops` is on disk (one transaction). The registry already applied them, so they
      // are rolled back: every instance they touched is rebuilt from its durable rows, and the
      // requests waiting for them answer 507 INSUFFICIENT_STORAGE. Nothing stays queued, so the
      // queue is bounded by one turn's writes, and the next commit tries the disk again.
      const refused = new EngineError(
        "INSUFFICIENT_STORAGE",
        `the journal could not be written (${err instanceof Error ? err.message : String(err)}); the command was not applied`,
        { cause: (err as { code?: string })?.code ?? null },
      );
      this.counters.rolledBackOpCount += ops.length;
      try {
        this.rollback(ops);
      } catch (rbErr) {
        this.onError(rbErr);
      }
      this.settle(refused);
      throw refused;
    }
    this.counters.commitCount++;
    this.settle(null);
    // the answers are released above: compaction is housekeeping of rows already durable
    if (this.compact && this.saveState)
      for (const op of ops) if (op.t === "snapshot" && op.file !== null) this.compactJournal(op.name);
    const stale = new Set(this.pruneState);
    for (const op of ops) if (op.t === "reset" || op.t === "delete" || op.t === "create") stale.add(op.name);
    this.pruneState.clear();
    if (stale.size > 0) this.removeStaleStateFiles(stale);
    if (this.marker !== null) {
      for (const op of ops) {
        if (op.t === "delete") this.marker.remove(op.name);
        else {
          const t = this.tracks.get(op.name);
          if (t !== undefined)
            this.marker.set(op.name, { createdSeq: t.createdSeq, epoch: t.epoch, seq: t.seq });
        }
      }
      this.marker.schedule();
    }
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
      // between two parts of a long command (Simulation.begin) the state holds part of a command
      // the journal does not hold yet: no snapshot now; the command's own row makes it due again
      if (sim.commandInProgress) continue;
      // the state itself, so that restore starts here instead of at the journal's first row
      let file: string | null = null;
      let fileCrc = 0;
      const digest = stateDigest(sim);
      if (this.stateDir !== null && this.saveState) {
        const rel = `${STATE_DIR}/${name}.${t.createdSeq}.${t.epoch}.${t.seq}.state`;
        try {
          mkdirSync(this.stateDir, { recursive: true });
          fileCrc = writeStateFile(join(this.dataDir as string, rel), captureState(sim)).crc;
          file = rel;
          // compaction deletes the rows this state replaces: read it back whole before it may
          if (this.compact) this.verifyState(rel, fileCrc, digest, this.registry.limits);
        } catch (err) {
          // the digest snapshot still goes in; restore replays from an older state or the start
          this.onError(err);
          if (file !== null) {
            try {
              unlinkSync(join(this.dataDir as string, file));
            } catch {
              // removed with the other stale files of the instance later
            }
            file = null;
            fileCrc = 0;
          }
        }
      }
      this.pending.push({
        t: "snapshot",
        name,
        seq: t.seq,
        commandCount: sim.commandCount,
        digest,
        takenAtMs: this.now(),
        file,
        fileCrc,
        chainCrc: t.crc,
      });
      this.pruneState.add(name);
      t.snapSeq = t.seq;
      this.counters.snapshotCount++;
      this.dirty.delete(name);
    }
  }

  /**
   * Removes the state files of `name` that no snapshot row names any more (pruned, or of an
   * earlier creation or reset generation). After a commit, so a file is never removed before the
   * rows that replace it are durable.
   */
  private removeStaleStateFiles(names: Iterable<string>): void {
    if (this.store === null || this.stateDir === null) return;
    let files: string[];
    try {
      files = readdirSync(this.stateDir);
    } catch {
      return;
    }
    for (const name of names) {
      const keep = new Set(
        this.store
          .snapshots(name)
          .map((r) => r.file)
          .filter((f): f is string => f !== null),
      );
      const base = this.store.base(name);
      if (base !== undefined) keep.add(base.file);
      for (const f of files) {
        if (!f.startsWith(`${name}.`) || keep.has(`${STATE_DIR}/${f}`)) continue;
        // names are [a-z][a-z0-9-]*: "a.1.0.5.state" is a's, never "a-b"'s
        if (f.split(".").length !== 5) continue;
        try {
          unlinkSync(join(this.stateDir, f));
          this.verifiedFiles.delete(`${STATE_DIR}/${f}`);
        } catch (err) {
          this.onError(err);
        }
      }
    }
  }

  /** Resolves once no acknowledgement-marker write is in flight (tests, and a shutdown that wants it written). */
  async settled(): Promise<void> {
    await this.marker?.settled();
  }

  /** A PRAGMA of the data file (diagnostics and tests: page_count, freelist_count, ...); null without one. */
  pragma(name: string): unknown {
    return this.store?.pragma(name) ?? null;
  }

  /** Changes the bound on the data file's size (bytes; 0 = unbounded), e.g. after space was freed. */
  setMaxDataBytes(bytes: number): void {
    this.store?.setMaxBytes(bytes);
  }

  /** Puts back the durable state of every instance `ops` touched (see flush). */
  private rollback(ops: readonly JournalOp[]): void {
    const store = this.store;
    const registry = this.registry;
    if (store === null || registry === null) return;
    for (const name of new Set(ops.map((o) => o.name))) {
      this.dirty.delete(name);
      const row = store.instance(name);
      if (row === undefined) {
        registry.replaceSilently(name, undefined, null);
        this.tracks.delete(name);
        continue;
      }
      const config = JSON.parse(row.config) as InstanceConfigInput;
      // from the newest durable state (the base's rows are gone), then the durable rows after it
      const base = store.base(name);
      const fallbacks: { name: string; seq: number; error: string }[] = [];
      const start = this.startState(name, base, store.snapshots(name), registry.limits, fallbacks);
      if (start === null && base !== undefined)
        throw new Error(
          `instance ${name} cannot be rolled back: no state at or after its base (seq ${base.seq}) checks out (${fallbacks.map((f) => f.error).join("; ")})`,
        );
      const sim = start?.sim ?? new Simulation(config, registry.limits);
      let seq = start?.seq ?? 0;
      let crc = start?.crc ?? chainSeed(name, row.epoch);
      for (;;) {
        const chunk = store.journal(name, seq, RESTORE_CHUNK);
        for (const [s, json, c] of chunk) {
          replayCommand(
            (cmd) => sim.execute(cmd),
            JSON.parse(json) as Command,
            () => sim.commandCount++,
          );
          seq = s;
          crc = c;
        }
        if (chunk.length < RESTORE_CHUNK) break;
      }
      const existing = registry.list().find((e) => e.name === name);
      registry.replaceSilently(name, existing?.configInput ?? config, sim);
      const snapSeq =
        store
          .snapshots(name)
          .filter((x) => x.seq <= seq)
          .at(-1)?.seq ?? 0;
      this.tracks.set(name, {
        seq,
        snapSeq,
        createdSeq: row.createdSeq,
        epoch: row.epoch,
        crc,
        baseSeq: base?.seq ?? 0,
      });
    }
  }

  /** Snapshots every instance with commands since its last snapshot, then flushes (clean shutdown). */
  snapshot(): void {
    if (this.store === null) return;
    this.queueSnapshots(true);
    this.flush();
  }

  /** The accepted commands of `name` after its base (CommandSource; all since its creation or last reset without one). */
  commands(name: string): Command[] | undefined {
    return this.history(name)?.commands.map((t) => JSON.parse(t) as Command);
  }

  /** The base of `name`'s journal (rows before it compacted away, or an imported state), for tests and diagnostics. */
  baseOf(name: string): { seq: number; commandCount: number; file: string } | undefined {
    if (this.store === null) return undefined;
    const b = this.store.base(name);
    return b === undefined ? undefined : { seq: b.seq, commandCount: b.commandCount, file: b.file };
  }

  /**
   * What export writes (CommandSource): the journal's base, its state file's bytes (CRC-checked)
   * and the rows after it, each checked against the checksum chain continued from the base — the
   * rows before the newest state are not read at restart, so they are checked here. A damaged row
   * or base state is EIO naming it (the running instance is not affected).
   */
  history(name: string): History | undefined {
    if (this.memLog !== null) return this.memLog.history(name);
    if (!this.tracks.has(name) || this.store === null) return undefined;
    this.flush();
    const t = this.tracks.get(name) as Track;
    const b = this.store.base(name);
    let crc = b?.chainCrc ?? chainSeed(name, t.epoch);
    let seq = b?.seq ?? 0;
    const commands: string[] = [];
    for (;;) {
      const chunk = this.store.journal(name, seq, RESTORE_CHUNK);
      for (const [s, json, c] of chunk) {
        crc = commandCrc(crc, s, json);
        if (s !== seq + 1 || crc !== c)
          fail(
            "EIO",
            `the journal of instance ${name} fails its integrity check at row ${seq + 1}: it cannot be exported (the running instance is not affected)`,
            { name, seq: seq + 1 },
          );
        seq = s;
        commands.push(json);
      }
      if (chunk.length < RESTORE_CHUNK) break;
    }
    let base: ExportBase | null = null;
    if (b !== undefined) {
      try {
        if (baseCrc(name, b) !== b.crc) throw new Error("its base row fails its checksum");
        const state = readFileSync(join(this.dataDir as string, b.file));
        if (checkStateBytes(state, b.file) !== b.fileCrc)
          throw new Error(`${b.file}: CRC-32 differs from the base row's`);
        base = { commandCount: b.commandCount, digest: b.digest, state };
      } catch (err) {
        fail(
          "EIO",
          `the base state of instance ${name} cannot be read (${err instanceof Error ? err.message : String(err)}): it cannot be exported (the running instance is not affected)`,
          { name, seq: b.seq },
        );
      }
    }
    return { base, commands };
  }

  /**
   * Import of an export of version 2 (export.ts): the new instance `name` (just created from the
   * verified state `base` holds, its "created" op queued) starts from that state. Its state is written
   * as a state file and recorded as the journal's base at seq = base.commandCount (so seq and
   * commandCount stay equal, as export checks) in the same commit as the instance; the commands
   * that follow journal as usual. Without a data directory the in-memory log keeps the base.
   */
  adoptBase(name: string, base: ExportBase): void {
    const t = this.tracks.get(name);
    if (t === undefined) throw new Error(`instance ${name} is not journaled`);
    if (this.memLog !== null) {
      this.memLog.setBase(name, base);
      return;
    }
    const rel = `${STATE_DIR}/${name}.${t.createdSeq}.${t.epoch}.${base.commandCount}.state`;
    mkdirSync(this.stateDir as string, { recursive: true });
    writeStateBytes(join(this.dataDir as string, rel), base.state);
    const fileCrc = checkStateBytes(base.state, rel);
    const crc = chainSeed(name, t.epoch);
    t.seq = base.commandCount;
    t.snapSeq = base.commandCount;
    t.baseSeq = base.commandCount;
    t.crc = crc;
    const fields = {
      seq: base.commandCount,
      commandCount: base.commandCount,
      digest: base.digest,
      file: rel,
      fileCrc,
      chainCrc: crc,
    };
    this.pending.push({ t: "snapshot", name, ...fields, takenAtMs: this.now() });
    this.pending.push({ t: "base", name, ...fields });
    this.verifiedFiles.add(rel);
  }

  /** `GET /v1/instances/{name}/export` (see export.ts). */
  exportInstance(registry: Registry, name: string): ExportDoc {
    return exportInstance(registry, this, name);
  }

  /** The export checked and read whole (export.ts prepareExport); the transports send exportChunks of it. */
  exportPlan(registry: Registry, name: string): ExportPlan {
    return prepareExport(registry, this, name);
  }

  /** `POST /v1/instances/import` (see export.ts); journaled as an ordinary create (version 2: and its base) + commands. */
  importInstance(registry: Registry, doc: unknown, opts: ImportOptions = {}): Entry {
    return importInstance(registry, doc, { ...opts, baseSink: this });
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
    this.marker?.close();
    this.store?.close();
  }
}

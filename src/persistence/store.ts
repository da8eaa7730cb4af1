import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

/** One journal write, in the order the registry announced it (see Persistence). */
export type JournalOp =
  | { t: "create"; name: string; config: string; createdSeq: number }
  | { t: "command"; name: string; seq: number; command: string }
  | { t: "reset"; name: string }
  | { t: "delete"; name: string }
  | { t: "snapshot"; name: string; seq: number; commandCount: number; digest: string; takenAtMs: number };

export interface InstanceRow {
  name: string;
  config: string;
  createdSeq: number;
}

export interface SnapshotRow {
  seq: number;
  commandCount: number;
  digest: string;
}

export type Synchronous = "NORMAL" | "FULL";

export const SCHEMA_VERSION = 1;
export const DB_FILE = "memcg-sim.db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (
  name TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  created_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
  instance TEXT NOT NULL,
  seq INTEGER NOT NULL,
  command TEXT NOT NULL,
  PRIMARY KEY (instance, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  instance TEXT NOT NULL,
  seq INTEGER NOT NULL,
  command_count INTEGER NOT NULL,
  digest TEXT NOT NULL,
  taken_at_ms INTEGER NOT NULL,
  PRIMARY KEY (instance, seq)
) WITHOUT ROWID;
`;

/**
 * The SQLite file of a data directory: instances (name, resolved config, creation order), the
 * journal of accepted commands per instance (seq 1, 2, ... since creation or the last reset, each
 * command as the JSON of the command language, docs/API.md §6) and state snapshots (a digest of the
 * state after `seq` commands, which restore uses to check that replay reproduces it).
 *
 * WAL mode; `locking_mode=EXCLUSIVE` so a second server pointed at the same directory fails at
 * open instead of interleaving its journal with ours (the lock dies with the process, so a
 * SIGKILLed server does not block its successor).
 */
export class JournalStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly applyTx: (ops: readonly JournalOp[]) => void;
  private readonly st: Record<
    | "insertCommand"
    | "upsertInstance"
    | "deleteInstance"
    | "deleteJournal"
    | "deleteSnapshots"
    | "insertSnapshot"
    | "pruneSnapshots"
    | "instances"
    | "journal"
    | "snapshots"
    | "journalCount"
    | "maxCreatedSeq",
    Database.Statement
  >;

  constructor(
    dir: string,
    opts: { synchronous?: Synchronous; keepSnapshots?: number; busyTimeoutMs?: number } = {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, DB_FILE);
    // a second server on this directory waits this long for our exclusive lock, then fails
    this.db = new Database(this.file, { timeout: opts.busyTimeoutMs ?? 2000 });
    try {
      this.db.pragma("locking_mode = EXCLUSIVE");
      this.db.pragma("journal_mode = WAL");
      this.db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
      this.db.exec(SCHEMA);
      const v = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as
        | string
        | undefined;
      if (v !== undefined && Number(v) !== SCHEMA_VERSION)
        throw new Error(`${this.file}: schema version ${v}, this server reads version ${SCHEMA_VERSION}`);
      // a write takes the exclusive lock now, so a second server fails here rather than later
      this.db
        .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)")
        .run(String(SCHEMA_VERSION));
    } catch (err) {
      this.db.close();
      throw err;
    }
    const keep = opts.keepSnapshots ?? 4;
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      insertCommand: p("INSERT INTO journal (instance, seq, command) VALUES (?, ?, ?)"),
      upsertInstance: p("INSERT OR REPLACE INTO instances (name, config, created_seq) VALUES (?, ?, ?)"),
      deleteInstance: p("DELETE FROM instances WHERE name = ?"),
      deleteJournal: p("DELETE FROM journal WHERE instance = ?"),
      deleteSnapshots: p("DELETE FROM snapshots WHERE instance = ?"),
      insertSnapshot: p(
        "INSERT OR REPLACE INTO snapshots (instance, seq, command_count, digest, taken_at_ms) VALUES (?, ?, ?, ?, ?)",
      ),
      pruneSnapshots: p(
        `DELETE FROM snapshots WHERE instance = @name AND seq NOT IN
           (SELECT seq FROM snapshots WHERE instance = @name ORDER BY seq DESC LIMIT ${Math.max(1, keep)})`,
      ),
      instances: p("SELECT name, config, created_seq AS createdSeq FROM instances ORDER BY created_seq"),
      journal: p(
        "SELECT seq, command FROM journal WHERE instance = ? AND seq > ? ORDER BY seq LIMIT ?",
      ).raw(),
      snapshots: p(
        "SELECT seq, command_count AS commandCount, digest FROM snapshots WHERE instance = ? ORDER BY seq",
      ),
      journalCount: p("SELECT count(*) FROM journal WHERE instance = ?").pluck(),
      maxCreatedSeq: p("SELECT coalesce(max(created_seq), 0) FROM instances").pluck(),
    };
    const st = this.st;
    this.applyTx = this.db.transaction((ops: readonly JournalOp[]) => {
      for (const op of ops) {
        switch (op.t) {
          case "command":
            st.insertCommand.run(op.name, op.seq, op.command);
            break;
          case "create":
            // a name may be reused after a delete: nothing of the old instance survives
            st.deleteJournal.run(op.name);
            st.deleteSnapshots.run(op.name);
            st.upsertInstance.run(op.name, op.config, op.createdSeq);
            break;
          case "reset":
            st.deleteJournal.run(op.name);
            st.deleteSnapshots.run(op.name);
            break;
          case "delete":
            st.deleteJournal.run(op.name);
            st.deleteSnapshots.run(op.name);
            st.deleteInstance.run(op.name);
            break;
          case "snapshot":
            st.insertSnapshot.run(op.name, op.seq, op.commandCount, op.digest, op.takenAtMs);
            st.pruneSnapshots.run({ name: op.name });
            break;
        }
      }
    });
  }

  /** Applies `ops` in one transaction: all of them become durable at its COMMIT, or none. */
  apply(ops: readonly JournalOp[]): void {
    this.applyTx(ops);
  }

  instances(): InstanceRow[] {
    return this.st.instances.all() as InstanceRow[];
  }

  /** Up to `limit` journal rows of `name` after `afterSeq`, as [seq, commandJson], in seq order (one bulk read). */
  journal(name: string, afterSeq: number, limit: number): [number, string][] {
    return this.st.journal.all(name, afterSeq, limit) as [number, string][];
  }

  journalCount(name: string): number {
    return this.st.journalCount.get(name) as number;
  }

  snapshots(name: string): SnapshotRow[] {
    return this.st.snapshots.all(name) as SnapshotRow[];
  }

  maxCreatedSeq(): number {
    return this.st.maxCreatedSeq.get() as number;
  }

  pragma(name: string): unknown {
    return this.db.pragma(name, { simple: true });
  }

  /** Checkpoints the WAL into the main file and closes (clean shutdown). */
  close(): void {
    if (!this.db.open) return;
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.close();
  }
}

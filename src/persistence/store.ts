import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import Database from "better-sqlite3";

/** One journal write, in the order the registry announced it (see Persistence). */
export type JournalOp =
  | { t: "create"; name: string; config: string; createdSeq: number }
  | { t: "command"; name: string; seq: number; command: string; crc: number }
  | { t: "reset"; name: string; epoch: number }
  | { t: "delete"; name: string }
  | {
      t: "snapshot";
      name: string;
      seq: number;
      commandCount: number;
      digest: string;
      takenAtMs: number;
      /** The state file (state-file.ts, name relative to the data directory), or null: digest only. */
      file: string | null;
      fileCrc: number;
      /** The journal's checksum chain after row `seq` (restore continues the chain from here). */
      chainCrc: number;
    }
  | ({ t: "base"; name: string } & BaseFields);

/**
 * The base of an instance's journal (compaction, docs/RELIABILITY.md): the rows up to `seq` were
 * deleted, and the state after them is in `file` (a state file, state-file.ts) whose digest is
 * `digest`; the rows after `seq` continue the checksum chain from `chainCrc`. An imported export
 * of version 2 starts its instance from such a base too (no rows before it ever existed here).
 */
export interface BaseFields {
  seq: number;
  commandCount: number;
  digest: string;
  file: string;
  fileCrc: number;
  chainCrc: number;
}

export interface BaseRow extends BaseFields {
  crc: number;
}

export function baseCrc(name: string, b: BaseFields): number {
  return crc32(
    `base\0${name}\0${b.seq}\0${b.commandCount}\0${b.digest}\0${b.file}\0${b.fileCrc}\0${b.chainCrc}`,
  );
}

export interface InstanceRow {
  name: string;
  config: string;
  createdSeq: number;
  /** Resets since creation: each reset starts a new journal (seq 1, 2, ...) and a new checksum chain. */
  epoch: number;
  /** rowCrc(name, config, createdSeq, epoch). */
  crc: number;
}

/**
 * The checksums of the data file (schema 2). A journal row's crc chains the row to the one before
 * it: crc(seq n) = crc32("n\0" + command, crc(seq n − 1)), starting from chainSeed(name, epoch). A
 * flipped byte, a row moved between instances or epochs, or a row replaced by another valid
 * command all break the chain at that row; a gap breaks the seq order; a missing tail is caught
 * by the acknowledgement marker (ack-marker.ts).
 */
export function chainSeed(name: string, epoch: number): number {
  return crc32(`${name}\0${epoch}`);
}

export function commandCrc(prev: number, seq: number, command: string): number {
  return crc32(`${seq}\0${command}`, prev);
}

export function instanceCrc(name: string, config: string, createdSeq: number, epoch: number): number {
  return crc32(`${name}\0${config}\0${createdSeq}\0${epoch}`);
}

export function snapshotCrc(
  name: string,
  seq: number,
  commandCount: number,
  digest: string,
  file: string | null = null,
  fileCrc = 0,
  chainCrc = 0,
): number {
  return crc32(`${name}\0${seq}\0${commandCount}\0${digest}\0${file ?? ""}\0${fileCrc}\0${chainCrc}`);
}

export interface SnapshotRow {
  seq: number;
  commandCount: number;
  digest: string;
  file: string | null;
  fileCrc: number;
  chainCrc: number;
  crc: number;
}

export type Synchronous = "NORMAL" | "FULL";

/** 3: the `bases` table (compaction); a server of schema 2 would read a compacted journal as one with its first rows missing. */
export const SCHEMA_VERSION = 3;
export const DB_FILE = "memcg-sim.db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (
  name TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  created_seq INTEGER NOT NULL,
  epoch INTEGER NOT NULL DEFAULT 0,
  crc INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS journal (
  instance TEXT NOT NULL,
  seq INTEGER NOT NULL,
  command TEXT NOT NULL,
  crc INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (instance, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones (
  name TEXT NOT NULL,
  created_seq INTEGER NOT NULL,
  PRIMARY KEY (name, created_seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  instance TEXT NOT NULL,
  seq INTEGER NOT NULL,
  command_count INTEGER NOT NULL,
  digest TEXT NOT NULL,
  taken_at_ms INTEGER NOT NULL,
  file TEXT,
  file_crc INTEGER NOT NULL DEFAULT 0,
  chain_crc INTEGER NOT NULL DEFAULT 0,
  crc INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (instance, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bases (
  instance TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  command_count INTEGER NOT NULL,
  digest TEXT NOT NULL,
  file TEXT NOT NULL,
  file_crc INTEGER NOT NULL,
  chain_crc INTEGER NOT NULL,
  crc INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Schema 1 (no checksums, no epochs) → 2: the columns are added and every checksum computed from the rows as they are. */
function migrate1to2(db: Database.Database): void {
  db.exec(`
    ALTER TABLE instances ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN crc INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE journal ADD COLUMN crc INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE snapshots ADD COLUMN file TEXT;
    ALTER TABLE snapshots ADD COLUMN file_crc INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE snapshots ADD COLUMN chain_crc INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE snapshots ADD COLUMN crc INTEGER NOT NULL DEFAULT 0;
  `);
  const inst = db.prepare("SELECT name, config, created_seq AS createdSeq FROM instances").all() as {
    name: string;
    config: string;
    createdSeq: number;
  }[];
  const setInst = db.prepare("UPDATE instances SET crc = ? WHERE name = ?");
  const rows = db.prepare("SELECT seq, command FROM journal WHERE instance = ? ORDER BY seq").raw();
  const setRow = db.prepare("UPDATE journal SET crc = ? WHERE instance = ? AND seq = ?");
  const snaps = db
    .prepare("SELECT instance, seq, command_count AS commandCount, digest FROM snapshots")
    .all() as { instance: string; seq: number; commandCount: number; digest: string }[];
  const setSnap = db.prepare("UPDATE snapshots SET crc = ? WHERE instance = ? AND seq = ?");
  for (const r of inst) {
    setInst.run(instanceCrc(r.name, r.config, r.createdSeq, 0), r.name);
    let crc = chainSeed(r.name, 0);
    for (const [seq, command] of rows.all(r.name) as [number, string][]) {
      crc = commandCrc(crc, seq, command);
      setRow.run(crc, r.name, seq);
    }
  }
  for (const s of snaps)
    setSnap.run(snapshotCrc(s.instance, s.seq, s.commandCount, s.digest), s.instance, s.seq);
}

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
  /** The schema version this file was migrated from at open, or null. */
  migratedFrom: number | null = null;
  /** The last apply() reset, deleted or compacted a journal. */
  private freed = false;
  private readonly db: Database.Database;
  private readonly applyTx: (ops: readonly JournalOp[]) => void;
  private readonly st: Record<
    | "insertCommand"
    | "upsertInstance"
    | "resetInstance"
    | "insertTombstone"
    | "tombstone"
    | "truncateJournal"
    | "deleteSnapshotsAfter"
    | "deleteInstance"
    | "deleteJournal"
    | "deleteSnapshots"
    | "insertSnapshot"
    | "pruneSnapshots"
    | "instances"
    | "instance"
    | "instanceRow"
    | "journal"
    | "snapshots"
    | "journalCount"
    | "maxCreatedSeq"
    | "base"
    | "upsertBase"
    | "deleteBase"
    | "deleteJournalThrough",
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
      // a new file reclaims the pages of reset and deleted journals (incrementalVacuum after them);
      // the mode can only be chosen before the first table exists, or by a VACUUM (after a migration)
      const fresh = this.db.prepare("SELECT count(*) FROM sqlite_master").pluck().get() === 0;
      if (fresh) this.db.pragma("auto_vacuum = INCREMENTAL");
      this.db.pragma("journal_mode = WAL");
      this.db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
      const hasMeta =
        this.db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'meta'").pluck().get() === 1;
      const v = hasMeta
        ? (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as
            | string
            | undefined)
        : undefined;
      if (v !== undefined && ![1, 2, SCHEMA_VERSION].includes(Number(v)))
        throw new Error(
          `${this.file}: schema version ${v}, this server reads versions 1 to ${SCHEMA_VERSION}`,
        );
      if (v !== undefined && Number(v) === 1) {
        this.db.transaction(() => migrate1to2(this.db))();
        this.migratedFrom = 1;
      }
      this.db.exec(SCHEMA);
      // a write takes the exclusive lock now, so a second server fails here rather than later
      this.db
        .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)")
        .run(String(SCHEMA_VERSION));
      if (this.migratedFrom !== null) {
        this.db.pragma("auto_vacuum = INCREMENTAL");
        this.db.exec("VACUUM");
      }
    } catch (err) {
      this.db.close();
      throw err;
    }
    const keep = opts.keepSnapshots ?? 4;
    const p = (sql: string) => {
      try {
        return this.db.prepare(sql);
      } catch (err) {
        // a damaged schema page (SQLITE_CORRUPT) fails here: release the file for the operator's next try
        this.db.close();
        throw err;
      }
    };
    this.st = {
      insertCommand: p("INSERT INTO journal (instance, seq, command, crc) VALUES (?, ?, ?, ?)"),
      upsertInstance: p(
        "INSERT OR REPLACE INTO instances (name, config, created_seq, epoch, crc) VALUES (?, ?, ?, 0, ?)",
      ),
      resetInstance: p("UPDATE instances SET epoch = @epoch, crc = @crc WHERE name = @name"),
      insertTombstone: p(
        "INSERT OR IGNORE INTO tombstones (name, created_seq) SELECT name, created_seq FROM instances WHERE name = ?",
      ),
      tombstone: p("SELECT count(*) FROM tombstones WHERE name = ? AND created_seq = ?").pluck(),
      truncateJournal: p("DELETE FROM journal WHERE instance = ? AND seq > ?"),
      deleteSnapshotsAfter: p("DELETE FROM snapshots WHERE instance = ? AND seq > ?"),
      deleteInstance: p("DELETE FROM instances WHERE name = ?"),
      deleteJournal: p("DELETE FROM journal WHERE instance = ?"),
      deleteSnapshots: p("DELETE FROM snapshots WHERE instance = ?"),
      insertSnapshot: p(
        "INSERT OR REPLACE INTO snapshots (instance, seq, command_count, digest, taken_at_ms, file, file_crc, chain_crc, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      pruneSnapshots: p(
        `DELETE FROM snapshots WHERE instance = @name AND seq NOT IN
           (SELECT seq FROM snapshots WHERE instance = @name ORDER BY seq DESC LIMIT ${Math.max(1, keep)})`,
      ),
      instances: p(
        "SELECT name, config, created_seq AS createdSeq, epoch, crc FROM instances ORDER BY created_seq",
      ),
      journal: p(
        "SELECT seq, command, crc FROM journal WHERE instance = ? AND seq > ? ORDER BY seq LIMIT ?",
      ).raw(),
      snapshots: p(
        "SELECT seq, command_count AS commandCount, digest, file, file_crc AS fileCrc, chain_crc AS chainCrc, crc FROM snapshots WHERE instance = ? ORDER BY seq",
      ),
      journalCount: p("SELECT count(*) FROM journal WHERE instance = ?").pluck(),
      instance: p("SELECT config, created_seq AS createdSeq FROM instances WHERE name = ?"),
      instanceRow: p(
        "SELECT name, config, created_seq AS createdSeq, epoch, crc FROM instances WHERE name = ?",
      ),
      maxCreatedSeq: p("SELECT coalesce(max(created_seq), 0) FROM instances").pluck(),
      base: p(
        "SELECT seq, command_count AS commandCount, digest, file, file_crc AS fileCrc, chain_crc AS chainCrc, crc FROM bases WHERE instance = ?",
      ),
      upsertBase: p(
        "INSERT OR REPLACE INTO bases (instance, seq, command_count, digest, file, file_crc, chain_crc, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      deleteBase: p("DELETE FROM bases WHERE instance = ?"),
      deleteJournalThrough: p("DELETE FROM journal WHERE instance = ? AND seq <= ?"),
    };
    const st = this.st;
    this.applyTx = this.db.transaction((ops: readonly JournalOp[]) => {
      this.freed = false;
      for (const op of ops) {
        switch (op.t) {
          case "command":
            st.insertCommand.run(op.name, op.seq, op.command, op.crc);
            break;
          case "create":
            // a name may be reused after a delete: nothing of the old instance survives
            st.insertTombstone.run(op.name);
            st.deleteJournal.run(op.name);
            st.deleteSnapshots.run(op.name);
            st.deleteBase.run(op.name);
            st.upsertInstance.run(
              op.name,
              op.config,
              op.createdSeq,
              instanceCrc(op.name, op.config, op.createdSeq, 0),
            );
            break;
          case "reset": {
            st.deleteJournal.run(op.name);
            st.deleteSnapshots.run(op.name);
            st.deleteBase.run(op.name);
            const row = st.instance.get(op.name) as { config: string; createdSeq: number } | undefined;
            if (row !== undefined)
              st.resetInstance.run({
                name: op.name,
                epoch: op.epoch,
                crc: instanceCrc(op.name, row.config, row.createdSeq, op.epoch),
              });
            this.freed = true;
            break;
          }
          case "delete":
            // the acknowledgement marker may still name it (ack-marker.ts): this explains why it is gone
            st.insertTombstone.run(op.name);
            st.deleteJournal.run(op.name);
            st.deleteSnapshots.run(op.name);
            st.deleteBase.run(op.name);
            st.deleteInstance.run(op.name);
            this.freed = true;
            break;
          case "snapshot":
            st.insertSnapshot.run(
              op.name,
              op.seq,
              op.commandCount,
              op.digest,
              op.takenAtMs,
              op.file,
              op.fileCrc,
              op.chainCrc,
              snapshotCrc(op.name, op.seq, op.commandCount, op.digest, op.file, op.fileCrc, op.chainCrc),
            );
            st.pruneSnapshots.run({ name: op.name });
            break;
          case "base":
            // the rows the base's state holds are deleted with the same commit that records it
            st.upsertBase.run(
              op.name,
              op.seq,
              op.commandCount,
              op.digest,
              op.file,
              op.fileCrc,
              op.chainCrc,
              baseCrc(op.name, op),
            );
            if (st.deleteJournalThrough.run(op.name, op.seq).changes > 0) this.freed = true;
            break;
        }
      }
    });
  }

  /** Applies `ops` in one transaction: all of them become durable at its COMMIT, or none. */
  apply(ops: readonly JournalOp[]): void {
    this.applyTx(ops);
    // a reset, delete or compaction left free pages: give them back to the file system (auto_vacuum=INCREMENTAL)
    if (this.freed) {
      try {
        this.db.pragma("incremental_vacuum");
      } catch {
        // the commit stands; the pages are given back after a later reset or delete
      }
    }
  }

  /**
   * `--recover=truncate-to-last-good`: drops `name`'s journal rows after `seq` (and the snapshots
   * past it), so the kept prefix is all its journal says.
   */
  truncate(name: string, seq: number): number {
    return this.db.transaction(() => {
      this.st.deleteSnapshotsAfter.run(name, seq);
      return this.st.truncateJournal.run(name, seq).changes;
    })();
  }

  instances(): InstanceRow[] {
    return this.st.instances.all() as InstanceRow[];
  }

  /** Up to `limit` journal rows of `name` after `afterSeq`, as [seq, commandJson, crc], in seq order (one bulk read). */
  journal(name: string, afterSeq: number, limit: number): [number, string, number][] {
    return this.st.journal.all(name, afterSeq, limit) as [number, string, number][];
  }

  /** The durable row of instance `name`, if any. */
  instance(name: string): InstanceRow | undefined {
    return this.st.instanceRow.get(name) as InstanceRow | undefined;
  }

  /**
   * Bounds the file (`PRAGMA max_page_count`): a commit that would grow it past `bytes` fails with
   * SQLITE_FULL, as on a full disk. 0 = no bound but SQLite's own.
   */
  setMaxBytes(bytes: number): void {
    const pageSize = this.db.pragma("page_size", { simple: true }) as number;
    const pages = bytes > 0 ? Math.max(1, Math.floor(bytes / pageSize)) : 4294967294;
    this.db.pragma(`max_page_count = ${pages}`);
  }

  /** The instance `name` created as `createdSeq` was deleted (or replaced by a newer one of that name). */
  deleted(name: string, createdSeq: number): boolean {
    return (this.st.tombstone.get(name, createdSeq) as number) > 0;
  }

  /** PRAGMA quick_check: "ok", or the first problems SQLite finds in the file's structure. */
  quickCheck(): string[] {
    const rows = this.db.pragma("quick_check(5)", { simple: false }) as Record<string, unknown>[];
    return rows.map((r) => String(Object.values(r)[0]));
  }

  /** The base of `name`'s journal (rows up to its seq compacted away), or undefined: the journal starts at row 1. */
  base(name: string): BaseRow | undefined {
    return this.st.base.get(name) as BaseRow | undefined;
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

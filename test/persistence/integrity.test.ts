import { closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ACK_FILE } from "../../src/persistence/ack-marker.js";
import { DB_FILE, stateDigest } from "../../src/persistence/index.js";
import type { Registry } from "../../src/registry.js";
import { server, tempDirs } from "./helpers.js";
import { randomCommands, setupCommands } from "./workload.js";

// Issue "Durable and bounded" §2: every journal row and instance row carries a checksum chained to
// the row before it, an acknowledgement marker beside the file records what was acknowledged, and
// restore verifies both. Each failure mode below used to pass as success (a silent prefix, an
// instance gone without a word); now it is a start-up error naming the instance and the seq, and
// `recover` decides.

const dir = tempDirs();

/**
 * Three instances with 600, 300 and 0 journaled commands; returns their digests. No state files
 * (saveState false), so restore reads every journal row: these tests are about the journal's checks.
 */
function populate(d: string): Map<string, string> {
  const a = server(d, { snapshotEveryCommands: 0, saveState: false });
  const sizes: [string, number][] = [
    ["big", 600],
    ["mid", 300],
    ["empty", 0],
  ];
  for (const [name, n] of sizes) {
    a.registry.create(name, { model: "v5.9" });
    if (n === 0) continue;
    const cmds = [...setupCommands(2), ...randomCommands(n - 10, name.length, 2)];
    for (let i = 0; i < cmds.length; i += 50) {
      a.registry.executeBatch(name, cmds.slice(i, i + 50), false);
      a.persistence.flush();
    }
  }
  const digests = digestsOf(a.registry);
  a.persistence.close();
  return digests;
}

function digestsOf(r: Registry): Map<string, string> {
  return new Map(r.list().map((e) => [e.name, stateDigest(e.instance)]));
}

function journalLength(d: string, name: string): number {
  const db = new Database(`${d}/${DB_FILE}`, { readonly: true });
  const n = db.prepare("SELECT count(*) FROM journal WHERE instance = ?").pluck().get(name) as number;
  db.close();
  return n;
}

/** Every row of the journal and instances tables. */
function rowsOf(d: string): unknown[] {
  const db = new Database(`${d}/${DB_FILE}`, { readonly: true });
  const rows = [
    ...db.prepare("SELECT * FROM instances ORDER BY name").all(),
    ...db.prepare("SELECT * FROM journal ORDER BY instance, seq").all(),
  ];
  db.close();
  return rows;
}

function sql(d: string, statement: string, ...args: unknown[]): void {
  const db = new Database(`${d}/${DB_FILE}`);
  db.prepare(statement).run(...args);
  db.close();
}

const FLIPS = 2;
describe("restore verifies the journal's checksums and the acknowledgement marker", () => {
  it("restores an intact file exactly, and writes the marker of what it holds", () => {
    const d = dir();
    const digests = populate(d);
    const b = server(d);
    expect(b.report.failed).toEqual([]);
    expect(b.report.instanceCount).toBe(3);
    expect(digestsOf(b.registry)).toEqual(digests);
    b.persistence.close();
    const marker = JSON.parse(readFileSync(`${d}/${ACK_FILE}`, "utf8"));
    expect(marker.instances.big.seq).toBe(journalLength(d, "big"));
    expect(marker.instances.mid.seq).toBe(journalLength(d, "mid"));
    expect(marker.instances.empty.seq).toBe(0);
  });

  it("a flipped byte in one command: refuses by default naming the instance and the seq, changing nothing", () => {
    const d = dir();
    populate(d);
    const before = readFileSync(`${d}/${DB_FILE}`);
    sql(
      d,
      "UPDATE journal SET command = replace(command, 'createCgroup', 'createCgroop') WHERE instance = 'mid' AND seq = 2",
    );
    const flipped = rowsOf(d);
    expect(readFileSync(`${d}/${DB_FILE}`).equals(before)).toBe(false);
    expect(() => server(d)).toThrow(
      /instance "mid": journal row 2 fails its checksum \(seq 1\.\.1 check out\)[\s\S]*--recover=truncate-to-last-good[\s\S]*--recover=skip/,
    );
    // nothing written: the same rows are there for the operator's choice
    expect(rowsOf(d)).toEqual(flipped);
  });

  it("with --recover=truncate-to-last-good loads the rows that check out and drops the rest", () => {
    const d = dir();
    populate(d);
    const n = journalLength(d, "big");
    sql(d, "UPDATE journal SET command = command || ' ' WHERE instance = 'big' AND seq = 400");
    const b = server(d, { recover: "truncate-to-last-good" });
    expect(b.report.truncated).toEqual([
      { name: "big", keptSeq: 399, droppedRows: n - 399, reason: "journal row 400 fails its checksum" },
    ]);
    expect(b.report.instanceCount).toBe(3);
    expect(b.registry.get("big").instance.commandCount).toBe(399);
    b.persistence.close();
    expect(journalLength(d, "big")).toBe(399);
    // the next start finds a consistent file and marker
    const c = server(d);
    expect(c.report.failed).toEqual([]);
    expect(c.registry.get("big").instance.commandCount).toBe(399);
    c.persistence.close();
  });

  it("with --recover=skip starts without the instance, keeps its rows, and refuses to create it again until deleted (compaction off after the recreate, to count its row)", () => {
    const d = dir();
    populate(d);
    const n = journalLength(d, "mid");
    sql(d, "UPDATE journal SET crc = crc + 1 WHERE instance = 'mid' AND seq = 7");
    const b = server(d, { recover: "skip" });
    expect(b.registry.list().map((e) => e.name)).toEqual(["big", "empty"]);
    expect(b.report.failed).toEqual([
      {
        name: "mid",
        seq: 7,
        error: "integrity: journal row 7 fails its checksum (kept by --recover=skip)",
      },
    ]);
    expect(() => b.registry.create("mid")).toThrow(
      /failed its integrity check at start-up and its rows are kept/,
    );
    b.persistence.close();
    expect(journalLength(d, "mid")).toBe(n);
    // still kept at the next start; an explicit delete drops the kept rows, then the name is free
    // compaction off: the shutdown snapshot would fold the recreated instance's one row into its state
    const b2 = server(d, { recover: "skip", compact: false });
    expect(b2.report.failed.map((f) => f.name)).toEqual(["mid"]);
    b2.registry.delete("mid");
    b2.registry.create("mid", { model: "v4.5" });
    b2.registry.execute("mid", { op: "createCgroup", path: "/new" });
    b2.persistence.close();
    expect(journalLength(d, "mid")).toBe(1);
    const c = server(d);
    expect(c.report.failed).toEqual([]);
    expect(c.registry.get("mid").instance.config.model).toBe("v4.5");
    c.persistence.close();
  });

  it("a gap in the journal is named by its seq", () => {
    const d = dir();
    populate(d);
    sql(d, "DELETE FROM journal WHERE instance = 'big' AND seq = 300");
    expect(() => server(d)).toThrow(
      /instance "big": journal gap: row 300 is missing \(the next row is 301\)/,
    );
  });

  it("a deleted tail is caught by the marker: the acknowledged rows are named", () => {
    const d = dir();
    populate(d);
    const n = journalLength(d, "big");
    sql(d, "DELETE FROM journal WHERE instance = 'big' AND seq > 500");
    expect(() => server(d)).toThrow(
      new RegExp(
        `instance "big": journal rows 501\\.\\.${n} were acknowledged but are missing \\(seq 1\\.\\.500 check out\\)`,
      ),
    );
    const b = server(d, { recover: "truncate-to-last-good" });
    expect(b.registry.get("big").instance.commandCount).toBe(500);
    b.persistence.close();
  });

  it("a lost reset is caught: the file holds the older generation", () => {
    const d = dir();
    populate(d);
    const snapshot = readFileSync(`${d}/${DB_FILE}`);
    const a = server(d);
    a.registry.reset("mid");
    a.registry.execute("mid", { op: "createCgroup", path: "/after-reset" });
    a.persistence.close();
    writeFileSync(`${d}/${DB_FILE}`, snapshot); // the file replaced by an older copy
    expect(() => server(d)).toThrow(
      /instance "mid": a reset was acknowledged \(generation 1\) that the file does not hold \(generation 0\)/,
    );
  });

  it("a 0-byte data file with a marker is an error naming every acknowledged instance, not an empty start", () => {
    const d = dir();
    populate(d);
    writeFileSync(`${d}/${DB_FILE}`, "");
    rmSync(`${d}/${DB_FILE}-wal`, { force: true });
    expect(statSync(`${d}/${DB_FILE}`).size).toBe(0);
    let msg = "";
    try {
      server(d);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/instance "big": acknowledged with \d+ journal rows but missing from the data file/);
    expect(msg).toMatch(/instance "mid": acknowledged with \d+ journal rows but missing from the data file/);
    expect(msg).toMatch(/instance "empty": acknowledged with 0 journal rows but missing from the data file/);
  });

  it("a deleted instance stays deleted: its tombstone explains the marker's older entry", () => {
    const d = dir();
    populate(d);
    const a = server(d);
    a.registry.delete("mid");
    a.persistence.flush();
    // a crash before the marker caught up: put back the marker that still names "mid"
    const old = readFileSync(`${d}/${ACK_FILE}`, "utf8");
    a.persistence.close();
    writeFileSync(`${d}/${ACK_FILE}`, old.includes('"mid"') ? old : old);
    const b = server(d);
    expect(b.report.failed).toEqual([]);
    expect(b.registry.list().map((e) => e.name)).toEqual(["big", "empty"]);
    b.persistence.close();
  });

  it("random byte flips in the file never restore a silent prefix: all histories whole, or an error", () => {
    let errors = 0;
    let whole = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const d = dir();
      const digests = populate(d);
      const size = statSync(`${d}/${DB_FILE}`).size;
      const fd = openSync(`${d}/${DB_FILE}`, "r+");
      let s = seed * 2654435761;
      for (let i = 0; i < FLIPS; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        // past the 100-byte header, so the file still opens as a database
        const at = 100 + (s % (size - 100));
        writeSync(fd, Buffer.from([(s >>> 8) & 0xff]), 0, 1, at);
      }
      closeSync(fd);
      let b: ReturnType<typeof server> | null = null;
      try {
        b = server(d);
      } catch (err) {
        expect((err as Error).name).toBe("IntegrityError");
        expect((err as Error).message).toMatch(/--recover=truncate-to-last-good/);
        errors++;
        continue;
      }
      // it started: then every instance is whole
      expect(digestsOf(b.registry)).toEqual(digests);
      whole++;
      b.persistence.close();
    }
    expect(errors + whole).toBe(6);
    // a flip in free space or in a page restore never reads is harmless; with schema 3 (the bases
    // table moved every page after the schema) these seeds all hit a page restore reads, one of
    // them the schema itself (SQLITE_CORRUPT at open, an IntegrityError too). Before: [5, 1].
    expect([errors, whole]).toEqual([6, 0]);
  });
});

describe("the file's schema and size", () => {
  it("migrates a schema-1 file (no checksums): same instances, checksums computed, then verified at the next start", () => {
    const d = dir();
    const digests = populate(d);
    // turn the file back into what schema 1 wrote
    const db = new Database(`${d}/${DB_FILE}`);
    db.exec(`
      ALTER TABLE instances DROP COLUMN epoch; ALTER TABLE instances DROP COLUMN crc;
      ALTER TABLE journal DROP COLUMN crc; ALTER TABLE snapshots DROP COLUMN crc;
      ALTER TABLE snapshots DROP COLUMN file; ALTER TABLE snapshots DROP COLUMN file_crc;
      ALTER TABLE snapshots DROP COLUMN chain_crc;
      DROP TABLE tombstones; UPDATE meta SET value = '1' WHERE key = 'schema_version';
    `);
    db.close();
    rmSync(`${d}/${ACK_FILE}`);
    const b = server(d);
    expect(b.report.migratedFrom).toBe(1);
    expect(b.report.failed).toEqual([]);
    expect(digestsOf(b.registry)).toEqual(digests);
    b.persistence.close();
    const c = server(d);
    expect(c.report.migratedFrom).toBe(null);
    expect(digestsOf(c.registry)).toEqual(digests);
    c.persistence.close();
    const after = new Database(`${d}/${DB_FILE}`, { readonly: true });
    expect(after.pragma("auto_vacuum", { simple: true })).toBe(2); // INCREMENTAL
    after.close();
  });

  it("gives the pages of a deleted journal back to the file system", () => {
    const d = dir();
    populate(d);
    const a = server(d);
    const pages = () => [a.persistence.pragma("page_count"), a.persistence.pragma("freelist_count")];
    const [before] = pages();
    a.registry.delete("big");
    a.registry.delete("mid");
    a.persistence.flush();
    const [after, free] = pages();
    expect(free).toBe(0);
    // 900 journal rows of two instances held 18 pages; all of them are returned (27 and 9 before
    // schema 3: the bases table's root page is the one more)
    expect([before, after]).toEqual([28, 10]);
    a.persistence.close();
  });
});

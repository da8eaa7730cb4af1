import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { parseCommand } from "../../src/commands/schemas.js";
import type { Command } from "../../src/engine/commands.js";
import type { EngineError } from "../../src/engine/errors.js";
import { captureState } from "../../src/engine/index.js";
import { Simulation } from "../../src/engine/simulation.js";
import { DB_FILE, type ExportDoc, Persistence, stateDigest } from "../../src/persistence/index.js";
import type { PersistenceOptions } from "../../src/persistence/persistence.js";
import { readStateFile, writeStateFile } from "../../src/persistence/state-file.js";
import { DEFAULT_SERVER_LIMITS, Registry } from "../../src/registry.js";
import { server, tempDirs } from "../persistence/helpers.js";
import { setupCommands } from "../persistence/workload.js";
import { json, startBoth } from "./helpers.js";

// Issue #20 §1 "Real snapshots and compaction": once a snapshot's state file is written and read
// back whole, the journal rows up to the oldest kept snapshot with a state file are deleted and
// that snapshot becomes the journal's base; restore starts from a state at or after it, export
// writes version 2 (the base state + the rows after it), and import reads it.

const dir = tempDirs();

/** Commands every instance accepts (so journal rows = commands): objects allocated and freed, a clock tick. */
const CYCLE = [
  { op: "allocObjects", cache: "kmalloc-256", pid: 200, count: 3 },
  { op: "freeObjects", cache: "kmalloc-256", pid: 200, count: 1 },
  { op: "allocObjects", cache: "dentry", pid: 201, count: 2 },
  { op: "freeObjects", cache: "dentry", pid: 201, count: 1, order: "random" },
  { op: "advanceClock", ms: 7 },
].map((c) => parseCommand(c));

/** The setup (10 commands) and then the cycle, `n` commands in all. */
function workload(n: number, from = 0): Command[] {
  const all: Command[] = [];
  const setup = setupCommands(2);
  for (let i = from; i < from + n; i++) all.push(i < setup.length ? setup[i] : CYCLE[i % CYCLE.length]);
  return all;
}

const CONFIG = { model: "v6.18", cgroupVersion: 2, seed: 5 } as const;
const OPTS: Partial<PersistenceOptions> = { snapshotEveryCommands: 100, keepSnapshots: 2 };

/** 750 commands in requests of 10, each committed: a state at 100, 200, ..., 700; then a crash (no close). */
async function build(d: string, opts: Partial<PersistenceOptions> = {}) {
  const a = server(d, { ...OPTS, ...opts });
  a.registry.create("s", CONFIG);
  const cmds = workload(750);
  for (let i = 0; i < cmds.length; i += 10) {
    a.registry.executeBatch("s", cmds.slice(i, i + 10), false);
    a.persistence.flush();
  }
  const digest = stateDigest(a.registry.get("s").instance);
  await a.persistence.settled();
  (a.persistence as unknown as { store: { close(): void } }).store.close();
  return { digest };
}

function rows(d: string): { journal: number[]; snapshots: number[]; base: unknown } {
  const db = new Database(`${d}/${DB_FILE}`, { readonly: true });
  try {
    return {
      journal: db
        .prepare("SELECT seq FROM journal WHERE instance = 's' ORDER BY seq")
        .pluck()
        .all() as number[],
      snapshots: db
        .prepare("SELECT seq FROM snapshots WHERE instance = 's' ORDER BY seq")
        .pluck()
        .all() as number[],
      base:
        db.prepare("SELECT seq, command_count AS commandCount, file FROM bases WHERE instance = 's'").get() ??
        null,
    };
  } finally {
    db.close();
  }
}

/** The answers of `cmds` on instance `name`, as JSON (errors by code). */
function answers(r: Registry, name: string, cmds: Command[]): string[] {
  return cmds.map((c) => {
    try {
      return JSON.stringify(r.execute(name, c));
    } catch (err) {
      return `error ${(err as EngineError).code}`;
    }
  });
}

/** A registry without persistence that ran the same 750 commands: what a never-restarted server answers. */
function reference(): Registry {
  const r = new Registry();
  r.create("s", CONFIG);
  r.executeBatch("s", workload(750), false);
  return r;
}

const NEXT = workload(120, 750);

describe("compaction (--compact=on, the default)", () => {
  it("keeps exactly the rows after the oldest kept state, and restart restores the same state and answers", async () => {
    const d = dir();
    const { digest } = await build(d);
    // states at 100..700, 2 kept (600, 700); the base is the older one: rows 1..600 deleted
    expect(rows(d)).toEqual({
      journal: Array.from({ length: 150 }, (_, i) => 601 + i),
      snapshots: [600, 700],
      base: { seq: 600, commandCount: 600, file: "state/s.1.0.600.state" },
    });
    expect(readdirSync(`${d}/state`).sort()).toEqual(["s.1.0.600.state", "s.1.0.700.state"]);
    const b = server(d, OPTS);
    expect(b.report.failed).toEqual([]);
    expect(b.report.statesLoaded).toBe(1);
    expect(b.report.replayedCommandCount).toBe(50);
    expect(b.report.commandCount).toBe(750);
    expect(stateDigest(b.registry.get("s").instance)).toBe(digest);
    const ref = reference();
    expect(answers(b.registry, "s", NEXT)).toEqual(answers(ref, "s", NEXT));
    expect(stateDigest(b.registry.get("s").instance)).toBe(stateDigest(ref.get("s").instance));
    b.persistence.close();
    // the 120 commands were committed by the clean shutdown with its state (870), now the newest
    // kept; the base moved to 700, the older kept one
    expect(rows(d)).toEqual({
      journal: Array.from({ length: 170 }, (_, i) => 701 + i),
      snapshots: [700, 870],
      base: { seq: 700, commandCount: 700, file: "state/s.1.0.700.state" },
    });
    await b.persistence.settled();
  });

  it("--compact=off keeps every row, as before", async () => {
    const d = dir();
    await build(d, { compact: false });
    expect(rows(d)).toEqual({
      journal: Array.from({ length: 750 }, (_, i) => 1 + i),
      snapshots: [600, 700],
      base: null,
    });
  });

  it("gives the deleted rows' pages back to the file system (incremental vacuum)", async () => {
    const on = dir();
    const off = dir();
    await build(on);
    await build(off, { compact: false });
    const pages = (d: string) => {
      const db = new Database(`${d}/${DB_FILE}`, { readonly: true });
      try {
        return [db.pragma("page_count", { simple: true }), db.pragma("freelist_count", { simple: true })];
      } catch {
        return [];
      } finally {
        db.close();
      }
    };
    // the 600 deleted rows took 12 pages; none of them stays in the file
    expect({ on: pages(on), off: pages(off) }).toEqual({ on: [13, 0], off: [25, 0] });
  });

  it("falls back to the older kept state when the newest is damaged, naming the file", async () => {
    const d = dir();
    const { digest } = await build(d);
    const f = `${d}/state/s.1.0.700.state`;
    const bytes = readFileSync(f);
    bytes[bytes.length - 100] ^= 0x40;
    writeFileSync(f, bytes);
    const b = server(d, OPTS);
    expect(b.report.stateFallbacks).toEqual([
      { name: "s", seq: 700, error: expect.stringMatching(/s\.1\.0\.700\.state: CRC-32 [0-9a-f]+ of bytes/) },
    ]);
    expect(b.report.statesLoaded).toBe(1);
    expect(b.report.replayedCommandCount).toBe(150);
    expect(stateDigest(b.registry.get("s").instance)).toBe(digest);
    b.persistence.close();
    await b.persistence.settled();
  });

  it("every kept state damaged: a start-up error naming the instance, the files and the choices; --recover=skip keeps it failed", async () => {
    const d = dir();
    await build(d);
    for (const seq of [600, 700]) writeFileSync(`${d}/state/s.1.0.${seq}.state`, "damaged");
    let message = "";
    try {
      server(d, OPTS);
    } catch (err) {
      expect((err as Error).name).toBe("IntegrityError");
      message = (err as Error).message;
    }
    const lines = message.split("\n");
    expect(lines[0]).toBe(`${d}/${DB_FILE}: the data fails its integrity check, nothing was changed:`);
    expect(lines[1]).toBe(
      `  instance "s": its journal rows 1..600 were compacted into state files and no state at or after seq 600 checks out (Error: ${d}/state/s.1.0.700.state: truncated at byte 7 (a state file has at least 20 bytes); Error: ${d}/state/s.1.0.600.state: truncated at byte 7 (a state file has at least 20 bytes)); --recover=truncate-to-last-good cannot rebuild it`,
    );
    expect(lines[2]).toMatch(
      /^choose one: restart with --recover=truncate-to-last-good .* or --recover=skip /,
    );
    // truncate-to-last-good has no rows to fall back to: the instance is kept as failed too
    for (const recover of ["skip", "truncate-to-last-good"] as const) {
      const b = server(d, { ...OPTS, recover });
      expect(b.registry.list()).toEqual([]);
      expect(b.report.failed).toEqual([
        {
          name: "s",
          seq: null,
          error: expect.stringMatching(
            new RegExp(
              `^integrity: its journal rows 1\\.\\.600 were compacted .* \\(kept by --recover=${recover}\\)$`,
            ),
          ),
        },
      ]);
      expect(b.registry.failedInstances().map((f) => f.name)).toEqual(["s"]);
      b.persistence.close();
      await b.persistence.settled();
      // nothing was deleted: its rows and base stay for inspection
      expect(rows(d).journal.length).toBe(150);
    }
  });

  it("an instance restored from a state takes this server's limits, not those of the server that wrote the state", async () => {
    const d = dir();
    await build(d);
    const registry = new Registry({ ...DEFAULT_SERVER_LIMITS, maxLiveObjects: 450 });
    const p = new Persistence({ dataDir: d, ...OPTS });
    expect(p.start(registry).statesLoaded).toBe(1);
    expect(registry.get("s").instance.slab.liveObjects).toBe(444);
    let code = "";
    try {
      registry.execute("s", parseCommand({ op: "allocObjects", cache: "dentry", pid: 201, count: 10 }));
    } catch (err) {
      code = `${(err as EngineError).code} ${(err as EngineError).message}`;
    }
    expect(code).toBe("LIMIT_EXCEEDED live object limit 450 would be exceeded");
    p.close();
    await p.settled();
  });

  it("a write the disk refuses rolls back to the durable state rebuilt from the base state", async () => {
    const d = dir();
    await build(d);
    const a = server(d, OPTS);
    const durable = stateDigest(a.registry.get("s").instance);
    a.persistence.setMaxDataBytes((a.persistence.pragma("page_count") as number) * 4096);
    let refused: unknown = null;
    for (let i = 0; i < 2000 && refused === null; i++) {
      const before = stateDigest(a.registry.get("s").instance);
      a.registry.execute("s", parseCommand({ op: "createCgroup", path: `/filling-the-last-page-${i}` }));
      try {
        a.persistence.flush();
      } catch (err) {
        refused = err;
        expect(stateDigest(a.registry.get("s").instance)).toBe(before);
      }
    }
    expect((refused as EngineError).code).toBe("INSUFFICIENT_STORAGE");
    expect(durable).not.toBe(stateDigest(a.registry.get("s").instance));
    a.persistence.close();
    await a.persistence.settled();
  });
});

describe("the state file's CRC-32", () => {
  // Found by compaction's read-back: node's zlib.crc32 returns 0 for a view of an empty
  // ArrayBuffer whatever the running value, so the writer recorded the CRC of the bytes after the
  // last empty buffer only (this simulation has one: a flip before it went unnoticed by the CRC)
  it("covers every byte, also in a state with an empty buffer", () => {
    const sim = new Simulation({ model: "v6.18" });
    for (const c of setupCommands(2)) sim.execute(c);
    for (let i = 0; i < 90; i++)
      sim.execute(
        parseCommand(
          i % 2
            ? { op: "advanceClock", ms: 7 }
            : { op: "allocObjects", cache: "kmalloc-256", pid: 200, count: 3 },
        ),
      );
    const graph = captureState(sim);
    expect(graph.nodes.filter((n) => n.k === "b" && n.a.byteLength === 0).length).toBe(1);
    const f = join(dir(), "s.state");
    const { crc } = writeStateFile(f, graph);
    expect(readStateFile(f).crc).toBe(crc);
    const bytes = readFileSync(f);
    bytes[200] ^= 1;
    writeFileSync(f, bytes);
    expect(() => readStateFile(f)).toThrow(/CRC-32 [0-9a-f]+ of bytes 0\.\.\d+ does not match the recorded/);
  });
});

describe("export and import of version 2", () => {
  it("exports a compacted instance as version 2; importing it gives the same digest and the same next answers", async () => {
    const d = dir();
    const { digest } = await build(d);
    const a = server(d, OPTS);
    const doc = a.persistence.exportInstance(a.registry, "s");
    expect(doc).toMatchObject({ format: "memcg-sim-export", version: 2, name: "s" });
    expect(doc.base?.commandCount).toBe(600);
    expect(doc.base?.state).toBe(readFileSync(`${d}/state/s.1.0.600.state`).toString("base64"));
    expect(doc.commands.length).toBe(150);

    // into a server with a data directory: its journal starts from the imported base
    const d2 = dir();
    const b = server(d2, OPTS);
    b.persistence.importInstance(b.registry, JSON.parse(JSON.stringify(doc)), { name: "copy" });
    b.persistence.flush();
    expect(stateDigest(b.registry.get("copy").instance)).toBe(digest);
    expect(b.persistence.baseOf("copy")).toEqual({
      seq: 600,
      commandCount: 600,
      file: "state/copy.1.0.600.state",
    });
    const ref = reference();
    expect(answers(b.registry, "copy", NEXT)).toEqual(answers(ref, "s", NEXT));
    // and across a restart of the importer
    const after = stateDigest(b.registry.get("copy").instance);
    b.persistence.close();
    await b.persistence.settled();
    const c = server(d2, OPTS);
    expect(c.report.failed).toEqual([]);
    expect(stateDigest(c.registry.get("copy").instance)).toBe(after);
    expect(c.registry.get("copy").instance.commandCount).toBe(870);
    c.persistence.close();
    await c.persistence.settled();
    a.persistence.close();
    await a.persistence.settled();
  });

  it("nothing compacted: export stays version 1, which still imports", async () => {
    const d = dir();
    const { digest } = await build(d, { compact: false });
    const a = server(d, { ...OPTS, compact: false });
    const doc = a.persistence.exportInstance(a.registry, "s");
    expect(doc.version).toBe(1);
    expect(doc.commands.length).toBe(750);
    const b = server(null);
    b.persistence.importInstance(b.registry, doc, { name: "copy" });
    expect(stateDigest(b.registry.get("copy").instance)).toBe(digest);
    a.persistence.close();
    await a.persistence.settled();
  });

  it("over REST (streamed) and gRPC: the same bytes; a bad version 2 is a 4xx with a stable code and creates nothing", async () => {
    const d = dir();
    const { digest } = await build(d);
    const a = server(d, OPTS);
    const doc: ExportDoc = a.persistence.exportInstance(a.registry, "s");
    a.persistence.close();
    await a.persistence.settled();

    const s = await startBoth();
    const created = await s.call("POST", "/v1/instances/import", doc);
    expect(created.statusCode).toBe(201);
    expect(stateDigest(s.registry.get("s").instance)).toBe(digest);
    // the in-memory log keeps the imported base: export is version 2 again, byte for byte the same on both transports
    const rest = await s.call("GET", "/v1/instances/s/export");
    expect(rest.statusCode).toBe(200);
    expect(rest.headers["content-type"]).toBe("application/json; charset=utf-8");
    const viaGrpc = await s.rpc("ExportInstance", { name: "s" });
    expect(viaGrpc.response?.documentJson).toBe(rest.body);
    expect(rest.body).toBe(JSON.stringify(doc));

    const bad = (base: Partial<NonNullable<ExportDoc["base"]>>) => ({
      ...doc,
      name: "bad",
      base: { ...doc.base, ...base },
    });
    const state = doc.base?.state as string;
    const truncated = Buffer.from(state, "base64").subarray(0, 1000).toString("base64");
    const flipped = Buffer.from(state, "base64");
    flipped[500] ^= 1;
    const cases: [unknown, number, string, string][] = [
      [bad({ state: "not base64!" }), 400, "INVALID_ARGUMENT", "BASE_STATE_ENCODING"],
      [bad({ state: truncated }), 400, "INVALID_ARGUMENT", "BASE_STATE_DAMAGED"],
      [bad({ state: flipped.toString("base64") }), 400, "INVALID_ARGUMENT", "BASE_STATE_DAMAGED"],
      [bad({ digest: "0".repeat(64) }), 400, "INVALID_ARGUMENT", "BASE_DIGEST_MISMATCH"],
      [bad({ commandCount: 601 }), 400, "INVALID_ARGUMENT", "BASE_COMMAND_COUNT_MISMATCH"],
      [{ ...bad({}), config: { ...doc.config, seed: 6 } }, 400, "INVALID_ARGUMENT", "BASE_CONFIG_MISMATCH"],
    ];
    for (const [body, status, code, detail] of cases) {
      const r = await s.call("POST", "/v1/instances/import", body);
      expect([r.statusCode, json(r).code, json(r).details.code]).toEqual([status, code, detail]);
      expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
      const g = await s.rpc("ImportInstance", { documentJson: JSON.stringify(body) });
      expect([g.code, g.errorDetails?.code]).toEqual([grpc.status.INVALID_ARGUMENT, detail]);
    }
    expect(s.registry.list().map((e) => e.name)).toEqual(["s"]);
  });

  it("enforces the instance limits and the global budgets on what the base state holds", async () => {
    const d = dir();
    await build(d);
    const a = server(d, OPTS);
    const doc = a.persistence.exportInstance(a.registry, "s");
    // the live objects of the base state (after 600 commands), which the import checks before the tail
    const at600 = new Registry();
    at600.create("s", CONFIG);
    at600.executeBatch("s", workload(600), false);
    const live = at600.get("s").instance.slab.liveObjects;
    expect(live).toBe(354);
    a.persistence.close();
    await a.persistence.settled();
    const small = await startBoth({ limits: { maxLiveObjects: live - 1 } });
    const r = await small.call("POST", "/v1/instances/import", doc);
    expect([r.statusCode, json(r).code, json(r).details]).toEqual([
      429,
      "LIMIT_EXCEEDED",
      { limit: "maxLiveObjects", value: live - 1 },
    ]);
    const budget = await startBoth({ limits: { maxTotalCgroups: 5 } });
    await budget.call("POST", "/v1/instances", { name: "other" });
    await budget.call("POST", "/v1/instances/other/cgroups", { path: "/x" });
    const r2 = await budget.call("POST", "/v1/instances/import", doc);
    expect([r2.statusCode, json(r2).details]).toEqual([429, { limit: "maxTotalCgroups", value: 5 }]);
    expect(small.registry.list()).toEqual([]);
    expect(budget.registry.list().map((e) => e.name)).toEqual(["other"]);
  });
});

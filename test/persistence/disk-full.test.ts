import { afterEach, describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/index.js";
import { stateDigest } from "../../src/persistence/index.js";
import { server, tempDir } from "./helpers.js";

// Issue "Durable and bounded" §3: a full disk used to answer a generic 500 while the command stayed
// applied in memory (reads saw it, a restart lost it) and the queue grew without bound. The file is
// bounded here with SQLite's own max_page_count, which fails a commit with SQLITE_FULL exactly as a
// full disk does, without root or a small tmpfs.

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const PAGE = 4096;

describe("a journal write the disk refuses", () => {
  it("answers INSUFFICIENT_STORAGE, rolls the command back, keeps the queue empty, and resumes when space returns", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const a = server(t.dir, { maxDataBytes: 16 * PAGE, snapshotEveryCommands: 0 });
    a.registry.create("full", { model: "v5.9" });
    a.persistence.flush();
    let refusedAt = -1;
    let refusal: unknown = null;
    let durableDigest = "";
    for (let i = 0; i < 5000; i++) {
      durableDigest = stateDigest(a.registry.get("full").instance);
      a.registry.execute("full", { op: "createCgroup", path: `/a-long-cgroup-name-to-fill-pages-${i}` });
      try {
        a.persistence.flush();
      } catch (err) {
        refusedAt = i;
        refusal = err;
        break;
      }
    }
    // 16 pages of 4 KiB are full at journal row 270 (the SQLite bundled with better-sqlite3; row
    // 312 before schema 3, whose bases table takes a page)
    expect(refusedAt).toBe(269);
    expect(refusal).toBeInstanceOf(EngineError);
    expect((refusal as EngineError).code).toBe("INSUFFICIENT_STORAGE");
    expect((refusal as EngineError).message).toMatch(/database or disk is full/);
    // the refused command is not in memory: the state is the one before it, the queue is empty
    const sim = a.registry.get("full").instance;
    expect(stateDigest(sim)).toBe(durableDigest);
    expect(sim.commandCount).toBe(refusedAt);
    expect(a.persistence.stats().pendingOpCount).toBe(0);
    expect(a.persistence.stats().rolledBackOpCount).toBe(1);
    // still full: refused again, still nothing applied
    a.registry.execute("full", { op: "createCgroup", path: "/still-full" });
    expect(() => a.persistence.flush()).toThrow(/database or disk is full/);
    expect(a.registry.get("full").instance.commandCount).toBe(refusedAt);
    // space returns: the next write goes through without a restart
    a.persistence.setMaxDataBytes(0);
    a.registry.execute("full", { op: "createCgroup", path: "/after" });
    a.persistence.flush();
    const digest = stateDigest(a.registry.get("full").instance);
    expect(a.registry.get("full").instance.commandCount).toBe(refusedAt + 1);
    a.persistence.close();
    const b = server(t.dir);
    expect(b.report.failed).toEqual([]);
    expect(stateDigest(b.registry.get("full").instance)).toBe(digest);
    b.persistence.close();
  });

  it("rejects every waiter of the turn's group commit, and an uncommitted create disappears", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const a = server(t.dir, { maxDataBytes: 16 * PAGE, snapshotEveryCommands: 0 });
    a.registry.create("x", { model: "v5.9" });
    a.persistence.flush();
    // fill the file to the brim
    for (let i = 0; ; i++) {
      a.registry.execute("x", { op: "createCgroup", path: `/fill-${"f".repeat(60)}-${i}` });
      try {
        a.persistence.flush();
      } catch {
        break;
      }
    }
    const before = stateDigest(a.registry.get("x").instance);
    a.registry.create("y", { model: "v4.5" });
    a.registry.execute("x", { op: "createCgroup", path: `/one-more-${"g".repeat(200)}` });
    const waits = [a.persistence.durable(), a.persistence.durable()];
    const results = await Promise.allSettled(waits);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(results.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual([
      "INSUFFICIENT_STORAGE",
      "INSUFFICIENT_STORAGE",
    ]);
    expect(a.registry.list().map((e) => e.name)).toEqual(["x"]);
    expect(stateDigest(a.registry.get("x").instance)).toBe(before);
    a.persistence.close();
  });
});

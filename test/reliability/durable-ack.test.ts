import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { DB_FILE } from "../../src/persistence/index.js";
import { startServer } from "../../src/server.js";
import { parseServerConfig } from "../../src/server-config.js";

// Issue "Reliability": the journal is written before the answer is sent, with group commits. A
// mutation's answer waits for the commit that holds it (persistence.durable()), and the requests
// of one event-loop turn share that commit.
describe("acknowledged ⇒ durable, with group commits (REST)", () => {
  it("answers each mutation once committed, at most one commit per request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "memcg-sim-ack-"));
    const config = parseServerConfig({
      MEMCG_SIM_HTTP_PORT: "0",
      MEMCG_SIM_GRPC_PORT: "0",
      MEMCG_SIM_DATA_DIR: dir,
      MEMCG_SIM_DEMO: "0",
    });
    const server = await startServer(config, pino({ level: "silent" }));
    try {
      const base = `http://127.0.0.1:${server.httpPort}/v1/instances`;
      const post = (url: string, body: unknown) =>
        fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      expect((await post(base, { name: "d" })).status).toBe(201);
      // nothing of an answered request is left queued
      expect(server.persistence.stats().pendingOpCount).toBe(0);
      const commitsBefore = server.persistence.stats().commitCount;
      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          post(`${base}/d/clock/advance`, { ms: i + 1 }).then((r) => r.status),
        ),
      );
      expect(statuses).toEqual(Array(40).fill(200));
      const s = server.persistence.stats();
      expect(s.pendingOpCount).toBe(0);
      expect(s.journaledCommandCount).toBe(40);
      // one commit per event-loop turn that applied mutations (never more than one per request)
      expect(s.commitCount - commitsBefore).toBeGreaterThanOrEqual(1);
      expect(s.commitCount - commitsBefore).toBeLessThanOrEqual(40);
    } finally {
      await server.close();
    }
    const db = new Database(join(dir, DB_FILE), { readonly: true, fileMustExist: true });
    try {
      // all 40 are in the file: the shutdown snapshot's verified state became the journal's base
      // (compaction, on by default), so the rows are folded into it, none left after it
      expect(
        (db.prepare("SELECT COUNT(*) AS n FROM journal WHERE instance = 'd'").get() as { n: number }).n,
      ).toBe(0);
      expect(db.prepare("SELECT seq, command_count AS n FROM bases WHERE instance = 'd'").get()).toEqual({
        seq: 40,
        n: 40,
      });
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 50, retryDelay: 100 });
    }
  });
});

import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { startServer } from "../../src/server.js";
import { parseServerConfig } from "../../src/server-config.js";

// Issue "Durable and bounded" §3 over the wire: a write the disk refuses answers 507 with the problem
// code INSUFFICIENT_STORAGE and changes nothing a read can see; reads keep working throughout.
describe("a full data file over REST", () => {
  it("answers 507 INSUFFICIENT_STORAGE, reads still answer, and nothing of the refused write shows", async () => {
    const dir = mkdtempSync(join(tmpdir(), "memcg-sim-full-"));
    const config = parseServerConfig({
      MEMCG_SIM_HTTP_PORT: "0",
      MEMCG_SIM_GRPC_PORT: "0",
      MEMCG_SIM_DATA_DIR: dir,
      MEMCG_SIM_DEMO: "0",
      MEMCG_SIM_MAX_DATA_BYTES: String(16 * 4096),
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
      expect((await post(base, { name: "d", config: { model: "v5.9" } })).status).toBe(201);
      let status = 0;
      let problem: { code?: string; status?: number } = {};
      let created = 0;
      for (let i = 0; i < 2000; i++) {
        const r = await post(`${base}/d/cgroups`, { path: `/cg-${"x".repeat(100)}-${i}` });
        status = r.status;
        if (status !== 201) {
          problem = (await r.json()) as typeof problem;
          break;
        }
        created++;
      }
      expect(status).toBe(507);
      expect(problem.code).toBe("INSUFFICIENT_STORAGE");
      expect(problem.status).toBe(507);
      // the refused cgroup does not exist; the instance answers reads
      const list = await fetch(`${base}/d/cgroups`);
      expect(list.status).toBe(200);
      const body = (await list.json()) as { path: string }[] | { cgroups: { path: string }[] };
      const paths = (Array.isArray(body) ? body : body.cgroups).map((c) => c.path);
      expect(paths).not.toContain(`/cg-${"x".repeat(100)}-${created}`);
      expect(paths).toContain(`/cg-${"x".repeat(100)}-${created - 1}`);
      expect(server.persistence.stats().pendingOpCount).toBe(0);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 50, retryDelay: 100 });
    }
  });
});

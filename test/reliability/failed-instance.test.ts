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
import { plain, startTestServer } from "../grpc/helpers.js";

// Issue "Durable and bounded" §2 over the wire: an instance whose rows failed the integrity check
// and were kept (--recover=skip) is named by /readyz, cannot be created over, and is dropped by DELETE.
describe("a failed instance kept by --recover=skip", () => {
  it("is listed by /readyz, refuses a create of its name with 409, and DELETE drops its rows", async () => {
    const dir = mkdtempSync(join(tmpdir(), "memcg-sim-failed-"));
    const env = {
      MEMCG_SIM_HTTP_PORT: "0",
      MEMCG_SIM_GRPC_PORT: "0",
      MEMCG_SIM_DATA_DIR: dir,
      MEMCG_SIM_DEMO: "0",
    };
    const post = (url: string, body: unknown) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    try {
      const a = await startServer(parseServerConfig(env), pino({ level: "silent" }));
      const base = `http://127.0.0.1:${a.httpPort}`;
      expect((await post(`${base}/v1/instances`, { name: "bad" })).status).toBe(201);
      expect((await post(`${base}/v1/instances/bad/cgroups`, { path: "/a" })).status).toBe(201);
      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: "ok" });
      await a.close();
      const db = new Database(join(dir, DB_FILE));
      // the instance row is always checked (journal rows before the newest state are checked by export)
      db.prepare(
        "UPDATE instances SET config = replace(config, '\"v6.18\"', '\"v5.9\"') WHERE name = 'bad'",
      ).run();
      db.close();

      // the default refuses to start
      await expect(startServer(parseServerConfig(env), pino({ level: "silent" }))).rejects.toThrow(
        /instance "bad": its instance row \(config, creation, resets\) fails its checksum/,
      );
      const b = await startServer(
        parseServerConfig({ ...env, MEMCG_SIM_RECOVER: "skip" }),
        pino({ level: "silent" }),
      );
      try {
        const base2 = `http://127.0.0.1:${b.httpPort}`;
        expect(await (await fetch(`${base2}/readyz`)).json()).toEqual({
          status: "ok",
          failedInstances: [
            {
              name: "bad",
              state: "failed",
              reason: "its instance row (config, creation, resets) fails its checksum",
            },
          ],
        });
        expect(
          (await (await fetch(`${base2}/metrics`)).text()).match(/^memcg_sim_failed_instances.*$/gm),
        ).toEqual(['memcg_sim_failed_instances{simulation="bad"} 1']);
        expect(await (await fetch(`${base2}/v1/instances`)).json()).toEqual({
          instances: [],
          failedInstances: [
            {
              name: "bad",
              state: "failed",
              reason: "its instance row (config, creation, resets) fails its checksum",
            },
          ],
        });
        const again = await post(`${base2}/v1/instances`, { name: "bad" });
        expect(again.status).toBe(409);
        expect(((await again.json()) as { details: unknown }).details).toEqual({
          name: "bad",
          state: "failed",
        });
        expect((await fetch(`${base2}/v1/instances/bad`, { method: "DELETE" })).status).toBe(204);
        expect(await (await fetch(`${base2}/readyz`)).json()).toEqual({ status: "ok" });
        expect(
          (await (await fetch(`${base2}/metrics`)).text()).match(/^memcg_sim_failed_instances.*$/gm),
        ).toEqual(null);
        expect((await post(`${base2}/v1/instances`, { name: "bad" })).status).toBe(201);
      } finally {
        await b.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 50, retryDelay: 100 });
    }
  });
});

describe("the kept instances over gRPC", () => {
  it("ListInstances names them in failed_instances, as REST does in failedInstances", async () => {
    const t = await startTestServer();
    try {
      expect(plain(await t.rpc("ListInstances"))).toEqual({ instances: [], failedInstances: [] });
      t.registry.kept.set("kept-b", "journal row 7 fails its checksum");
      t.registry.kept.set("kept-a", "its instance row (config, creation, resets) fails its checksum");
      expect(plain(await t.rpc("ListInstances"))).toEqual({
        instances: [],
        failedInstances: [
          {
            name: "kept-a",
            state: "failed",
            reason: "its instance row (config, creation, resets) fails its checksum",
          },
          { name: "kept-b", state: "failed", reason: "journal row 7 fails its checksum" },
        ],
      });
    } finally {
      await t.close();
    }
  });
});

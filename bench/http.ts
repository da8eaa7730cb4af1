/**
 * In-process REST benchmark (`--only journal`): the service built as src/server.ts builds it, on
 * 127.0.0.1 port 0 in this process, autocannon 9 in a child process; the SQLite journal's cost
 * against no data directory. The server as a user runs it is measured from outside: bench/outside.ts.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Persistence } from "../src/persistence/index.js";
import { buildApp } from "../src/rest/app.js";
import { Registry } from "../src/registry.js";

const require = createRequire(import.meta.url);
const AUTOCANNON = require.resolve("autocannon/autocannon.js");

const INSTANCE = "bench";
const CONFIG = { model: "v5.9", cpuCount: 4, memoryBytes: 64 * 1024 * 1024 * 1024 };

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The product: buildApp with its defaults (own metrics, in-memory transfer log), one v5.9 instance ready to allocate. */
export async function startService(dataDir: string | null = null): Promise<{
  app: FastifyInstance;
  url: string;
  pid: number;
  registry: Registry;
}> {
  const registry = new Registry();
  // as src/server.ts wires it: the journal attached first, every mutation flushed before its answer
  const persistence = new Persistence({ dataDir });
  persistence.attach(registry);
  const app = (await buildApp({
    registry,
    transfer: persistence,
    flush: () => persistence.flush(),
    durable: () => persistence.durable(),
  })) as unknown as FastifyInstance;
  app.addHook("onClose", async () => persistence.close());
  const post = async (url: string, payload: unknown) => {
    const r = await app.inject({ method: "POST", url, payload: payload as object });
    if (r.statusCode >= 300) throw new Error(`POST ${url}: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  await post("/v1/instances", { name: INSTANCE, config: CONFIG });
  await post(`/v1/instances/${INSTANCE}/caches`, {
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  await post(`/v1/instances/${INSTANCE}/cgroups`, { path: "/c" });
  const { pid } = (await post(`/v1/instances/${INSTANCE}/tasks`, { cgroup: "/c" })) as { pid: number };
  return { app, url: await listen(app), pid, registry };
}

interface CannonResult {
  requests: { average: number };
  latency: { average: number; p99: number };
  non2xx: number;
  errors: number;
}

function cannon(url: string, body: string, seconds: number, connections: number): Promise<CannonResult> {
  const args = [
    AUTOCANNON,
    "-j",
    "-c",
    String(connections),
    "-d",
    String(seconds),
    "-m",
    "POST",
    "-H",
    "content-type=application/json",
    "-b",
    body,
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { maxBuffer: 16 * 1024 * 1024, timeout: (seconds + 30) * 1000 },
      (err, stdout) => {
        if (err) return reject(err);
        const j = JSON.parse(stdout) as CannonResult;
        if (j.non2xx > 0 || j.errors > 0)
          return reject(new Error(`${url}: ${j.non2xx} non-2xx, ${j.errors} errors`));
        resolve(j);
      },
    );
  });
}

/** Requests/s of `seconds` of autocannon with `connections` connections. */
export async function autocannon(
  url: string,
  body: string,
  seconds: number,
  connections: number,
): Promise<number> {
  return (await cannon(url, body, seconds, connections)).requests.average;
}

/**
 * Req/s of single-object `objects/alloc` with the SQLite journal (a temp data directory, every
 * mutation committed before its answer) vs the same service with `MEMCG_SIM_DATA_DIR=none`,
 * interleaved pairs (order alternating), 50 connections, median of the per-pair ratios (issue
 * "Reliability": within 20 %).
 */
export async function journalOverheadHttp(
  seconds: number,
  rounds: number,
): Promise<{ journal: number; none: number; ratio: number }> {
  const dir = mkdtempSync(join(tmpdir(), "memcg-sim-bench-"));
  const none = await startService(null);
  const jour = await startService(dir);
  try {
    const body = (pid: number) => JSON.stringify({ cache: "dentry", pid, count: 1 });
    const noneUrl = `${none.url}/v1/instances/${INSTANCE}/objects/alloc`;
    const jourUrl = `${jour.url}/v1/instances/${INSTANCE}/objects/alloc`;
    await autocannon(noneUrl, body(none.pid), 1, 50);
    await autocannon(jourUrl, body(jour.pid), 1, 50);
    const a: number[] = [];
    const b: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) {
        b.push(await autocannon(noneUrl, body(none.pid), seconds, 50));
        a.push(await autocannon(jourUrl, body(jour.pid), seconds, 50));
      } else {
        a.push(await autocannon(jourUrl, body(jour.pid), seconds, 50));
        b.push(await autocannon(noneUrl, body(none.pid), seconds, 50));
      }
      ratios.push(a[i] / b[i]);
    }
    return { journal: median(a), none: median(b), ratio: median(ratios) };
  } finally {
    await jour.app.close();
    await none.app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(xs: number[]): number {
  const s = xs.slice().sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

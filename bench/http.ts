/**
 * REST benchmarks (issue "Performance"), servers on 127.0.0.1 port 0 in this process, the load
 * generator (autocannon 9) in a child process so the two share the machine's cores as in
 * the baseline method of docs/BENCHMARKS.md:
 *  - one `objects/alloc` of 2M objects end to end (real listen + fetch), against the same command
 *    run in-process on an engine instance in the same state;
 *  - single-object `objects/alloc` with 50 connections, interleaved with a bare fastify POST route
 *    returning a small JSON body.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Persistence } from "../src/persistence/index.js";
import { buildApp } from "../src/rest/app.js";
import { Registry } from "../src/registry.js";
import { allocFree } from "./engine.js";

const require = createRequire(import.meta.url);
const AUTOCANNON = require.resolve("autocannon/autocannon.js");

const INSTANCE = "bench";
const CONFIG = { model: "v5.9", cpuCount: 4, memoryBytes: 64 * 1024 * 1024 * 1024 };

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The bare baseline: fastify, logger off, one POST route answering a small JSON body. */
async function startBare(): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.post("/echo", async () => ({ allocatedCount: 1, failedCount: 0, error: null }));
  return { app, url: await listen(app) };
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

async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const j = (await r.json()) as Record<string, unknown>;
  if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

/**
 * Objects/s of one HTTP `objects/alloc` of `count` objects (request sent → JSON result parsed);
 * each round frees them again (untimed); warm-up round first, median of `rounds`. Baseline: the
 * same alloc in-process on the engine (steady state).
 */
export async function bulkAllocHttp(
  count: number,
  rounds: number,
): Promise<{ http: number; engine: number }> {
  const svc = await startService();
  try {
    const round = async () => {
      const t0 = performance.now();
      const r = await postJson(`${svc.url}/v1/instances/${INSTANCE}/objects/alloc`, {
        cache: "dentry",
        pid: svc.pid,
        count,
        returnObjectIds: false,
      });
      const dt = performance.now() - t0;
      if (r.allocatedCount !== count) throw new Error(`allocated ${r.allocatedCount} of ${count}`);
      await postJson(`${svc.url}/v1/instances/${INSTANCE}/objects/free`, {
        cache: "dentry",
        pid: svc.pid,
        count,
        order: "oldest",
      });
      return count / (dt / 1000);
    };
    await round();
    const xs: number[] = [];
    for (let i = 0; i < rounds; i++) xs.push(await round());
    const engine = median(Array.from({ length: rounds }, () => allocFree("v5.9", count).allocPerSec));
    return { http: median(xs), engine };
  } finally {
    await svc.app.close();
  }
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
export async function autocannon(url: string, body: string, seconds: number, connections: number): Promise<number> {
  return (await cannon(url, body, seconds, connections)).requests.average;
}

/**
 * Single-object `objects/alloc` vs the bare route: `pairs` back-to-back pairs of `seconds` each
 * (the order alternating, after a 1 s warm-up of each) with 50 connections. This shared VM drifts
 * by up to 2x within a minute, so the ratio is the median of the per-pair ratios (each pair ran
 * seconds apart), not the ratio of the medians. Also requests/s with one connection (a lone
 * sequential client, the inverse of its round-trip latency; `latencyPairs` pairs of 2 s).
 */
export async function singleAllocHttp(
  seconds: number,
  pairs: number,
  latencyPairs = 3,
): Promise<{ app: number; bare: number; ratio: number; app1: number; bare1: number; ratio1: number }> {
  const bare = await startBare();
  const svc = await startService();
  try {
    const body = JSON.stringify({ cache: "dentry", pid: svc.pid, count: 1 });
    const appUrl = `${svc.url}/v1/instances/${INSTANCE}/objects/alloc`;
    const bareUrl = `${bare.url}/echo`;
    await autocannon(bareUrl, body, 1, 50);
    await autocannon(appUrl, body, 1, 50);
    const a: number[] = [];
    const b: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < pairs; i++) {
      let x: number;
      let y: number;
      if (i % 2 === 0) {
        y = await autocannon(bareUrl, body, seconds, 50);
        x = await autocannon(appUrl, body, seconds, 50);
      } else {
        x = await autocannon(appUrl, body, seconds, 50);
        y = await autocannon(bareUrl, body, seconds, 50);
      }
      a.push(x);
      b.push(y);
      ratios.push(x / y);
    }
    const a1: number[] = [];
    const b1: number[] = [];
    const r1: number[] = [];
    for (let i = 0; i < latencyPairs; i++) {
      b1.push(await autocannon(bareUrl, body, 2, 1));
      a1.push(await autocannon(appUrl, body, 2, 1));
      r1.push(a1[i] / b1[i]);
    }
    return {
      app: median(a),
      bare: median(b),
      ratio: median(ratios),
      app1: median(a1),
      bare1: median(b1),
      ratio1: median(r1),
    };
  } finally {
    await svc.app.close();
    await bare.app.close();
  }
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

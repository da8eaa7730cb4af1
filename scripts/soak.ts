/**
 * `npm run soak -- --minutes N [--rest-workers 8] [--grpc-workers 4] [--sse 6] [--grpc-watchers 4]
 *                  [--kill-every-minutes K]`
 *
 * A bounded, loopback-only soak of the real server: scripts/soak-server.ts runs startServer in a
 * child process (free ports on 127.0.0.1, a fresh temporary data directory, the demo on) and
 * samples its RSS, heap and event-loop delay; this process drives it concurrently with a mix of
 * REST mutations and reads, gRPC calls, SSE and WatchEvents streams that come and go, and
 * /metrics + /metrics/cadvisor scrapes. It prints the request count, errors by status, RSS at
 * start and end, lag p50/p99, and a JSON summary on the last line. Exit 1 on any 5xx/INTERNAL,
 * transport error or a server that died.
 *
 * With `--kill-every-minutes K` the server is killed with SIGKILL every K minutes and started again
 * on the same data directory and ports. Requests that fail while it is down are counted apart
 * ("down"), not as errors. A witness instance is written one acknowledged command at a time; after
 * each restart its `commandCount` must be at least the acknowledged count (and at most one more:
 * the command in flight at the kill may have been committed without its answer). A lost
 * acknowledged write, a restart that fails (an integrity refusal exits 1) or any 5xx ends the run
 * with exit code 1. Each restart's time (fork → the child's `ready`, and → the first /readyz 200)
 * is printed and summarised.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { findProtoRoot, SIMULATOR_PROTO } from "../src/grpc/proto.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v =
    i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0`);
  return n;
}

const MINUTES = arg("minutes", 1);
const REST_WORKERS = arg("rest-workers", 8);
const GRPC_WORKERS = arg("grpc-workers", 4);
const SSE_STREAMS = arg("sse", 6);
const GRPC_WATCHERS = arg("grpc-watchers", 4);
const SAMPLE_MS = arg("sample-seconds", 5) * 1000;
const SEED = arg("seed", 1);
const KILL_EVERY_MS = arg("kill-every-minutes", 0) * 60_000;

// ---- deterministic mix (a seeded PRNG: the same run asks the same things) ----
let state = SEED >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

// ---- counters ----
const statuses = new Map<string, number>();
let requests = 0;
let unexpected = 0;
const count = (key: string, bad: boolean) => {
  requests++;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
  if (bad) unexpected++;
};

interface Sample {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  instances: { name: string; liveObjectCount: number; commandCount: number; eventCount: number }[];
  watchers: number;
  journaledCommandCount: number;
  pendingOpCount: number;
}
const samples: (Sample & { atS: number })[] = [];

// ---- the server ----
const dataDir = mkdtempSync(join(tmpdir(), "memcg-sim-soak-"));
const t0 = Date.now();
let stopping = false;
/** Set between the SIGKILL and the restarted server's first /readyz 200. */
let down = false;
let serverDead = false;
let child: ChildProcess;
interface Ports {
  httpPort: number;
  grpcPort: number;
}
function onSample(m: { t: string } & Record<string, unknown>): void {
  if (m.t !== "sample") return;
  const s = { ...(m as unknown as Sample), atS: (Date.now() - t0) / 1000 };
  samples.push(s);
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(
    `[${s.atS.toFixed(0).padStart(5)} s] rss ${mb(s.rssBytes)} MiB heap ${mb(s.heapUsedBytes)} MiB lag p50 ${s.lagP50Ms.toFixed(2)} ms p99 ${s.lagP99Ms.toFixed(2)} ms max ${s.lagMaxMs.toFixed(1)} ms | requests ${requests} unexpected ${unexpected} down ${downCount} watchers ${s.watchers} journal ${s.journaledCommandCount}`,
  );
}
/** Forks scripts/soak-server.ts on the data directory; resolves with its ports once it is ready. */
function startChild(ports: Ports | null): Promise<Ports> {
  const c = fork(new URL("./soak-server.ts", import.meta.url).pathname, [], {
    execArgv: ["--import", "tsx"],
    env: {
      ...process.env,
      MEMCG_SIM_HOST: "127.0.0.1",
      MEMCG_SIM_HTTP_PORT: String(ports?.httpPort ?? 0),
      MEMCG_SIM_GRPC_PORT: String(ports?.grpcPort ?? 0),
      MEMCG_SIM_DATA_DIR: dataDir,
      MEMCG_SIM_LOG_LEVEL: "warn",
      MEMCG_SIM_DEMO: "1",
      SOAK_SAMPLE_MS: String(SAMPLE_MS),
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  child = c;
  c.on("exit", (code, signal) => {
    if (signal === "SIGKILL" && c.killedBySoak) return;
    serverDead = true;
    if (!stopping) {
      console.error(`soak: the server exited unexpectedly (code ${code}, signal ${signal})`);
      unexpected++;
    }
  });
  return new Promise<Ports>((resolve, reject) => {
    c.on("message", (m: { t: string } & Record<string, unknown>) => {
      if (m.t === "ready") resolve(m as unknown as Ports);
      onSample(m);
    });
    c.on("exit", () => reject(new Error("server exited before it was ready")));
  });
}
declare module "node:child_process" {
  interface ChildProcess {
    killedBySoak?: boolean;
  }
}
const ports = await startChild(null);
const base = `http://127.0.0.1:${ports.httpPort}`;
const deadline = t0 + MINUTES * 60_000;
const running = () => !stopping && Date.now() < deadline && !serverDead;
/** Resolved while the server is up; replaced by a pending promise while it restarts. */
let serverUp: Promise<void> = Promise.resolve();
let downCount = 0;
const countDown = (key: string) => {
  requests++;
  downCount++;
  statuses.set(`${key} down`, (statuses.get(`${key} down`) ?? 0) + 1);
};
// streams open at the deadline are ended then, not at the end of their own lifetime
const streamsDone = new AbortController();
setTimeout(() => streamsDone.abort(), Math.max(0, deadline - Date.now())).unref();

// ---- REST ----
async function rest(
  method: string,
  path: string,
  body?: unknown,
  text = false,
): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (body !== undefined) {
    headers["content-type"] = text ? "text/plain" : "application/json";
    payload = text ? String(body) : JSON.stringify(body);
  }
  await serverUp;
  try {
    const r = await fetch(base + path, { method, headers, body: payload });
    const t = await r.text();
    count(`REST ${r.status}`, r.status >= 500);
    if (r.status >= 500) console.error(`soak: ${method} ${path} → ${r.status} ${t.slice(0, 300)}`);
    return { status: r.status, body: t };
  } catch (err) {
    if (down) {
      countDown("REST");
      return { status: 0, body: "" };
    }
    count("REST transport-error", true);
    if (running()) console.error(`soak: ${method} ${path} failed: ${(err as Error).message}`);
    return { status: 0, body: "" };
  }
}

const CGROUPS = ["/w", "/w/a", "/w/b", "/w/b/c"];
async function setupInstance(name: string, model: string): Promise<void> {
  await rest("DELETE", `/v1/instances/${name}`);
  await rest("POST", "/v1/instances", { name, config: { model, memoryBytes: 256 * 2 ** 20 } });
  for (const p of CGROUPS) await rest("POST", `/v1/instances/${name}/cgroups`, { path: p });
  await rest("PATCH", `/v1/instances/${name}/cgroups/w/b`, { memoryMaxBytes: 32 * 2 ** 20 });
  await rest("POST", `/v1/instances/${name}/caches`, {
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  await rest("POST", `/v1/instances/${name}/caches`, {
    name: "kmalloc-256",
    objectSizeBytes: 256,
    flags: { account: true },
  });
  for (let i = 0; i < CGROUPS.length; i++)
    await rest("POST", `/v1/instances/${name}/tasks`, { cgroup: CGROUPS[i], pid: 100 + i });
}
const INSTANCES = [
  {
    name: "soak-a",
    model: "rfc-2012",
    file: "memory.kmem.usage_in_bytes",
    limitFile: "memory.limit_in_bytes",
  },
  { name: "soak-b", model: "v3.8", file: "memory.usage_in_bytes", limitFile: "memory.limit_in_bytes" },
  { name: "soak-c", model: "v4.5", file: "memory.stat", limitFile: "memory.limit_in_bytes" },
  { name: "soak-d", model: "v5.9", file: "memory.current", limitFile: "memory.max" },
];
for (const i of INSTANCES) await setupInstance(i.name, i.model);

async function restWorker(): Promise<void> {
  while (running()) {
    const inst = pick(INSTANCES);
    const I = `/v1/instances/${inst.name}`;
    const pid = 100 + int(0, CGROUPS.length - 1);
    const cg = pick(CGROUPS);
    const r = rand();
    if (r < 0.22)
      await rest("POST", `${I}/objects/alloc`, {
        cache: pick(["dentry", "kmalloc-256"]),
        pid,
        count: int(1, 400),
      });
    else if (r < 0.4)
      await rest("POST", `${I}/objects/free`, {
        cache: pick(["dentry", "kmalloc-256"]),
        pid,
        count: int(1, 500),
        order: pick(["newest", "oldest", "random", "every-other"]),
      });
    else if (r < 0.47)
      await rest("POST", `${I}/pages/alloc`, { pid, kind: pick(["anon", "file"]), bytes: int(1, 64) * 4096 });
    else if (r < 0.54) await rest("POST", `${I}/pages/free`, { pid, kind: "anon", bytes: int(1, 64) * 4096 });
    else if (r < 0.58) await rest("POST", `${I}/reclaim`, { cgroup: cg, bytes: int(1, 256) * 4096 });
    else if (r < 0.6) await rest("POST", `${I}/clock/advance`, { ms: int(1, 1000) });
    else if (r < 0.63)
      await rest("POST", `${I}/batch`, {
        commands: Array.from({ length: int(2, 20) }, () =>
          rand() < 0.5
            ? { op: "allocObjects", cache: "dentry", cgroup: pick(CGROUPS), count: int(1, 50) }
            : { op: "freeObjects", cache: "dentry", cgroup: pick(CGROUPS), count: int(1, 60) },
        ),
        stopOnError: false,
      });
    else if (r < 0.66)
      await rest("PUT", `${I}/fs${cg}/${inst.limitFile}`, String(int(8, 64) * 2 ** 20), true);
    else if (r < 0.76) await rest("GET", `${I}/fs${cg}/${inst.file}`);
    else if (r < 0.84) await rest("GET", `${I}/cgroups${cg}`);
    else if (r < 0.88) await rest("GET", `${I}/caches/dentry`);
    else if (r < 0.91) await rest("GET", `${I}/events?sinceSeq=${int(0, 5000)}&limit=100`);
    else if (r < 0.93) await rest("GET", `${I}/proc/slabinfo`);
    else if (r < 0.95) await rest("GET", I);
    else if (r < 0.965) {
      // a short-lived instance: create, use, export, import elsewhere, delete both
      const tmp = `soak-tmp-${int(0, 3)}`;
      await rest("POST", "/v1/instances", {
        name: tmp,
        config: { model: pick(["v4.5", "v5.9"]), memoryBytes: 64 * 2 ** 20 },
      });
      await rest("POST", `/v1/instances/${tmp}/cgroups`, { path: "/x" });
      const e = await rest("GET", `/v1/instances/${tmp}/export`);
      if (e.status === 200) {
        await rest("POST", `/v1/instances/import?name=${tmp}-copy`, JSON.parse(e.body));
        await rest("DELETE", `/v1/instances/${tmp}-copy`);
      }
      await rest("DELETE", `/v1/instances/${tmp}`);
    } else if (r < 0.97) {
      // occasionally start over (bounds each instance's live state over a long soak)
      await rest("POST", `${I}/reset`);
      await setupInstance(inst.name, inst.model);
    } else await rest("GET", `${I}/tasks`);
  }
}

// ---- gRPC ----
const pkg = protoLoader.loadSync(SIMULATOR_PROTO, {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
  includeDirs: [findProtoRoot()],
});
const methods = pkg["memcg_sim.v1.SimulatorService"] as grpc.ServiceDefinition;
let client = new grpc.Client(`127.0.0.1:${ports.grpcPort}`, grpc.credentials.createInsecure());
const EXPECTED_GRPC = new Set([
  grpc.status.OK,
  grpc.status.NOT_FOUND,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.ALREADY_EXISTS,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.RESOURCE_EXHAUSTED,
]);
async function rpc(method: string, request: Record<string, unknown>): Promise<void> {
  const m = methods[method];
  await serverUp;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      request,
      { deadline: Date.now() + 30_000 },
      (err) => {
        const code = err ? (err as grpc.ServiceError).code : grpc.status.OK;
        if (down && code !== grpc.status.OK) {
          countDown("gRPC");
          return resolve();
        }
        count(`gRPC ${grpc.status[code]}`, !EXPECTED_GRPC.has(code));
        if (!EXPECTED_GRPC.has(code))
          console.error(`soak: ${method} → ${grpc.status[code]} ${(err as grpc.ServiceError).details}`);
        resolve();
      },
    );
  });
}
async function grpcWorker(): Promise<void> {
  while (running()) {
    const inst = pick(INSTANCES).name;
    const r = rand();
    const pid = 100 + int(0, CGROUPS.length - 1);
    if (r < 0.3) await rpc("AllocObjects", { instance: inst, cache: "kmalloc-256", pid, count: int(1, 200) });
    else if (r < 0.55)
      await rpc("FreeObjects", { instance: inst, cache: "kmalloc-256", pid, count: int(1, 250) });
    else if (r < 0.7) await rpc("GetCgroup", { instance: inst, path: pick(CGROUPS) });
    else if (r < 0.8) await rpc("ReadFile", { instance: inst, cgroup: pick(CGROUPS), file: "cgroup.procs" });
    else if (r < 0.88) await rpc("ListEvents", { instance: inst, sinceSeq: int(0, 5000), limit: 50 });
    else if (r < 0.94)
      await rpc("AllocPages", { instance: inst, pid, kind: "file", bytes: int(1, 32) * 4096 });
    else await rpc("ListInstances", {});
  }
}

// ---- kill -9 and restart, with a witness of acknowledged writes ----
const WITNESS = "soak-witness";
let witnessBase = 0;
let witnessAcked = 0;
/** Witness commands whose answer was lost to a kill: each may or may not have been committed. */
let witnessInDoubt = 0;
let lostWrites = 0;
const restarts: {
  atS: number;
  readyMs: number;
  readyzMs: number;
  witnessCommandCount: number;
  witnessAcked: number;
}[] = [];
async function witnessCommandCount(): Promise<number> {
  const r = await fetch(`${base}/v1/instances/${WITNESS}`);
  if (r.status !== 200) throw new Error(`GET /v1/instances/${WITNESS} → ${r.status}`);
  return ((await r.json()) as { commandCount: number }).commandCount;
}
if (KILL_EVERY_MS > 0) {
  await rest("POST", "/v1/instances", {
    name: WITNESS,
    config: { model: "v5.9", memoryBytes: 64 * 2 ** 20 },
  });
  await rest("POST", `/v1/instances/${WITNESS}/cgroups`, { path: "/w" });
  await rest("POST", `/v1/instances/${WITNESS}/caches`, {
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true },
  });
  await rest("POST", `/v1/instances/${WITNESS}/tasks`, { cgroup: "/w", pid: 100 });
  witnessBase = await witnessCommandCount();
}
async function witnessWorker(): Promise<void> {
  let n = 0;
  while (running()) {
    await serverUp;
    const path = n++ % 2 === 0 ? "objects/alloc" : "objects/free";
    try {
      const r = await fetch(`${base}/v1/instances/${WITNESS}/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ cache: "dentry", pid: 100, count: 1 }),
      });
      await r.text();
      count(`REST ${r.status}`, r.status >= 300);
      if (r.status < 300) witnessAcked++;
      else console.error(`soak: witness ${path} → ${r.status}`);
    } catch (err) {
      if (down) {
        witnessInDoubt++;
        countDown("REST");
      } else if (running()) {
        count("REST transport-error", true);
        console.error(`soak: witness ${path} failed: ${(err as Error).message}`);
      }
    }
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function killer(): Promise<void> {
  let next = t0 + KILL_EVERY_MS;
  while (running()) {
    if (Date.now() < next) {
      await sleep(Math.min(500, next - Date.now()));
      continue;
    }
    next += KILL_EVERY_MS;
    down = true;
    let resolveUp: () => void = () => undefined;
    serverUp = new Promise<void>((r) => {
      resolveUp = r;
    });
    const victim = child;
    const exited = new Promise((r) => victim.once("exit", r));
    victim.killedBySoak = true;
    victim.kill("SIGKILL");
    await exited;
    const atS = (Date.now() - t0) / 1000;
    const t = performance.now();
    try {
      await startChild(ports);
    } catch (err) {
      console.error(`soak: the restart at ${atS.toFixed(0)} s failed: ${(err as Error).message}`);
      serverDead = true;
      resolveUp();
      return;
    }
    const readyMs = performance.now() - t;
    while (
      (await fetch(`${base}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    )
      await sleep(20);
    const readyzMs = performance.now() - t;
    client.close();
    client = new grpc.Client(`127.0.0.1:${ports.grpcPort}`, grpc.credentials.createInsecure());
    const restored = await witnessCommandCount();
    const durable = restored - witnessBase;
    if (durable < witnessAcked || durable > witnessAcked + witnessInDoubt) {
      lostWrites++;
      unexpected++;
      console.error(
        `soak: witness after the restart at ${atS.toFixed(0)} s: ${durable} commands restored, ${witnessAcked} acknowledged, ${witnessInDoubt} in doubt`,
      );
    }
    // what is restored is now the truth: an in-doubt command either is in it or is gone for good
    witnessAcked = durable;
    witnessInDoubt = 0;
    restarts.push({
      atS: Math.round(atS),
      readyMs: Math.round(readyMs),
      readyzMs: Math.round(readyzMs),
      witnessCommandCount: restored,
      witnessAcked: durable,
    });
    console.log(
      `soak: kill -9 at ${atS.toFixed(0)} s → ready in ${readyMs.toFixed(0)} ms, /readyz 200 in ${readyzMs.toFixed(0)} ms; witness ${durable} commands restored (every acknowledged one)`,
    );
    down = false;
    resolveUp();
  }
}

// ---- streams that come and go ----
let sseEvents = 0;
let grpcEvents = 0;
async function sseWorker(): Promise<void> {
  while (running()) {
    await serverUp;
    const ac = new AbortController();
    const lifeMs = int(2_000, 20_000);
    const timer = setTimeout(() => ac.abort(), lifeMs);
    const stop = () => ac.abort();
    streamsDone.signal.addEventListener("abort", stop);
    try {
      const r = await fetch(
        `${base}/v1/instances/${pick(["demo", "demo-v59", ...INSTANCES.map((i) => i.name)])}/events?sinceSeq=${int(0, 2000)}`,
        {
          headers: { accept: "text/event-stream" },
          signal: ac.signal,
        },
      );
      count(`SSE ${r.status}`, r.status >= 500);
      if (r.body !== null)
        for await (const chunk of r.body) sseEvents += (chunk as Uint8Array).length > 0 ? 1 : 0;
    } catch (err) {
      if (down) countDown("SSE");
      else if ((err as Error).name !== "AbortError" && running()) {
        count("SSE transport-error", true);
        console.error(`soak: SSE failed: ${(err as Error).message}`);
      }
    } finally {
      clearTimeout(timer);
      streamsDone.signal.removeEventListener("abort", stop);
    }
  }
}
async function watchWorker(): Promise<void> {
  const m = methods.WatchEvents;
  while (running()) {
    await serverUp;
    await new Promise<void>((resolve) => {
      const call = client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {
        instance: pick(INSTANCES).name,
        sinceSeq: int(0, 2000),
      });
      const timer = setTimeout(() => call.cancel(), int(2_000, 20_000));
      const stop = () => call.cancel();
      streamsDone.signal.addEventListener("abort", stop);
      call.on("close", () => streamsDone.signal.removeEventListener("abort", stop));
      call.on("data", () => grpcEvents++);
      call.on("error", (err: grpc.ServiceError) => {
        if (down && err.code !== grpc.status.CANCELLED) return countDown("WatchEvents");
        const ok = err.code === grpc.status.CANCELLED || EXPECTED_GRPC.has(err.code);
        if (err.code !== grpc.status.CANCELLED) count(`WatchEvents ${grpc.status[err.code]}`, !ok);
        if (!ok) console.error(`soak: WatchEvents → ${grpc.status[err.code]} ${err.details}`);
      });
      call.on("status", () => undefined);
      call.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
      call.on("end", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
async function scraper(): Promise<void> {
  let n = 0;
  while (running()) {
    await rest("GET", n++ % 5 === 4 ? "/metrics/cadvisor" : "/metrics");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

console.log(
  `soak: ${MINUTES} min against ${base} and gRPC 127.0.0.1:${ports.grpcPort} (data ${dataDir}); ${REST_WORKERS} REST + ${GRPC_WORKERS} gRPC workers, ${SSE_STREAMS} SSE + ${GRPC_WATCHERS} WatchEvents streams, scrapes every 1 s`,
);
child.send({ t: "sample" });
await Promise.all([
  ...Array.from({ length: REST_WORKERS }, restWorker),
  ...Array.from({ length: GRPC_WORKERS }, grpcWorker),
  ...Array.from({ length: SSE_STREAMS }, sseWorker),
  ...Array.from({ length: GRPC_WATCHERS }, watchWorker),
  scraper(),
  ...(KILL_EVERY_MS > 0 ? [witnessWorker(), killer()] : []),
]);
const elapsedS = (Date.now() - t0) / 1000;
stopping = true;
client.close();
await new Promise<void>((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) return resolve();
  child.on("message", (m: { t: string }) => m.t === "stopped" && resolve());
  child.on("exit", () => resolve());
  child.send({ t: "stop" });
});
rmSync(dataDir, { recursive: true, force: true });

const first = samples[0];
const last = samples.at(-1);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const q = (xs: number[], p: number) =>
  xs.length === 0 ? 0 : sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const summary = {
  minutes: MINUTES,
  elapsedS: Math.round(elapsedS),
  requests,
  requestsPerS: Math.round(requests / elapsedS),
  unexpected,
  byStatus: Object.fromEntries([...statuses].sort()),
  sseChunks: sseEvents,
  grpcEvents,
  rssStartMiB: first ? +(first.rssBytes / 2 ** 20).toFixed(1) : null,
  rssEndMiB: last ? +(last.rssBytes / 2 ** 20).toFixed(1) : null,
  rssMaxMiB: +(Math.max(...samples.map((s) => s.rssBytes)) / 2 ** 20).toFixed(1),
  heapStartMiB: first ? +(first.heapUsedBytes / 2 ** 20).toFixed(1) : null,
  heapEndMiB: last ? +(last.heapUsedBytes / 2 ** 20).toFixed(1) : null,
  // per 5 s window: the median window's p50 and p99, and the worst window's p99
  lagP50Ms: +q(
    samples.map((s) => s.lagP50Ms),
    0.5,
  ).toFixed(2),
  lagP99Ms: +q(
    samples.map((s) => s.lagP99Ms),
    0.5,
  ).toFixed(2),
  lagWorstP99Ms: +Math.max(...samples.map((s) => s.lagP99Ms)).toFixed(2),
  journaledCommands: last?.journaledCommandCount ?? null,
  samples: samples.length,
  downRequests: downCount,
  restarts,
  restartReadyzMsMax: restarts.length > 0 ? Math.max(...restarts.map((r) => r.readyzMs)) : null,
  lostWrites,
};
console.log(
  `soak: ${summary.requests} requests in ${summary.elapsedS} s (${summary.requestsPerS}/s), unexpected ${summary.unexpected}`,
);
console.log(`soak: by status ${JSON.stringify(summary.byStatus)}`);
console.log(
  `soak: RSS ${summary.rssStartMiB} → ${summary.rssEndMiB} MiB (max ${summary.rssMaxMiB}), heap ${summary.heapStartMiB} → ${summary.heapEndMiB} MiB, lag p50 ${summary.lagP50Ms} ms p99 ${summary.lagP99Ms} ms (worst window p99 ${summary.lagWorstP99Ms} ms)`,
);
if (KILL_EVERY_MS > 0)
  console.log(
    `soak: ${restarts.length} kill -9 restarts, /readyz 200 after ${restarts.map((r) => r.readyzMs).join(", ")} ms; acknowledged witness writes lost: ${lostWrites}; requests refused while down: ${downCount}`,
  );
console.log(JSON.stringify(summary));
process.exit(summary.unexpected > 0 ? 1 : 0);

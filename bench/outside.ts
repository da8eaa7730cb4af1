/**
 * The server as a user measures it (issue "Performance as a user measures it"): the product runs in
 * its own process, started as the README starts it (`npm start`, i.e. `node dist/src/main.js` after
 * `npm run build`), and is driven from outside by a load generator in other processes:
 *  - HTTP: `wrk` (C; Debian package `wrk`) with a Lua script for the POST body, 1 thread, 50 connections;
 *  - gRPC: `h2load` (C; Debian package nghttp2-client) POSTing a pre-framed AllocObjectsRequest
 *    (5-byte gRPC prefix + protobuf) over 2 HTTP/2 connections × 25 concurrent streams; each call's
 *    grpc-status 0 is checked (one call through node:http2 reading the trailers, and for the app the
 *    count of AllocObjects answered OK in its /metrics against h2load's completed calls). grpc-js
 *    clients were no generator here: warm, a grpc-js client spent ~300 µs of CPU per call, four
 *    times what the server spends, so on 2 cores the clients ran out of CPU before the server did.
 * Baselines, each in its own process too (bench/outside-servers.ts): bare fastify parsing the JSON
 * body and answering the same JSON, bare grpc-js serving the same AllocObjects messages. Each run
 * first measures the generator's ceiling (against node:http / nghttpd servers answering a fixed
 * response), then interleaved pairs (app, bare, bare, app, ...): the ratio is the median of the
 * per-pair ratios, because this 2-core machine is shared and drifts within a minute.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const MAIN_JS = join(ROOT, "dist", "src", "main.js");
const SERVERS = join(ROOT, "bench", "outside-servers.ts");
const INSTANCE = "bench";
const CONFIG = { model: "v5.9", cpuCount: 4, memoryBytes: 64 * 1024 * 1024 * 1024 };
/** Environment of the app's process: loopback, no demo, memory only (the journal is `--only journal`). */
const APP_ENV = { MEMCG_SIM_HOST: "127.0.0.1", MEMCG_SIM_DATA_DIR: "none", MEMCG_SIM_DEMO: "0" };
export const CONNECTIONS = 50;

export function median(xs: number[]): number {
  const s = xs.slice().sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

/** Spread of a series: (max − min) / median. */
export function spread(xs: number[]): number {
  return (Math.max(...xs) - Math.min(...xs)) / median(xs);
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** `npm run build` when dist/src/main.js is missing or older than a file under src/. */
export function ensureBuilt(): void {
  if (existsSync(MAIN_JS) && statSync(MAIN_JS).mtimeMs >= newestMtime(join(ROOT, "src"))) return;
  console.log("  (dist/ missing or older than src/: npm run build)");
  execFileSync("npm", ["run", "-s", "build"], { cwd: ROOT, stdio: "inherit" });
}

/** The path of `tool`; installs Debian's package `pkg` when it is missing and this process may (root). */
export function ensureDebianTool(tool: string, pkg: string): string {
  const find = () => {
    try {
      return (
        execFileSync(
          "sh",
          ["-c", `command -v ${tool} || { test -x /usr/sbin/${tool} && echo /usr/sbin/${tool}; }`],
          {
            encoding: "utf8",
          },
        )
          .trim()
          .split("\n")[0] || null
      );
    } catch {
      return null;
    }
  };
  let bin = find();
  if (bin === null && process.getuid?.() === 0) {
    console.log(`  (installing ${tool}: apt-get install -y ${pkg})`);
    execFileSync("apt-get", ["install", "-y", pkg], { stdio: "ignore" });
    bin = find();
  }
  if (bin === null)
    throw new Error(
      `${tool} not found: install Debian's package ${pkg} (as root: apt-get install -y ${pkg})`,
    );
  return bin;
}

/** The path of wrk (Debian's package wrk). */
export function ensureWrk(): string {
  return ensureDebianTool("wrk", "wrk");
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  stop: () => Promise<void>;
}

function launch(cmd: string, args: string[], env: Record<string, string> = {}, stdoutFd?: number): Proc {
  // its own process group, so `npm start`'s shell and node go down together
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", stdoutFd ?? "ignore", "inherit"],
    detached: true,
  });
  const stop = () =>
    new Promise<void>((res) => {
      if (child.exitCode !== null || child.signalCode !== null) return res();
      child.once("exit", () => res());
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        res();
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {}
      }, 5000).unref();
    });
  return { child, stop };
}

async function waitHttp(url: string, deadlineMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return performance.now() - t0;
    } catch {}
    if (performance.now() - t0 > deadlineMs) throw new Error(`${url}: no answer within ${deadlineMs} ms`);
    await sleep(5);
  }
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

export interface App extends Proc {
  http: string;
  grpc: string;
  pid: number;
  /** Launch of the start command → first 200 from GET /readyz, ms. */
  coldStartMs: number;
}

/**
 * Starts the product with `npm start` (the README's command; `env` added to its environment), times launch → first successful request, then creates instance "bench" with
 * cache dentry, cgroup /c and one task.
 */
export async function startApp(env: Record<string, string> = {}): Promise<App> {
  const [hp, gp] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const p = launch("npm", ["start", "--silent"], {
    ...APP_ENV,
    MEMCG_SIM_HTTP_PORT: String(hp),
    MEMCG_SIM_GRPC_PORT: String(gp),
    ...env,
  });
  const http = `http://127.0.0.1:${hp}`;
  await waitHttp(`${http}/readyz`, 30_000);
  const coldStartMs = performance.now() - t0;
  const v1 = `${http}/v1/instances`;
  await postJson(v1, { name: INSTANCE, config: CONFIG });
  await postJson(`${v1}/${INSTANCE}/caches`, {
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true, reclaimAccount: true },
  });
  await postJson(`${v1}/${INSTANCE}/cgroups`, { path: "/c" });
  const { pid } = (await postJson(`${v1}/${INSTANCE}/tasks`, { cgroup: "/c" })) as { pid: number };
  return { ...p, http, grpc: `127.0.0.1:${gp}`, pid, coldStartMs };
}

/** A baseline of bench/outside-servers.ts in its own process. */
export async function startBaseline(
  kind: "fastify" | "http" | "grpc" | "h2",
): Promise<Proc & { port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", SERVERS, kind, String(port)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  await new Promise<void>((res, rej) => {
    child.once("exit", (c) => rej(new Error(`baseline ${kind} exited ${c}`)));
    createInterface({ input: child.stdout! }).once("line", () => res());
  });
  const stop = () =>
    new Promise<void>((res) => {
      if (child.exitCode !== null || child.signalCode !== null) return res();
      child.removeAllListeners("exit");
      child.once("exit", () => res());
      child.kill("SIGTERM");
    });
  return { child, stop, port };
}

export interface LoadResult {
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (user + system) of the server's processes per request, µs: steady on a busy machine. */
  cpuUs: number;
}

const CLK_TCK = 100;

/** CPU seconds (user + system) used so far by the processes of process group `pgid` (Linux /proc). */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, "utf8");
    } catch {
      continue;
    }
    // fields after "(comm)": state ppid pgrp ... utime(14) stime(15), numbered from 1 with pid
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLK_TCK;
}

let luaDir: string | null = null;
function luaScript(body: string): string {
  luaDir ??= mkdtempSync(join(tmpdir(), "memcg-sim-bench-"));
  const file = join(luaDir, `post-${Buffer.from(body).toString("hex").slice(0, 40)}.lua`);
  writeFileSync(
    file,
    `wrk.method = "POST"\nwrk.body = [[${body}]]\nwrk.headers["content-type"] = "application/json"\n`,
  );
  return file;
}

export function cleanupLua(): void {
  if (luaDir !== null) rmSync(luaDir, { recursive: true, force: true });
  luaDir = null;
}

const UNIT_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000 };

/** `seconds` of wrk (1 thread, CONNECTIONS connections) POSTing `body`; fails on any non-2xx or socket error. */
export function wrk(
  bin: string,
  url: string,
  body: string,
  seconds: number,
  pgid: number,
  connections = CONNECTIONS,
): LoadResult {
  const cpu0 = groupCpuSeconds(pgid);
  const out = execFileSync(
    bin,
    ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "--latency", "-s", luaScript(body), url],
    { encoding: "utf8", timeout: (seconds + 30) * 1000 },
  );
  const num = (re: RegExp) => {
    const m = re.exec(out);
    if (m === null) throw new Error(`wrk output without ${re}:\n${out}`);
    return m;
  };
  const lat = (pct: string) => {
    const m = num(new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m"));
    return Number(m[1]) * UNIT_MS[m[2]];
  };
  if (/Non-2xx or 3xx responses|Socket errors/.test(out))
    throw new Error(`${url}: errors under load:\n${out}`);
  const cpu = groupCpuSeconds(pgid) - cpu0;
  const requests = Number(num(/^\s+(\d+) requests in/m)[1]);
  return {
    rate: Number(num(/^Requests\/sec:\s+([\d.]+)/m)[1]),
    p50Ms: lat("50"),
    p99Ms: lat("99"),
    cpuUs: (cpu * 1e6) / requests,
  };
}

/**
 * Warm-up until the server has answered `requests` requests (1 s wrk rounds, at most 8): a fixed
 * time is not enough on a busy machine, where 1 s may be a few hundred requests of unoptimised code.
 */
export function warmUp(bin: string, url: string, body: string, pgid: number, requests = 20_000): void {
  let done = 0;
  for (let i = 0; i < 8 && done < requests; i++) done += wrk(bin, url, body, 1, pgid).rate;
}

/** A gRPC load generator bound to one server: `round(seconds)` runs h2load against it. */
export interface GrpcLoad {
  round: (seconds: number) => Promise<LoadResult>;
  close: () => Promise<void>;
}

/** The path of h2load (Debian's nghttp2-client); installs it when missing and this process may (root). */
export function ensureH2load(): string {
  return ensureDebianTool("h2load", "nghttp2-client");
}

/** nghttpd (Debian's nghttp2-server, C), the gRPC generator's ceiling server; null when absent and not installable. */
function findNghttpd(): string | null {
  try {
    return ensureDebianTool("nghttpd", "nghttp2-server");
  } catch {
    return null;
  }
}

const ALLOC_METHOD_PATH = "/memcg_sim.v1.SimulatorService/AllocObjects";

/** A gRPC message framed for the wire: flag 0 (not compressed), 4-byte big-endian length, then the bytes. */
function grpcFrame(msg: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  return frame;
}

let grpcDir: string | null = null;
function grpcTmp(): string {
  grpcDir ??= mkdtempSync(join(tmpdir(), "memcg-sim-grpc-"));
  return grpcDir;
}

/** The framed AllocObjectsRequest {instance bench, cache dentry, pid, count 1}, written to a file for h2load -d. */
async function allocRequestFile(pid: number): Promise<string> {
  const { loadSimulatorPackage, SIMULATOR_SERVICE } = await import("../src/grpc/proto.js");
  const svc = loadSimulatorPackage()[SIMULATOR_SERVICE] as unknown as Record<
    string,
    { requestSerialize: (x: unknown) => Uint8Array }
  >;
  const file = join(grpcTmp(), `alloc-${pid}.bin`);
  writeFileSync(
    file,
    grpcFrame(svc.AllocObjects.requestSerialize({ instance: INSTANCE, cache: "dentry", pid, count: 1 })),
  );
  return file;
}

/**
 * One unary AllocObjects over node:http2 with the very bytes h2load sends: checks the answer is
 * HTTP 200, one framed message, and trailers with grpc-status 0 (h2load itself only sees HTTP statuses).
 */
async function checkGrpcCall(address: string, bodyFile: string): Promise<void> {
  const { connect } = await import("node:http2");
  const session = connect(`http://${address}`);
  try {
    await new Promise<void>((res, rej) => {
      session.once("error", rej);
      const req = session.request({
        ":method": "POST",
        ":path": ALLOC_METHOD_PATH,
        "content-type": "application/grpc",
        te: "trailers",
      });
      let status = 0;
      let grpcStatus: string | undefined;
      let bytes = 0;
      req.on("response", (h) => {
        status = Number(h[":status"]);
        grpcStatus = h["grpc-status"] as string | undefined; // trailers-only answer
      });
      req.on("trailers", (t) => {
        grpcStatus = t["grpc-status"] as string | undefined;
      });
      req.on("data", (d: Buffer) => {
        bytes += d.length;
      });
      req.on("end", () =>
        status === 200 && grpcStatus === "0" && bytes > 5
          ? res()
          : rej(
              new Error(
                `${address}: AllocObjects answered HTTP ${status}, grpc-status ${grpcStatus}, ${bytes} bytes`,
              ),
            ),
      );
      req.on("error", rej);
      req.end(readFileSync(bodyFile));
    });
  } finally {
    session.close();
  }
}

/** In-flight calls of the gRPC rounds: GRPC_CLIENTS HTTP/2 connections × GRPC_STREAMS concurrent streams each. */
const GRPC_CLIENTS = 2;
const GRPC_STREAMS = 25;

/**
 * `seconds` of h2load (C, one thread) POSTing the framed request to AllocObjects with 50 calls in
 * flight; fails on any failed, errored or timed-out stream or non-2xx status. Latencies from its
 * per-request log.
 */
export function h2loadRound(
  bin: string,
  address: string,
  bodyFile: string,
  seconds: number,
  pgid: number,
): LoadResult & { calls: number } {
  const log = join(grpcTmp(), "h2load.log");
  const cpu0 = groupCpuSeconds(pgid);
  const out = execFileSync(
    bin,
    [
      "-t1",
      `-c${GRPC_CLIENTS}`,
      `-m${GRPC_STREAMS}`,
      `-D${seconds}`,
      "-d",
      bodyFile,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      `--log-file=${log}`,
      `http://${address}${ALLOC_METHOD_PATH}`,
    ],
    { encoding: "utf8", timeout: (seconds + 30) * 1000 },
  );
  const cpu = groupCpuSeconds(pgid) - cpu0;
  const req =
    /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m.exec(
      out,
    );
  const codes = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(out);
  const fin = /^finished in ([\d.]+)s, ([\d.]+) req\/s/m.exec(out);
  if (req === null || codes === null || fin === null)
    throw new Error(`h2load output not understood:\n${out}`);
  const succeeded = Number(req[4]);
  // "status codes" also counts the headers of the streams still in flight when the time was up
  if (
    Number(req[5]) + Number(req[6]) + Number(req[7]) > 0 ||
    Number(codes[1]) < succeeded ||
    Number(codes[2]) + Number(codes[3]) + Number(codes[4]) > 0
  )
    throw new Error(`${address}: failed calls under load:\n${out}`);
  const lat = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => Number(l.split("\t")[2]))
    .sort((x, y) => x - y);
  const pct = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] / 1000;
  return {
    rate: Number(fin[2]),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    cpuUs: (cpu * 1e6) / succeeded,
    calls: succeeded,
  };
}

/** The app's count of AllocObjects answered with status OK (its gRPC request histogram, from /metrics). */
async function grpcOkCount(http: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("memcg_sim_grpc_request_duration_seconds_count{") &&
        l.includes('method="AllocObjects"') &&
        l.includes('code="OK"'),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/**
 * h2load against `address`. With `app`, every round also checks that the app counted as many
 * AllocObjects answered OK as h2load saw complete (grpc-status 0 for each call, not only HTTP 200).
 */
export async function grpcLoad(address: string, pid: number, pgid: number, app?: App): Promise<GrpcLoad> {
  const bin = ensureH2load();
  const body = await allocRequestFile(pid);
  await checkGrpcCall(address, body);
  return {
    async round(seconds) {
      const ok0 = app ? await grpcOkCount(app.http) : 0;
      const r = h2loadRound(bin, address, body, seconds, pgid);
      if (app) {
        const ok = (await grpcOkCount(app.http)) - ok0;
        // h2load cancels the streams in flight at the end: the server may have answered them OK too
        if (ok < r.calls || ok > r.calls + GRPC_CLIENTS * GRPC_STREAMS)
          throw new Error(
            `${address}: h2load completed ${r.calls} calls, the server answered ${ok} with status OK`,
          );
      }
      return r;
    },
    async close() {},
  };
}

/** nghttpd serving the framed AllocObjectsResponse of a count-1 alloc, trailer grpc-status 0: the generator's ceiling. */
async function startNghttpd(bin: string): Promise<Proc & { port: number }> {
  const { loadSimulatorPackage, SIMULATOR_SERVICE } = await import("../src/grpc/proto.js");
  const svc = loadSimulatorPackage()[SIMULATOR_SERVICE] as unknown as Record<
    string,
    { responseSerialize: (x: unknown) => Uint8Array }
  >;
  const root = join(grpcTmp(), "htdocs");
  const file = join(root, ALLOC_METHOD_PATH);
  execFileSync("mkdir", ["-p", dirname(file)]);
  writeFileSync(file, grpcFrame(svc.AllocObjects.responseSerialize({ ...ALLOC_RESULT_GRPC })));
  const port = await freePort();
  const p = launch(bin, ["--no-tls", "-d", root, "--trailer=grpc-status: 0", String(port)]);
  await waitTcp(port, 10_000);
  return { ...p, port };
}

/** The AllocObjectsResponse of a count-1 alloc on a fresh instance (what the bare servers answer). */
const ALLOC_RESULT_GRPC = {
  allocatedCount: 1,
  failedCount: 0,
  chargedBytes: 4096,
  reclaimedBytes: 0,
  oomKilledPids: [],
  throttleMs: 0,
  objectIds: [0],
};

async function waitTcp(port: number, deadlineMs: number): Promise<void> {
  const { connect } = await import("node:net");
  const t0 = performance.now();
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        res(true);
      });
      s.once("error", () => res(false));
    });
    if (ok) return;
    if (performance.now() - t0 > deadlineMs)
      throw new Error(`port ${port}: nothing listening within ${deadlineMs} ms`);
    await sleep(20);
  }
}

export interface Compared {
  ceiling: LoadResult;
  bare: LoadResult;
  app: LoadResult;
  /** Median of the per-pair ratios app / bare. */
  ratio: number;
  ratios: number[];
}

const medianOf = (rs: LoadResult[]): LoadResult => ({
  rate: median(rs.map((r) => r.rate)),
  p50Ms: median(rs.map((r) => r.p50Ms)),
  p99Ms: median(rs.map((r) => r.p99Ms)),
  cpuUs: median(rs.map((r) => r.cpuUs)),
});

/**
 * Interleaved pairs: pair i runs bare then app when i is even, app then bare when odd (after a
 * 1 s warm-up of each); the ceiling (generator vs the cheapest server) is measured between pairs.
 */
export async function interleaved(
  run: {
    ceiling: () => Promise<LoadResult>;
    bare: () => Promise<LoadResult>;
    app: () => Promise<LoadResult>;
  },
  pairs: number,
): Promise<Compared> {
  const c: LoadResult[] = [];
  const a: LoadResult[] = [];
  const b: LoadResult[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      c.push(await run.ceiling());
      b.push(await run.bare());
      a.push(await run.app());
    } else {
      a.push(await run.app());
      b.push(await run.bare());
    }
    ratios.push(a[i].rate / b[i].rate);
  }
  return { ceiling: medianOf(c), bare: medianOf(b), app: medianOf(a), ratio: median(ratios), ratios };
}

export interface HttpOutside extends Compared {
  /** Median of COLD_STARTS launches of `npm start` → first 200 from /readyz. */
  coldStartMs: number;
  coldStartsMs: number[];
  /** NaN with `quick` (not measured). */
  coldStartNodeMs: number;
  bulkColdPerSec: number;
  bulkWarmPerSec: number;
  steadyApp: LoadResult[];
  steadyBare: LoadResult[];
}

/** One HTTP objects/alloc of `count` objects, request sent → JSON parsed; objects/s. Frees them after (untimed). */
async function bulkRound(app: App, count: number): Promise<number> {
  const url = `${app.http}/v1/instances/${INSTANCE}/objects/alloc`;
  const t0 = performance.now();
  const r = await postJson(url, { cache: "dentry", pid: app.pid, count, returnObjectIds: false });
  const dt = performance.now() - t0;
  if (r.allocatedCount !== count) throw new Error(`allocated ${r.allocatedCount} of ${count}`);
  await postJson(`${app.http}/v1/instances/${INSTANCE}/objects/free`, {
    cache: "dentry",
    pid: app.pid,
    count,
    order: "oldest",
  });
  return count / (dt / 1000);
}

/** Launch → first 200 of `node dist/src/main.js` itself (no npm in between). */
async function coldStartNode(): Promise<number> {
  const hp = await freePort();
  const gp = await freePort();
  const t0 = performance.now();
  const p = launch(process.execPath, [MAIN_JS], {
    ...APP_ENV,
    MEMCG_SIM_HTTP_PORT: String(hp),
    MEMCG_SIM_GRPC_PORT: String(gp),
  });
  try {
    await waitHttp(`http://127.0.0.1:${hp}/readyz`, 30_000);
    return performance.now() - t0;
  } finally {
    await p.stop();
  }
}

const COLD_STARTS = 5;

export async function httpOutside(opts: {
  seconds: number;
  pairs: number;
  steadyRounds: number;
  steadySeconds: number;
  bulkCount: number;
  bulkRounds: number;
  /** Fewer warm-up requests (5,000), no separate `node dist/src/main.js` cold start. */
  quick?: boolean;
}): Promise<HttpOutside> {
  const bin = ensureWrk();
  ensureBuilt();
  const nodeMs = opts.quick ? Number.NaN : await coldStartNode();
  const warmRequests = opts.quick ? 5_000 : 20_000;
  // cold start: the median of COLD_STARTS launches (one start is at the mercy of the machine)
  const coldStartsMs: number[] = [];
  for (let i = 1; i < COLD_STARTS; i++) {
    const a = await startApp();
    coldStartsMs.push(a.coldStartMs);
    await a.stop();
  }
  // cold bulk: a fresh process, its first objects/alloc
  let app = await startApp();
  coldStartsMs.push(app.coldStartMs);
  const coldStartMs = median(coldStartsMs);
  const bulkColdPerSec = await bulkRound(app, opts.bulkCount);
  const warm: number[] = [];
  for (let i = 0; i < opts.bulkRounds; i++) warm.push(await bulkRound(app, opts.bulkCount));
  const bulkWarmPerSec = median(warm);
  await app.stop();

  const ceilingSrv = await startBaseline("http");
  const bare = await startBaseline("fastify");
  app = await startApp();
  try {
    const body = JSON.stringify({ cache: "dentry", pid: app.pid, count: 1 });
    const appUrl = `${app.http}/v1/instances/${INSTANCE}/objects/alloc`;
    const bareUrl = `http://127.0.0.1:${bare.port}/echo`;
    const ceilUrl = `http://127.0.0.1:${ceilingSrv.port}/`;
    const appPg = app.child.pid!;
    warmUp(bin, ceilUrl, body, ceilingSrv.child.pid!, warmRequests);
    warmUp(bin, bareUrl, body, bare.child.pid!, warmRequests);
    warmUp(bin, appUrl, body, appPg, warmRequests);
    const cmp = await interleaved(
      {
        ceiling: async () => wrk(bin, ceilUrl, body, opts.seconds, ceilingSrv.child.pid!),
        bare: async () => wrk(bin, bareUrl, body, opts.seconds, bare.child.pid!),
        app: async () => wrk(bin, appUrl, body, opts.seconds, appPg),
      },
      opts.pairs,
    );
    await app.stop();
    // steadiness: a fresh app, rounds back to back (its live objects grow by one per request), then the bare route's
    app = await startApp();
    const steadyApp: LoadResult[] = [];
    const steadyBare: LoadResult[] = [];
    const steadyUrl = `${app.http}/v1/instances/${INSTANCE}/objects/alloc`;
    const steadyBody = JSON.stringify({ cache: "dentry", pid: app.pid, count: 1 });
    // 20,000 requests of warm-up even with --quick: the bare server has had its warm-up and all the
    // pairs since (~100,000 requests); after 5,000 the app's first round still ran at 42 µs CPU/req against 38–40 later
    warmUp(bin, steadyUrl, steadyBody, app.child.pid!, 20_000);
    for (let i = 0; i < opts.steadyRounds; i++)
      steadyApp.push(wrk(bin, steadyUrl, steadyBody, opts.steadySeconds, app.child.pid!));
    for (let i = 0; i < opts.steadyRounds; i++)
      steadyBare.push(wrk(bin, bareUrl, body, opts.steadySeconds, bare.child.pid!));
    return {
      ...cmp,
      coldStartMs,
      coldStartsMs,
      coldStartNodeMs: nodeMs,
      bulkColdPerSec,
      bulkWarmPerSec,
      steadyApp,
      steadyBare,
    };
  } finally {
    await app.stop();
    await bare.stop();
    await ceilingSrv.stop();
    cleanupLua();
  }
}

export interface GrpcOutside extends Compared {
  /** What served the ceiling round: "nghttpd" (C) or, without it, "node:http2". */
  ceilingServer: string;
}

export async function grpcOutside(opts: { seconds: number; pairs: number }): Promise<GrpcOutside> {
  ensureBuilt();
  const nghttpd = findNghttpd();
  const ceilingSrv = nghttpd !== null ? await startNghttpd(nghttpd) : await startBaseline("h2");
  const bare = await startBaseline("grpc");
  const app = await startApp();
  try {
    const ceil = await grpcLoad(`127.0.0.1:${ceilingSrv.port}`, app.pid, ceilingSrv.child.pid!);
    const bareLoad = await grpcLoad(`127.0.0.1:${bare.port}`, app.pid, bare.child.pid!);
    const appLoad = await grpcLoad(app.grpc, app.pid, app.child.pid!, app);
    // warm-up: 3 s each (the JIT of both node servers; some 20,000 calls on a quiet machine)
    await ceil.round(1);
    await bareLoad.round(3);
    await appLoad.round(3);
    const cmp = await interleaved(
      {
        ceiling: () => ceil.round(opts.seconds),
        bare: () => bareLoad.round(opts.seconds),
        app: () => appLoad.round(opts.seconds),
      },
      opts.pairs,
    );
    return { ...cmp, ceilingServer: nghttpd !== null ? "nghttpd" : "node:http2" };
  } finally {
    await app.stop();
    await bare.stop();
    await ceilingSrv.stop();
    if (grpcDir !== null) rmSync(grpcDir, { recursive: true, force: true });
    grpcDir = null;
  }
}

// `npx tsx bench/outside.ts [http|grpc] [--quick]`: this file alone, raw results as JSON
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "gc") {
  const env = Object.fromEntries(process.argv.slice(5).map((kv) => kv.split("=", 2) as [string, string]));
  await gcRounds(Number(process.argv[3] ?? 5), Number(process.argv[4] ?? 5), env);
} else if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "profile") {
  const env = Object.fromEntries(process.argv.slice(4).map((kv) => kv.split("=", 2) as [string, string]));
  await profileApp(Number(process.argv[3] ?? 10), env);
} else if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "profile-grpc") {
  const env = Object.fromEntries(process.argv.slice(4).map((kv) => kv.split("=", 2) as [string, string]));
  await profileApp(Number(process.argv[3] ?? 10), env, "grpc");
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes("--quick");
  if (!process.argv.includes("grpc"))
    console.log(
      JSON.stringify(
        await httpOutside({
          seconds: quick ? 3 : 5,
          pairs: quick ? 3 : 5,
          steadyRounds: 5,
          steadySeconds: quick ? 3 : 5,
          bulkCount: 2_000_000,
          bulkRounds: quick ? 2 : 3,
          quick,
        }),
      ),
    );
  if (!process.argv.includes("http"))
    console.log(JSON.stringify(await grpcOutside({ seconds: quick ? 3 : 5, pairs: quick ? 3 : 5 })));
}

/** Which part of the stack a profile key (`name location`) belongs to. */
function component(key: string): string {
  const where = key.slice(key.lastIndexOf(" ") + 1);
  if (where === "")
    return /^\((idle|program|garbage collector)\)/.test(key) ? key.trim() : "native (syscalls, builtins)";
  if (where.startsWith("node:")) return "node core (http, streams, timers)";
  if (where.startsWith("dist/src/"))
    return `memcg-sim ${where
      .slice(9)
      .split("/")[0]
      .replace(/\.js:.*$/, "")}`;
  return `npm ${where.startsWith("@") ? where.split("/").slice(0, 2).join("/") : where.split("/")[0]}`;
}

/** Self time per function (ms) of a .cpuprofile, top `n`, and the profile's total (ms). */
export function topSelf(
  profileFile: string,
  n: number,
  fromMs = 0,
): { total: number; top: { fn: string; ms: number }[]; parts: { part: string; ms: number }[] } {
  const prof = JSON.parse(readFileSync(profileFile, "utf8")) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  let at = 0;
  prof.samples.forEach((id, i) => {
    at += (prof.timeDeltas[i] ?? 0) / 1000;
    if (at < fromMs) return;
    const cf = byId.get(id)!.callFrame;
    const where = cf.url
      .replace(/^.*\/node_modules\//, "")
      .replace(/^.*\/dist\//, "dist/")
      .replace(/^file:\/\//, "");
    const key = `${cf.functionName || "(anonymous)"} ${where}${where ? `:${cf.lineNumber + 1}` : ""}`;
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const byPart = new Map<string, number>();
  for (const [fn, ms] of self) byPart.set(component(fn), (byPart.get(component(fn)) ?? 0) + ms);
  const parts = [...byPart.entries()].sort((x, y) => y[1] - x[1]).map(([part, ms]) => ({ part, ms }));
  const top = [...self.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, n)
    .map(([fn, ms]) => ({ fn, ms }));
  return { total, top, parts };
}

/**
 * `npx tsx bench/outside.ts profile [SECONDS]`: the compiled server under `node --cpu-prof`
 * (same environment as the benchmark), single-object allocs from wrk for SECONDS, then SIGTERM;
 * prints the top self-time functions. `profile-grpc [SECONDS]`: the same with unary AllocObjects
 * calls from h2load (the gRPC benchmark's generator).
 */
export async function profileApp(
  seconds: number,
  extraEnv: Record<string, string> = {},
  transport: "http" | "grpc" = "http",
): Promise<void> {
  const bin = transport === "http" ? ensureWrk() : ensureH2load();
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), "memcg-sim-prof-"));
  const hp = await freePort();
  const gp = await freePort();
  const t0 = performance.now();
  const p = launch(process.execPath, ["--cpu-prof", "--cpu-prof-dir", dir, MAIN_JS], {
    ...APP_ENV,
    MEMCG_SIM_HTTP_PORT: String(hp),
    MEMCG_SIM_GRPC_PORT: String(gp),
    ...extraEnv,
  });
  const http = `http://127.0.0.1:${hp}`;
  await waitHttp(`${http}/readyz`, 30_000);
  const v1 = `${http}/v1/instances`;
  await postJson(v1, { name: INSTANCE, config: CONFIG });
  await postJson(`${v1}/${INSTANCE}/caches`, {
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true },
  });
  await postJson(`${v1}/${INSTANCE}/cgroups`, { path: "/c" });
  const { pid } = (await postJson(`${v1}/${INSTANCE}/tasks`, { cgroup: "/c" })) as { pid: number };
  const from = performance.now() - t0;
  let r: LoadResult;
  if (transport === "http")
    r = wrk(
      bin,
      `${v1}/${INSTANCE}/objects/alloc`,
      JSON.stringify({ cache: "dentry", pid, count: 1 }),
      seconds,
      p.child.pid!,
    );
  else {
    const body = await allocRequestFile(pid);
    await checkGrpcCall(`127.0.0.1:${gp}`, body);
    r = h2loadRound(bin, `127.0.0.1:${gp}`, body, seconds, p.child.pid!);
  }
  await p.stop();
  cleanupLua();
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (file === undefined) throw new Error(`no profile in ${dir}`);
  const { total, top, parts } = topSelf(join(dir, file), 30, from);
  console.log(
    `${r.rate.toFixed(0)} req/s, ${r.cpuUs.toFixed(0)} µs CPU/request; profile ${join(dir, file)}, ${(total / 1000).toFixed(1)} s sampled under load`,
  );
  for (const t of parts) console.log(`${((100 * t.ms) / total).toFixed(1).padStart(5)}%  ${t.part}`);
  console.log("top self time:");
  for (const t of top) console.log(`${((100 * t.ms) / total).toFixed(1).padStart(5)}%  ${t.fn}`);
}

/**
 * `npx tsx bench/outside.ts gc ROUNDS SECONDS [ENV=VALUE...]`: the compiled server under
 * `--trace-gc`, ROUNDS back-to-back wrk rounds of single-object allocs; per round: req/s, CPU µs per
 * request, GC pauses (count, ms) and the heap after the round's last mark-compact.
 */
export async function gcRounds(
  rounds: number,
  seconds: number,
  extraEnv: Record<string, string> = {},
): Promise<void> {
  const bin = ensureWrk();
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), "memcg-sim-gc-"));
  const log = join(dir, "trace-gc.txt");
  const fd = openSync(log, "w");
  const hp = await freePort();
  const gp = await freePort();
  const p = launch(
    process.execPath,
    ["--trace-gc", MAIN_JS],
    {
      ...APP_ENV,
      MEMCG_SIM_HTTP_PORT: String(hp),
      MEMCG_SIM_GRPC_PORT: String(gp),
      MEMCG_SIM_LOG_LEVEL: "warn",
      ...extraEnv,
    },
    fd,
  );
  const http = `http://127.0.0.1:${hp}`;
  await waitHttp(`${http}/readyz`, 30_000);
  const v1 = `${http}/v1/instances`;
  await postJson(v1, { name: INSTANCE, config: CONFIG });
  await postJson(`${v1}/${INSTANCE}/caches`, {
    name: "dentry",
    objectSizeBytes: 192,
    flags: { account: true },
  });
  await postJson(`${v1}/${INSTANCE}/cgroups`, { path: "/c" });
  const { pid } = (await postJson(`${v1}/${INSTANCE}/tasks`, { cgroup: "/c" })) as { pid: number };
  const url = `${v1}/${INSTANCE}/objects/alloc`;
  const body = JSON.stringify({ cache: "dentry", pid, count: 1 });
  const gcLines = () =>
    readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => / ms: (Scavenge|Mark-Compact|Mark-sweep)/i.test(l));
  let seen = gcLines().length;
  for (let i = 0; i < rounds; i++) {
    const r = wrk(bin, url, body, seconds, p.child.pid!);
    const lines = gcLines();
    const mine = lines.slice(seen);
    seen = lines.length;
    let scav = 0;
    let scavMs = 0;
    let major = 0;
    let majorMs = 0;
    let heapAfter = Number.NaN;
    for (const l of mine) {
      const m =
        /(Scavenge|Mark-Compact|Mark-sweep)[^\d]*[\d.]+ \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ ([\d.]+) ms/i.exec(
          l,
        );
      if (m === null) continue;
      const ms = Number(m[5]);
      if (m[1] === "Scavenge") {
        scav++;
        scavMs += ms;
      } else {
        major++;
        majorMs += ms;
        heapAfter = Number(m[3]);
      }
    }
    console.log(
      `round ${i + 1}: ${r.rate.toFixed(0)} req/s, ${r.cpuUs.toFixed(0)} µs CPU/req, scavenges ${scav} (${scavMs.toFixed(0)} ms), ` +
        `mark-compacts ${major} (${majorMs.toFixed(0)} ms), heap after last mark-compact ${heapAfter} MB`,
    );
  }
  await p.stop();
  closeSync(fd);
  cleanupLua();
  console.log(`trace: ${log}`);
}

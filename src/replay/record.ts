import { execFileSync, spawn } from "node:child_process";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { cpus as osCpus } from "node:os";
import { basename, join } from "node:path";
import { createGzip } from "node:zlib";
import { readTraceLines } from "./input.js";
import {
  EV_CACHE_ALLOC,
  EV_CACHE_FREE,
  EV_EXIT,
  EV_FORK,
  EV_KFREE,
  EV_KMALLOC,
  EV_PAGE_ALLOC,
  EV_PAGE_FREE,
  newEvent,
  parseLine,
} from "./parse.js";
import { isNullPtr } from "./replay.js";

/**
 * `memcg-sim record` (issue #15): runs a command in fresh memory cgroups of this host with the kmem
 * tracepoints on, and writes a recording (meta.json + trace.txt.gz, the layout of docs/REPLAY.md).
 *
 * What it touches, and how it puts it back:
 * - tracefs: mounted at /sys/kernel/tracing if it is not (unmounted at the end); the events are
 *   enabled in a tracing *instance* of its own (instances/memcg-sim-<pid>, its own ring buffer),
 *   never in the global buffer, and the instance is removed at the end: no global setting changes.
 * - cgroups: a parent `memcg-sim-record-<pid>` under the memory controller's root, with one child
 *   per sibling; every workload process is killed if still alive at the end, then the cgroups are
 *   removed. On SIGINT/SIGTERM and on errors the same cleanup runs.
 */
export class RecordError extends Error {}

export interface RecordOptions {
  out: string;
  command: string[];
  limit: number | null;
  cpus: number[];
  siblings: number;
  pages: boolean;
  /** Ring buffer per CPU in KiB (the trace is read once the workload is done; overruns are reported). */
  bufferKb: number;
  log: (s: string) => void;
}

const V1_FILES = [
  "memory.kmem.usage_in_bytes",
  "memory.usage_in_bytes",
  "memory.failcnt",
  "memory.kmem.failcnt",
  "memory.max_usage_in_bytes",
  "memory.kmem.max_usage_in_bytes",
  "memory.limit_in_bytes",
  "memory.oom_control",
  "memory.stat",
];
const V2_FILES = ["memory.current", "memory.max", "memory.events", "memory.stat"];

interface Host {
  tracefs: string;
  mountedTracefs: boolean;
  cgroupRoot: string;
  version: 1 | 2;
}

/** Where this host's memory controller and tracefs are; a clear refusal where it cannot record. */
export function probeHost(): Omit<Host, "mountedTracefs"> & { tracefsMounted: boolean } {
  if (process.platform !== "linux")
    throw new RecordError("record needs Linux (tracefs and the memory cgroup controller)");
  if (typeof process.getuid !== "function" || process.getuid() !== 0)
    throw new RecordError(
      "record needs root: it creates memory cgroups and enables kmem tracepoints (run it with sudo)",
    );
  let version: 1 | 2;
  let cgroupRoot: string;
  if (
    existsSync("/sys/fs/cgroup/memory/memory.usage_in_bytes") ||
    existsSync("/sys/fs/cgroup/memory/cgroup.procs")
  ) {
    version = 1;
    cgroupRoot = "/sys/fs/cgroup/memory";
  } else if (
    existsSync("/sys/fs/cgroup/cgroup.controllers") &&
    readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").split(/\s+/).includes("memory")
  ) {
    version = 2;
    cgroupRoot = "/sys/fs/cgroup";
  } else
    throw new RecordError(
      "no memory cgroup controller found (neither /sys/fs/cgroup/memory nor memory in /sys/fs/cgroup/cgroup.controllers)",
    );
  const mounts = readFileSync("/proc/mounts", "utf8");
  const line = mounts.split("\n").find((l) => l.split(" ")[2] === "tracefs");
  const tracefs = line !== undefined ? line.split(" ")[1] : "/sys/kernel/tracing";
  if (line === undefined && !existsSync(tracefs))
    throw new RecordError("tracefs is not mounted and /sys/kernel/tracing does not exist");
  return { tracefs, tracefsMounted: line !== undefined, cgroupRoot, version };
}

function readCgroupFiles(dir: string, version: 1 | 2): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of version === 1 ? V1_FILES : V2_FILES) {
    const p = join(dir, f);
    if (!existsSync(p)) continue;
    const text = readFileSync(p, "utf8").trim();
    if (f === "memory.stat" || f === "memory.oom_control" || f === "memory.events") {
      const o: Record<string, number> = {};
      for (const l of text.split("\n")) {
        const [k, v] = l.split(/\s+/);
        if (k !== undefined && v !== undefined && /^\d+$/.test(v)) o[k] = Number(v);
      }
      out[f] = o;
    } else out[f] = /^\d+$/.test(text) ? Number(text) : text;
  }
  return out;
}

function cacheGeometry(name: string): Record<string, unknown> | null {
  const d = join("/sys/kernel/slab", name);
  if (!existsSync(d)) return null;
  const n = (f: string) => Number(readFileSync(join(d, f), "utf8").trim());
  const b = (f: string) => existsSync(join(d, f)) && readFileSync(join(d, f), "utf8").trim() === "1";
  return {
    object_size: n("object_size"),
    slab_size: n("slab_size"),
    objs_per_slab: n("objs_per_slab"),
    order: n("order"),
    align: n("align"),
    reclaim_account: b("reclaim_account"),
    destroy_by_rcu: b("destroy_by_rcu"),
    hwcache_align: b("hwcache_align"),
  };
}

/**
 * Keeps what the replay needs from a system-wide trace: allocations of the workload's pids (a
 * fork adds the child), frees of the objects they allocated (by pointer, whoever frees), the
 * ACCOUNT pages they allocated and their frees (by pfn), the workload's forks and exits.
 */
export class TraceFilter {
  readonly pids: Set<number>;
  private readonly ptrs = new Set<string>();
  private readonly pfns = new Set<string>();
  private readonly ev = newEvent();
  readonly caches = new Set<string>();
  /** A forked child's parent (the child belongs to its parent's cgroup). */
  readonly parentOf = new Map<number, number>();
  kept = 0;

  constructor(pids: Iterable<number>) {
    this.pids = new Set(pids);
  }

  keep(line: string): boolean {
    const ev = this.ev;
    if (parseLine(line, ev) !== null) return false;
    let k = false;
    switch (ev.type) {
      case EV_CACHE_ALLOC:
      case EV_KMALLOC:
        if (this.pids.has(ev.pid)) {
          if (!isNullPtr(ev.ptr)) this.ptrs.add(ev.ptr);
          if (ev.cache !== "") this.caches.add(ev.cache);
          k = true;
        }
        break;
      case EV_CACHE_FREE:
      case EV_KFREE:
        k = this.ptrs.delete(ev.ptr);
        break;
      case EV_PAGE_ALLOC:
        if (this.pids.has(ev.pid) && ev.gfp.includes("ACCOUNT")) {
          this.pfns.add(ev.pfn);
          k = true;
        }
        break;
      case EV_PAGE_FREE:
        k = this.pfns.delete(ev.pfn);
        break;
      case EV_FORK:
        if (this.pids.has(ev.pid)) {
          this.pids.add(ev.childPid);
          this.parentOf.set(ev.childPid, ev.pid);
          k = true;
        }
        break;
      case EV_EXIT:
        k = this.pids.has(ev.childPid);
        break;
    }
    if (k) this.kept++;
    return k;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the recording; resolves with the number of trace lines written. */
export async function record(opts: RecordOptions): Promise<number> {
  const probe = probeHost();
  const caseName = basename(opts.out) || "record";
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(caseName))
    throw new RecordError(
      `--out ${opts.out}: its last part names the case and cgroups; use letters, digits, _ . -`,
    );
  const nrCpus = osCpus().length;
  for (const c of opts.cpus)
    if (c >= nrCpus) throw new RecordError(`--cpus: CPU ${c} does not exist (this host has ${nrCpus})`);
  const host: Host = { ...probe, mountedTracefs: false };
  const id = `memcg-sim-${process.pid}`;
  const parent = join(host.cgroupRoot, `memcg-sim-record-${process.pid}`);
  const names = Array.from({ length: opts.siblings }, (_, i) => `${caseName}-${i}`);
  const inst = () => join(host.tracefs, "instances", id);
  const children: ReturnType<typeof spawn>[] = [];
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    // wait (bounded) for the cgroups to empty, then remove them
    for (const n of [...names, ""]) {
      const d = n === "" ? parent : join(parent, n);
      for (let i = 0; i < 50 && existsSync(d); i++) {
        try {
          rmdirSync(d);
        } catch {
          execFileSync("sleep", ["0.1"]);
        }
      }
      if (existsSync(d)) opts.log(`record: could not remove ${d} (still busy); remove it with rmdir`);
    }
    if (existsSync(inst())) {
      try {
        rmdirSync(inst());
      } catch (e) {
        opts.log(`record: could not remove the tracing instance ${inst()}: ${(e as Error).message}`);
      }
    }
    if (host.mountedTracefs) {
      try {
        execFileSync("umount", [host.tracefs]);
      } catch (e) {
        opts.log(`record: could not unmount ${host.tracefs}: ${(e as Error).message}`);
      }
    }
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    if (!probe.tracefsMounted) {
      execFileSync("mount", ["-t", "tracefs", "nodev", host.tracefs]);
      host.mountedTracefs = true;
    }
    mkdirSync(inst());
    writeFileSync(join(inst(), "buffer_size_kb"), String(opts.bufferKb));
    const events = ["kmem/kmem_cache_alloc", "kmem/kmalloc", "kmem/kmem_cache_free", "kmem/kfree"];
    if (opts.pages)
      events.push(
        "kmem/mm_page_alloc",
        "kmem/mm_page_free",
        "sched/sched_process_fork",
        "sched/sched_process_exit",
      );
    mkdirSync(parent);
    if (host.version === 1) writeFileSync(join(parent, "memory.use_hierarchy"), "1");
    else writeFileSync(join(parent, "cgroup.subtree_control"), "+memory");
    for (const n of names) {
      mkdirSync(join(parent, n));
      if (opts.limit !== null)
        writeFileSync(
          join(parent, n, host.version === 1 ? "memory.limit_in_bytes" : "memory.max"),
          String(opts.limit),
        );
    }
    const snapshot = () => {
      const o: Record<string, unknown> = { parent: readCgroupFiles(parent, host.version) };
      for (const n of names) o[n] = readCgroupFiles(join(parent, n), host.version);
      return o;
    };
    for (const e of events) writeFileSync(join(inst(), "events", e, "enable"), "1");
    const before = snapshot();
    // each sibling: a shell joins its cgroup, then execs the command pinned to its CPU
    const pids: Record<string, string> = {};
    const exits: Promise<{ name: string; pid: number; code: number | null; signal: string | null }>[] = [];
    names.forEach((n, i) => {
      const cpu = opts.cpus[i % opts.cpus.length];
      const procs = join(parent, n, "cgroup.procs");
      const c = spawn(
        "/bin/sh",
        ["-c", 'echo $$ > "$1" && shift && exec taskset -c "$@"', "sh", procs, String(cpu), ...opts.command],
        {
          stdio: ["ignore", "inherit", "inherit"],
        },
      );
      children.push(c);
      pids[String(c.pid)] = n;
      exits.push(
        new Promise((r) => c.on("exit", (code, signal) => r({ name: n, pid: c.pid!, code, signal }))),
      );
    });
    const t0 = performance.now();
    const ended = await Promise.all(exits);
    const seconds = (performance.now() - t0) / 1000;
    await sleep(2000); // RCU frees land, as the shared recordings did
    const after = snapshot();
    for (const e of events) writeFileSync(join(inst(), "events", e, "enable"), "0");
    const overrun = nrCpusOverrun(inst(), nrCpus);
    // the instance's buffer, filtered, to trace.txt.gz
    mkdirSync(opts.out, { recursive: true });
    const filter = new TraceFilter(Object.keys(pids).map(Number));
    const gz = createGzip();
    const outStream = createWriteStream(join(opts.out, "trace.txt.gz"));
    gz.pipe(outStream);
    await readTraceLines(createReadStream(join(inst(), "trace")), "no", (line) => {
      if (filter.keep(line)) gz.write(`${line}\n`);
    });
    gz.end();
    await new Promise<void>((r) => outStream.on("close", () => r()));
    const allPids: Record<string, string> = { ...pids };
    for (const p of filter.pids) {
      let root = p;
      while (filter.parentOf.has(root)) root = filter.parentOf.get(root)!;
      if (allPids[String(p)] === undefined && pids[String(root)] !== undefined)
        allPids[String(p)] = pids[String(root)];
    }
    const caches: Record<string, unknown> = {};
    for (const c of [...filter.caches].sort()) {
      const g = cacheGeometry(c);
      if (g !== null) caches[c] = g;
    }
    const uname = execFileSync("uname", ["-r"], { encoding: "utf8" }).trim();
    const meta = {
      case: caseName,
      mode: "command",
      command: opts.command,
      kernel: uname,
      cgroup: host.version === 1 ? "v1" : "v2",
      page_size: 4096,
      cpus: opts.cpus,
      nr_cpus: nrCpus,
      siblings: opts.siblings,
      limit: opts.limit,
      pids: allPids,
      page_events: opts.pages,
      seconds: Math.round(seconds * 1000) / 1000,
      killed: ended
        .filter((e) => e.signal === "SIGKILL")
        .map((e) => ({ cgroup: e.name, pid: e.pid, rc: -9 })),
      before,
      after,
      trace_lines: filter.kept,
      overrun,
      caches,
    };
    writeFileSync(join(opts.out, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
    if (overrun > 0)
      opts.log(`record: the ring buffer lost ${overrun} events: record again with a larger --buffer-kb`);
    return filter.kept;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanup();
  }
}

/** Events lost to a full ring buffer (`per_cpu/cpuN/stats`, overrun). */
function nrCpusOverrun(instDir: string, nrCpus: number): number {
  let n = 0;
  for (let c = 0; c < nrCpus; c++) {
    const p = join(instDir, "per_cpu", `cpu${c}`, "stats");
    if (!existsSync(p)) continue;
    const m = /^overrun: (\d+)$/m.exec(readFileSync(p, "utf8"));
    if (m !== null) n += Number(m[1]);
  }
  return n;
}

export function listTracingInstances(tracefs: string): string[] {
  const d = join(tracefs, "instances");
  return existsSync(d) ? readdirSync(d) : [];
}

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TraceInputError } from "./input.js";
import type { CacheGeometry } from "./replay.js";

/** `meta.json` of a recording (the layout of docs/REPLAY.md): the fields the replay reads. */
export interface RecordingMeta {
  case?: string;
  kernel?: string;
  cgroup?: string;
  page_size?: number;
  cpus?: number[];
  /** CPUs of the recording host (`nproc`); older recordings lack it. */
  nr_cpus?: number;
  siblings?: number;
  limit?: number | null;
  pids: Record<string, string>;
  page_events?: boolean;
  before?: Record<string, Record<string, unknown>>;
  after?: Record<string, Record<string, unknown>>;
  caches?: Record<string, CacheGeometry>;
  killed?: unknown[];
  trace_lines?: number;
}

export interface Recording {
  dir: string;
  meta: RecordingMeta;
  tracePath: string;
  traceBytes: number;
}

/** The name of the common parent cgroup in a recording's `before`/`after`. */
export const PARENT = "parent";

const TRACE_NAMES = ["trace.txt.gz", "trace.txt", "trace.perf.txt.gz", "trace.perf.txt"];

function bad(message: string, details: Record<string, unknown> = {}): never {
  throw new TraceInputError("BAD_RECORDING", message, details);
}

/**
 * Validates a parsed meta.json: every pid maps to a cgroup named in `before` (when present), no
 * cgroup named `parent` receives pids, every counter the report compares is a number.
 */
export function checkMeta(meta: unknown, where: string): RecordingMeta {
  if (typeof meta !== "object" || meta === null || Array.isArray(meta))
    bad(`${where}: meta.json is not a JSON object`);
  const m = meta as RecordingMeta;
  if (typeof m.pids !== "object" || m.pids === null || Object.keys(m.pids).length === 0)
    bad(`${where}: meta.json has no "pids" (pid → cgroup name)`);
  for (const [pid, cg] of Object.entries(m.pids)) {
    if (!/^[1-9]\d{0,6}$/.test(pid)) bad(`${where}: pid "${pid}" in meta.json "pids" is not a pid`, { pid });
    if (typeof cg !== "string" || !/^[A-Za-z0-9_@+-][A-Za-z0-9_.:@+-]{0,254}$/.test(cg) || cg === PARENT)
      bad(`${where}: pid ${pid} maps to an invalid cgroup name ${JSON.stringify(cg)}`, { pid });
    if (m.before !== undefined && m.before[cg] === undefined)
      bad(`${where}: pid ${pid} maps to cgroup "${cg}", which meta.json "before" does not list`, {
        pid,
        cgroup: cg,
      });
  }
  if (
    m.cpus !== undefined &&
    (!Array.isArray(m.cpus) || m.cpus.some((c) => !Number.isInteger(c) || c < 0 || c > 255))
  )
    bad(`${where}: meta.json "cpus" must be a list of CPU numbers`);
  if (m.limit !== undefined && m.limit !== null && !(Number.isSafeInteger(m.limit) && m.limit > 0))
    bad(`${where}: meta.json "limit" must be a positive byte count or null`);
  return m;
}

/** Opens a recording directory: its meta.json and its trace file. */
export function openRecording(dir: string): Recording {
  if (!existsSync(dir)) bad(`${dir}: no such recording directory`, { dir });
  if (!statSync(dir).isDirectory())
    bad(`${dir}: not a directory (a recording is a directory with meta.json and trace.txt.gz)`);
  const metaPath = join(dir, "meta.json");
  if (!existsSync(metaPath))
    bad(`${dir}: no meta.json (a recording needs meta.json beside its trace)`, { dir });
  let meta: unknown;
  try {
    meta = JSON.parse(readFileSync(metaPath, "utf8"));
  } catch (e) {
    bad(`${metaPath}: not valid JSON: ${(e as Error).message}`);
  }
  const m = checkMeta(meta, metaPath);
  const name = TRACE_NAMES.find((n) => existsSync(join(dir, n)));
  if (name === undefined) bad(`${dir}: no trace file (looked for ${TRACE_NAMES.join(", ")})`, { dir });
  const tracePath = join(dir, name);
  return { dir, meta: m, tracePath, traceBytes: statSync(tracePath).size };
}

/** The real delta `after − before` of the report's counters for one cgroup of a recording. */
export function realDelta(meta: RecordingMeta, cgroup: string): Record<string, number> | null {
  const b = meta.before?.[cgroup];
  const a = meta.after?.[cgroup];
  if (b === undefined || a === undefined) return null;
  const num = (o: Record<string, unknown>, k: string) => (typeof o[k] === "number" ? (o[k] as number) : 0);
  if (meta.cgroup === "v2") {
    // cgroup v2: kmem is memory.stat `kernel`, usage memory.current, failures memory.events `max`
    const sub = (o: Record<string, unknown>, f: string, k: string) => {
      const v = (o[f] as Record<string, unknown> | undefined)?.[k];
      return typeof v === "number" ? v : 0;
    };
    return {
      "memory.kmem.usage_in_bytes": sub(a, "memory.stat", "kernel") - sub(b, "memory.stat", "kernel"),
      "memory.usage_in_bytes": num(a, "memory.current") - num(b, "memory.current"),
      "memory.failcnt": sub(a, "memory.events", "max") - sub(b, "memory.events", "max"),
      oom_kill: sub(a, "memory.events", "oom_kill") - sub(b, "memory.events", "oom_kill"),
    };
  }
  const oom = (o: Record<string, unknown>) => {
    const c = o["memory.oom_control"] as Record<string, unknown> | undefined;
    return c !== undefined && typeof c.oom_kill === "number" ? c.oom_kill : 0;
  };
  return {
    "memory.kmem.usage_in_bytes": num(a, "memory.kmem.usage_in_bytes") - num(b, "memory.kmem.usage_in_bytes"),
    "memory.usage_in_bytes": num(a, "memory.usage_in_bytes") - num(b, "memory.usage_in_bytes"),
    "memory.failcnt": num(a, "memory.failcnt") - num(b, "memory.failcnt"),
    oom_kill: oom(a) - oom(b),
  };
}

import { type Command, EngineError, fail } from "../engine/index.js";
import type { Registry } from "../registry.js";
import { type GzipMode, readTraceBytes, TraceInputError } from "./input.js";
import { ByteParser, newEvent } from "./parse.js";
import { type Counters, Replayer, readCounters, subCounters } from "./replay.js";
import { instanceTarget, type ModelReport } from "./run.js";

/** Replays running at once over the service (a server limit: LIMIT_EXCEEDED beyond). */
export const MAX_CONCURRENT_REPLAYS = 2;
let running = 0;

/**
 * Parses a pid → cgroup map: `PID=PATH` items separated by commas (query `pidCgroup`, header
 * `memcg-sim-pid-cgroup`, gRPC `pid_cgroup`). INVALID_ARGUMENT names the bad item.
 */
export function parsePidMap(items: readonly string[]): Map<number, string> {
  const map = new Map<number, string>();
  for (const raw of items.flatMap((s) => s.split(","))) {
    const item = raw.trim();
    if (item === "") continue;
    const m = /^([1-9]\d{0,6})=(\/\S*)$/.exec(item);
    if (m === null || Number(m[1]) > 4194304)
      fail("INVALID_ARGUMENT", `pid map item "${item}" is not PID=/cgroup/path`, {
        issues: [{ path: "pidCgroup", message: "expected PID=/path" }],
      });
    map.set(Number(m[1]), m[2]);
  }
  if (map.size === 0)
    fail("INVALID_ARGUMENT", "a replay needs a pid → cgroup map (pidCgroup=PID=/path,...)", {
      issues: [{ path: "pidCgroup", message: "empty" }],
    });
  return map;
}

/**
 * Replays a trace streamed from `source` into the registry's instance `name`, as its own commands
 * (journaled, in the metrics, in the event stream): the pids of `pidCgroups` are placed (spawned
 * where absent; an existing task must already be in its cgroup), the trace applied line by line,
 * and the summary of `memcg-sim replay --json` for that instance's model returned (real: null).
 * Checked before anything changes: the instance, every cgroup, every task, the gzip magic. A trace
 * that turns out bad later (truncated gzip) stops the replay where it breaks: the lines before it
 * stay applied, and the error says how many.
 */
export async function replayIntoInstance(
  registry: Registry,
  name: string,
  source: AsyncIterable<Buffer | string>,
  pidCgroups: Map<number, string>,
  gzip: GzipMode,
): Promise<ModelReport> {
  const entry = registry.get(name);
  const inst = entry.instance;
  for (const [pid, path] of pidCgroups) {
    const cg = inst.lookup(path);
    const t = inst.taskAt(pid);
    if (t !== undefined && t.cgroup !== cg)
      fail("INVALID_ARGUMENT", `task ${pid} is in ${t.cgroup.path || "/"}, not in ${path}`, {
        pid,
        cgroup: path,
      });
  }
  if (running >= MAX_CONCURRENT_REPLAYS)
    fail("LIMIT_EXCEEDED", `at most ${MAX_CONCURRENT_REPLAYS} replays run at once`, {
      limit: "maxConcurrentReplays",
      value: MAX_CONCURRENT_REPLAYS,
    });
  running++;
  try {
    const exec = (c: Command) => registry.execute(name, c);
    const target = instanceTarget(inst, exec);
    const paths = [...new Set(pidCgroups.values())];
    const labels = new Map(paths.map((p) => [p, p]));
    const replayer = new Replayer(target, {
      pidCgroups: new Map(pidCgroups),
      labels,
      caches: {},
      cpuOf: (pid) => inst.taskAt(pid)?.cpu ?? 0,
    });
    const baseline = new Map<string, Counters>(paths.map((p) => [p, readCounters(target, p, 0)]));
    let spawned = false;
    const ev = newEvent();
    // the lines' bytes parsed as they are (no string per line), as the recording replay does
    const parser = new ByteParser();
    let usable = 0;
    let total = 0;
    try {
      total = await readTraceBytes(source, gzip, (buf, s, e, lineNo) => {
        if (!spawned) {
          // the first line arrived (the gzip magic checked): place the pids
          for (const [pid, path] of pidCgroups)
            if (inst.taskAt(pid) === undefined) exec({ op: "spawnTask", cgroup: path, pid });
          spawned = true;
        }
        const reason = parser.parse(buf, s, e, ev);
        if (reason === null) {
          usable++;
          replayer.event(ev, lineNo);
        } else replayer.unusable(reason);
      });
    } catch (e) {
      replayer.flush();
      if (e instanceof TraceInputError)
        throw new EngineError(
          "INVALID_ARGUMENT",
          `${e.message}${spawned ? `; the ${replayer.counts.parsed} lines before it were applied` : ""}`,
          {
            reason: e.code,
            ...e.details,
            appliedLines: replayer.counts.parsed,
          },
        );
      throw e;
    }
    replayer.finish(0);
    if (total === 0) fail("INVALID_ARGUMENT", "the trace is empty", { reason: "EMPTY_TRACE" });
    if (usable === 0 || replayer.counts.used === 0)
      fail(
        "INVALID_ARGUMENT",
        `none of the trace's ${total} lines could be used (${JSON.stringify(replayer.counts.skipped)})`,
        {
          reason: "NO_USABLE_LINE",
          skipped: replayer.counts.skipped,
        },
      );
    const cgroups: ModelReport["cgroups"] = {};
    for (const p of paths) {
      const kills = replayer.killsByPath.get(p) ?? 0;
      cgroups[p] = { predicted: subCounters(readCounters(target, p, kills), baseline.get(p)!), real: null };
    }
    const out: ModelReport = { cgroups, oomKills: replayer.oomKills, lines: replayer.counts };
    if (Object.keys(replayer.notes).length > 0) out.notes = replayer.notes;
    return out;
  } finally {
    running--;
  }
}

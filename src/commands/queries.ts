import {
  cacheView,
  cgroupView,
  fail,
  procMeminfo,
  procSlabinfo,
  type SimEvent,
  taskView,
} from "../engine/index.js";
import type { Registry } from "../registry.js";

/**
 * The read side of docs/API.md §4, §7 and §8: what GET routes and their gRPC twins answer. Mutations
 * go through `Registry.execute`; reads have no command, so they live here once, and REST and gRPC
 * answer the same JSON by construction (docs/API.md §10: "the same request gives the same result").
 * Each function throws the EngineError a missing instance, cgroup, cache, task or file deserves.
 */

/** `GET .../cgroups`: every cgroup not yet released (online and still pinned dying), pre-order, root first. */
export function listCgroups(registry: Registry, instance: string) {
  const sim = registry.get(instance).instance;
  return { cgroups: sim.allCgroups().map((cg) => cgroupView(sim, cg)) };
}

/** `GET .../cgroups/{path}`: the online cgroup at path, else the newest dying one there. */
export function getCgroup(registry: Registry, instance: string, path: string) {
  const sim = registry.get(instance).instance;
  return cgroupView(sim, sim.lookup(path, true));
}

/** `GET .../caches`: every root cache in creation order. */
export function listCaches(registry: Registry, instance: string) {
  const sim = registry.get(instance).instance;
  return { caches: [...sim.slab.caches.values()].map((c) => cacheView(sim, c)) };
}

export function getCache(registry: Registry, instance: string, name: string) {
  const sim = registry.get(instance).instance;
  return cacheView(sim, sim.cache(name));
}

/** `GET .../tasks`: every live task, by pid (as `ps` lists them). */
export function listTasks(registry: Registry, instance: string) {
  const sim = registry.get(instance).instance;
  return { tasks: [...sim.tasks.values()].sort((a, b) => a.pid - b.pid).map(taskView) };
}

export function getTask(registry: Registry, instance: string, pid: number) {
  if (!Number.isSafeInteger(pid) || pid < 1)
    fail("INVALID_ARGUMENT", `invalid pid ${pid}`, {
      issues: [{ path: "pid", message: "must be a positive integer" }],
    });
  return taskView(registry.get(instance).instance.task(pid));
}

/** `GET .../fs/{cgroup}/{file}`: the text as the kernel prints it; ENOENT for a file this cgroup lacks. */
export function readFile(registry: Registry, instance: string, cgroup: string, file: string): string {
  const sim = registry.get(instance).instance;
  if (typeof file !== "string" || file.length === 0 || file.length > 128)
    fail("INVALID_ARGUMENT", "invalid file name", {
      issues: [{ path: "file", message: "must be 1–128 characters" }],
    });
  return sim.readFile(cgroup, file);
}

export function readProcSlabinfo(registry: Registry, instance: string): string {
  return procSlabinfo(registry.get(instance).instance);
}

export function readProcMeminfo(registry: Registry, instance: string): string {
  return procMeminfo(registry.get(instance).instance);
}

export const DEFAULT_EVENT_PAGE = 1000;
export const MAX_EVENT_PAGE = 10_000;

/**
 * `GET .../events?sinceSeq=N` (JSON page): kept events with seq ≥ sinceSeq, oldest first.
 * `nextSeq` is what to ask for next: one past the last event returned, else the log's next
 * sequence number (lower than sinceSeq after a reset, so a poller notices the restart).
 */
export function listEvents(
  registry: Registry,
  instance: string,
  sinceSeq = 0,
  limit = DEFAULT_EVENT_PAGE,
): { events: SimEvent[]; nextSeq: number } {
  const log = registry.get(instance).instance.events;
  if (!Number.isSafeInteger(sinceSeq) || sinceSeq < 0)
    fail("INVALID_ARGUMENT", "sinceSeq must be an integer ≥ 0", {
      issues: [{ path: "sinceSeq", message: "must be ≥ 0" }],
    });
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_EVENT_PAGE)
    fail("INVALID_ARGUMENT", `limit must be an integer in [1, ${MAX_EVENT_PAGE}]`, {
      issues: [{ path: "limit", message: "out of range" }],
    });
  const events = log.since(sinceSeq, limit);
  const nextSeq = events.length > 0 ? events[events.length - 1].seq + 1 : log.nextSeq;
  return { events, nextSeq };
}

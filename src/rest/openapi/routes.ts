import { z } from "zod";
import { createInstanceBody } from "../../commands/instance-body.js";
import {
  advanceClockBody,
  allocObjectsBody,
  allocPagesBody,
  batchBody,
  commandSchema,
  createCacheBody,
  createCgroupBody,
  freeObjectsBody,
  freePagesBody,
  instanceConfigSchema,
  moveTaskBody,
  reclaimBody,
  spawnTaskBody,
  updateCgroupBody,
} from "../../commands/schemas.js";
import { compareRequestSchema } from "../../compare/rest.js";
import { exportDocSchema } from "../../persistence/index.js";
import { startSweepBodySchema } from "../../sweep/service.js";
import { sweepListSchema, sweepStatusSchema } from "../routes/sweeps.js";
import * as R from "./responses.js";

/** Request schemas as they appear in components.schemas (the same zod the routes parse with). */
export const REQUEST_SCHEMAS: Record<string, z.ZodType> = {
  InstanceConfigInput: instanceConfigSchema,
  CreateInstanceRequest: createInstanceBody,
  CreateCgroupRequest: createCgroupBody,
  UpdateCgroupRequest: updateCgroupBody,
  CreateCacheRequest: createCacheBody,
  SpawnTaskRequest: spawnTaskBody,
  MoveTaskRequest: moveTaskBody,
  AllocObjectsRequest: allocObjectsBody,
  FreeObjectsRequest: freeObjectsBody,
  AllocPagesRequest: allocPagesBody,
  FreePagesRequest: freePagesBody,
  ReclaimRequest: reclaimBody,
  AdvanceClockRequest: advanceClockBody,
  Command: commandSchema,
  // The route parses each command in its own slot; the document shows what a slot must hold.
  BatchRequest: batchBody.extend({ commands: z.array(commandSchema).max(100_000) }).strict(),
  // the body of import and the answer of export: one document
  ExportDocument: exportDocSchema,
  CompareRequest: compareRequestSchema,
  StartSweepRequest: startSweepBodySchema,
};

export const RESPONSE_SCHEMAS: Record<string, z.ZodType> = {
  InstanceConfig: R.instanceConfigOut,
  Instance: R.instance,
  InstanceList: R.instanceList,
  Cgroup: R.cgroup,
  CgroupList: R.cgroupList,
  Cache: R.cache,
  CacheList: R.cacheList,
  Task: R.task,
  TaskList: R.taskList,
  AllocResult: R.allocResult,
  FreeResult: R.freeResult,
  ReclaimResult: R.reclaimResult,
  ClockResult: R.clockResult,
  BatchResult: R.batchResult,
  Event: R.simEvent,
  EventPage: R.eventPage,
  Health: R.health,
  Problem: R.problemOut,
  CompareResult: R.compareResult,
  SweepStatus: sweepStatusSchema,
  SweepList: sweepListSchema,
  ReplayResult: R.replayResult,
};

type Param = "name" | "path" | "cache" | "pid" | "fsPath" | "id";
/** What a route answers on success: a component schema, text/plain, an SSE stream, or nothing. */
type Ok = {
  status: number;
  schema?: string;
  text?: string;
  yaml?: boolean;
  html?: boolean;
  sse?: boolean;
  ndjson?: string;
};

export interface RouteDoc {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  params?: Param[];
  query?: "events" | "import" | "replay";
  body?: string;
  textBody?: boolean;
  /** A streamed trace body (text/plain or gzip). */
  streamBody?: boolean;
  ok: Ok;
  errors: number[];
}

// Error statuses by kind of route: reads of an instance's resource, mutations with a JSON body.
const READ = [400, 404, 500];
const WRITE = [400, 404, 409, 413, 415, 429, 500];

const I = "/v1/instances/{name}";

/** Every route of docs/API.md §1 and §3–§8, /metrics (src/metrics/plugin.ts) and export/import. */
export const ROUTES: RouteDoc[] = [
  {
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    tag: "metrics",
    summary:
      "Prometheus text (0.0.4): memcg_sim_* families of every simulation, request histograms, process metrics",
    description: "Open even when the server requires a token (Prometheus scrapes carry none).",
    ok: { status: 200, text: "Prometheus text exposition format 0.0.4" },
    errors: [500],
  },
  {
    method: "get",
    path: "/metrics/cadvisor",
    operationId: "getCadvisorMetrics",
    tag: "metrics",
    summary: "The same state under cAdvisor names (container_memory_*), label id = cgroup path",
    ok: { status: 200, text: "Prometheus text exposition format 0.0.4" },
    errors: [500],
  },
  {
    method: "get",
    path: "/livez",
    operationId: "livez",
    tag: "health",
    summary: "The process is up",
    ok: { status: 200, schema: "Health" },
    errors: [500],
  },
  {
    method: "get",
    path: "/readyz",
    operationId: "readyz",
    tag: "health",
    summary: "Both listeners bound and state loaded (503 NOT_READY before)",
    ok: { status: 200, schema: "Health" },
    errors: [500, 503],
  },
  {
    method: "get",
    path: "/healthz",
    operationId: "healthz",
    tag: "health",
    summary: "Alias of /readyz",
    ok: { status: 200, schema: "Health" },
    errors: [500, 503],
  },
  {
    method: "get",
    path: "/openapi.yaml",
    operationId: "getOpenapi",
    tag: "docs",
    summary: "This document",
    ok: { status: 200, yaml: true },
    errors: [500],
  },
  {
    method: "get",
    path: "/docs",
    operationId: "getDocs",
    tag: "docs",
    summary: "swagger-ui rendering this document",
    ok: { status: 200, html: true },
    errors: [500],
  },

  {
    method: "post",
    path: "/v1/instances",
    operationId: "createInstance",
    tag: "instances",
    summary: "Create an instance",
    body: "CreateInstanceRequest",
    ok: { status: 201, schema: "Instance" },
    errors: [400, 409, 413, 415, 429, 500],
  },
  {
    method: "get",
    path: "/v1/instances",
    operationId: "listInstances",
    tag: "instances",
    summary: "List instances by name",
    ok: { status: 200, schema: "InstanceList" },
    errors: [500],
  },
  {
    method: "get",
    path: I,
    operationId: "getInstance",
    tag: "instances",
    summary: "Get an instance",
    params: ["name"],
    ok: { status: 200, schema: "Instance" },
    errors: READ,
  },
  {
    method: "delete",
    path: I,
    operationId: "deleteInstance",
    tag: "instances",
    summary: "Delete an instance",
    params: ["name"],
    ok: { status: 204 },
    errors: READ,
  },
  {
    method: "get",
    path: `${I}/export`,
    operationId: "exportInstance",
    tag: "instances",
    summary:
      "The instance's resolved config and accepted commands: importing it elsewhere gives the same state and answers",
    description:
      "Version 1 lists every command since the instance's creation or last reset. Version 2 when the journal was compacted (or the instance was imported from a version 2): `base` holds the state the commands start from (`state`: the state file in base64, `digest`, `commandCount`), `commands` the ones after it. Streamed; 409 EIO when a journal row or the base state fails its checksum.",
    params: ["name"],
    ok: { status: 200, schema: "ExportDocument" },
    errors: READ,
  },
  {
    method: "post",
    path: "/v1/instances/import",
    operationId: "importInstance",
    tag: "instances",
    summary: "Creates an instance by replaying an export document (atomic: a refused command leaves nothing)",
    description:
      "`?name=` renames the new instance. Reads versions 1 and 2. 400 INVALID_ARGUMENT (`details.index`, `details.code`) when the document is malformed or a command is refused; for a version 2 base that does not check out `details.code` is BASE_STATE_ENCODING, BASE_STATE_DAMAGED, BASE_DIGEST_MISMATCH, BASE_COMMAND_COUNT_MISMATCH or BASE_CONFIG_MISMATCH; 409 INSTANCE_EXISTS; 429 LIMIT_EXCEEDED beyond `maxImportCommands` or another server limit (a version 2 base is checked against the instance limits and the global budgets).",
    query: "import",
    body: "ExportDocument",
    ok: { status: 201, schema: "Instance" },
    errors: WRITE,
  },
  {
    method: "post",
    path: "/v1/compare",
    operationId: "compareModels",
    tag: "compare",
    summary:
      "Runs one scenario under each accounting model and compares them (the JSON of `memcg-sim compare --json`)",
    description:
      "Body: `{scenario: {description?, config?, commands}, models?, maxSamples?}`; the scenario runs on fresh in-process instances, one per model. 400 INVALID_ARGUMENT with `details.issues` (paths like `scenario.commands.3.containers`); 429 LIMIT_EXCEEDED when the scenario expands beyond the server's command limit.",
    body: "CompareRequest",
    ok: { status: 200, schema: "CompareResult" },
    errors: WRITE,
  },
  {
    method: "post",
    path: "/v1/sweeps",
    operationId: "startSweep",
    tag: "sweeps",
    summary: "Starts a parameter sweep on the server's worker threads (202; poll GET /v1/sweeps/{id})",
    description:
      "Body: `{spec: {description?, scenario: {config?, commands}, models?, axes: [{name, path, values}]}}` as a sweep spec file holds, the scenario inline. 400 INVALID_ARGUMENT with `details.issues` (paths like `spec.axes.0.values.2`); 429 LIMIT_EXCEEDED past the server's points per sweep (`maxSweepPoints`) or sweeps running at once (`maxActiveSweeps`).",
    body: "StartSweepRequest",
    ok: { status: 202, schema: "SweepStatus" },
    errors: WRITE,
  },
  {
    method: "get",
    path: "/v1/sweeps",
    operationId: "listSweeps",
    tag: "sweeps",
    summary: "The sweeps the server holds: running, and the last finished ones",
    ok: { status: 200, schema: "SweepList" },
    errors: [500],
  },
  {
    method: "get",
    path: "/v1/sweeps/{id}",
    operationId: "getSweep",
    tag: "sweeps",
    summary: "A sweep's progress: points done of its point count, its state, its error when it failed",
    params: ["id"],
    ok: { status: 200, schema: "SweepStatus" },
    errors: READ,
  },
  {
    method: "get",
    path: "/v1/sweeps/{id}/results",
    operationId: "getSweepResults",
    tag: "sweeps",
    summary: "results.jsonl of a finished sweep (the bytes `memcg-sim sweep` writes for the same spec)",
    description: "409 EAGAIN while the sweep runs, or when it failed (the detail names its error).",
    params: ["id"],
    ok: { status: 200, ndjson: "one JSON line per point, in index order" },
    errors: [400, 404, 409, 500],
  },
  {
    method: "post",
    path: `${I}/replay`,
    operationId: "replayTrace",
    tag: "simulation",
    summary:
      "Replays a real kernel slab trace into the instance (the summary of `memcg-sim replay --json`, real null)",
    description:
      "Body: ftrace text (`kmem:kmem_cache_alloc`, `kmalloc`, `kmem_cache_free`, `kfree`, `mm_page_alloc`/`mm_page_free` with ACCOUNT, `sched_process_fork`/`exit`) or `perf script` output, as `text/plain`, or gzip (`application/gzip`, or `content-encoding: gzip`); streamed, never buffered. The pids of `pidCgroup` are spawned in their cgroups where absent. 400 INVALID_ARGUMENT with `details.reason` NOT_GZIP, TRUNCATED_GZIP (with `details.offset`, the byte where the input ended, and `appliedLines`), BAD_GZIP, EMPTY_TRACE or NO_USABLE_LINE; 404 for the instance or a cgroup of the map; 429 LIMIT_EXCEEDED when two replays already run.",
    params: ["name"],
    query: "replay",
    streamBody: true,
    ok: { status: 200, schema: "ReplayResult" },
    errors: WRITE,
  },
  {
    method: "post",
    path: `${I}/reset`,
    operationId: "resetInstance",
    tag: "instances",
    summary: "Back to the freshly created state, same config",
    params: ["name"],
    ok: { status: 200, schema: "Instance" },
    errors: READ,
  },

  {
    method: "post",
    path: `${I}/cgroups`,
    operationId: "createCgroup",
    tag: "cgroups",
    summary: "mkdir a cgroup (404 when the parent is missing)",
    params: ["name"],
    body: "CreateCgroupRequest",
    ok: { status: 201, schema: "Cgroup" },
    errors: WRITE,
  },
  {
    method: "get",
    path: `${I}/cgroups`,
    operationId: "listCgroups",
    tag: "cgroups",
    summary: "Every cgroup in pre-order, root first (dying ones included)",
    params: ["name"],
    ok: { status: 200, schema: "CgroupList" },
    errors: READ,
  },
  {
    method: "get",
    path: `${I}/cgroups/{path}`,
    operationId: "getCgroup",
    tag: "cgroups",
    summary: "Get a cgroup; a removed but pinned one answers with state dying",
    params: ["name", "path"],
    ok: { status: 200, schema: "Cgroup" },
    errors: READ,
  },
  {
    method: "patch",
    path: `${I}/cgroups/{path}`,
    operationId: "updateCgroup",
    tag: "cgroups",
    summary: "Set limits and flags (the same rules and errors as the matching file write)",
    params: ["name", "path"],
    body: "UpdateCgroupRequest",
    ok: { status: 200, schema: "Cgroup" },
    errors: WRITE,
  },
  {
    method: "delete",
    path: `${I}/cgroups/{path}`,
    operationId: "deleteCgroup",
    tag: "cgroups",
    summary: "rmdir a cgroup (409 CGROUP_BUSY with children or tasks, 400 on the root)",
    params: ["name", "path"],
    ok: { status: 204 },
    errors: [400, 404, 409, 500],
  },

  {
    method: "post",
    path: `${I}/caches`,
    operationId: "createCache",
    tag: "caches",
    summary: "kmem_cache_create",
    params: ["name"],
    body: "CreateCacheRequest",
    ok: { status: 201, schema: "Cache" },
    errors: WRITE,
  },
  {
    method: "get",
    path: `${I}/caches`,
    operationId: "listCaches",
    tag: "caches",
    summary: "Every root cache in creation order",
    params: ["name"],
    ok: { status: 200, schema: "CacheList" },
    errors: READ,
  },
  {
    method: "get",
    path: `${I}/caches/{cache}`,
    operationId: "getCache",
    tag: "caches",
    summary: "Get a cache with its per-cgroup children",
    params: ["name", "cache"],
    ok: { status: 200, schema: "Cache" },
    errors: READ,
  },
  {
    method: "post",
    path: `${I}/caches/{cache}/register`,
    operationId: "registerCache",
    tag: "caches",
    summary: "The seed's opt-in register_memcg_cache (same as flags.account)",
    params: ["name", "cache"],
    ok: { status: 200, schema: "Cache" },
    errors: [400, 404, 409, 429, 500],
  },
  {
    method: "delete",
    path: `${I}/caches/{cache}`,
    operationId: "deleteCache",
    tag: "caches",
    summary: "kmem_cache_destroy (409 CACHE_BUSY while objects remain)",
    params: ["name", "cache"],
    ok: { status: 204 },
    errors: [400, 404, 409, 500],
  },

  {
    method: "post",
    path: `${I}/tasks`,
    operationId: "spawnTask",
    tag: "tasks",
    summary: "Spawn a task in a cgroup (pid chosen if absent)",
    params: ["name"],
    body: "SpawnTaskRequest",
    ok: { status: 201, schema: "Task" },
    errors: WRITE,
  },
  {
    method: "get",
    path: `${I}/tasks`,
    operationId: "listTasks",
    tag: "tasks",
    summary: "Every live task by pid",
    params: ["name"],
    ok: { status: 200, schema: "TaskList" },
    errors: READ,
  },
  {
    method: "get",
    path: `${I}/tasks/{pid}`,
    operationId: "getTask",
    tag: "tasks",
    summary: "Get a task",
    params: ["name", "pid"],
    ok: { status: 200, schema: "Task" },
    errors: READ,
  },
  {
    method: "post",
    path: `${I}/tasks/{pid}/move`,
    operationId: "moveTask",
    tag: "tasks",
    summary: "Move a task; charges already made stay where they are",
    params: ["name", "pid"],
    body: "MoveTaskRequest",
    ok: { status: 200, schema: "Task" },
    errors: WRITE,
  },
  {
    method: "delete",
    path: `${I}/tasks/{pid}`,
    operationId: "exitTask",
    tag: "tasks",
    summary: "The task exits: anon memory freed, file pages and kernel objects stay charged",
    params: ["name", "pid"],
    ok: { status: 204 },
    errors: READ,
  },

  {
    method: "post",
    path: `${I}/objects/alloc`,
    operationId: "allocObjects",
    tag: "simulation",
    summary: "kmem_cache_alloc count times; stops at the first failure",
    params: ["name"],
    body: "AllocObjectsRequest",
    ok: { status: 200, schema: "AllocResult" },
    errors: WRITE,
  },
  {
    method: "post",
    path: `${I}/objects/free`,
    operationId: "freeObjects",
    tag: "simulation",
    summary: "kmem_cache_free by ids or by selection",
    params: ["name"],
    body: "FreeObjectsRequest",
    ok: { status: 200, schema: "FreeResult" },
    errors: WRITE,
  },
  {
    method: "post",
    path: `${I}/pages/alloc`,
    operationId: "allocPages",
    tag: "simulation",
    summary: "Fault in anon or file pages for a task",
    params: ["name"],
    body: "AllocPagesRequest",
    ok: { status: 200, schema: "AllocResult" },
    errors: WRITE,
  },
  {
    method: "post",
    path: `${I}/pages/free`,
    operationId: "freePages",
    tag: "simulation",
    summary: "Free anon pages of a task or file pages of a cgroup",
    params: ["name"],
    body: "FreePagesRequest",
    ok: { status: 200, schema: "FreeResult" },
    errors: WRITE,
  },
  {
    method: "post",
    path: `${I}/reclaim`,
    operationId: "reclaim",
    tag: "simulation",
    summary: 'As a write to memory.reclaim; cgroup "/" is global reclaim',
    params: ["name"],
    body: "ReclaimRequest",
    ok: { status: 200, schema: "ReclaimResult" },
    errors: WRITE,
  },
  {
    method: "post",
    path: `${I}/clock/advance`,
    operationId: "advanceClock",
    tag: "simulation",
    summary: "Advance the simulated clock",
    params: ["name"],
    body: "AdvanceClockRequest",
    ok: { status: 200, schema: "ClockResult" },
    errors: WRITE,
  },
  {
    method: "post",
    path: `${I}/batch`,
    operationId: "executeBatch",
    tag: "simulation",
    summary: "Run commands in order; each result or error in its slot",
    description:
      "A malformed command is reported in its slot with `commands.<i>.<field>` issue paths; with stopOnError (default true) the batch ends there.",
    params: ["name"],
    body: "BatchRequest",
    ok: { status: 200, schema: "BatchResult" },
    errors: WRITE,
  },

  {
    method: "get",
    path: `${I}/fs/{fsPath}`,
    operationId: "readFile",
    tag: "cgroupfs",
    summary: "cat a cgroupfs file, byte-for-byte as the kernel prints it",
    description:
      "`fsPath` is the cgroup path without its leading slash, then the file: `workload/a/memory.current`; the root's files are `memory.stat` etc. Errors carry the errno as `code` (ENOENT 404).",
    params: ["name", "fsPath"],
    ok: { status: 200, text: "the file's text, trailing newline included" },
    errors: READ,
  },
  {
    method: "put",
    path: `${I}/fs/{fsPath}`,
    operationId: "writeFile",
    tag: "cgroupfs",
    summary: "echo body > file (whitespace trimmed)",
    description:
      "Errors carry the errno as `code`: ENOENT 404, EINVAL 400, EBUSY 409, EAGAIN 409, EOPNOTSUPP 400.",
    params: ["name", "fsPath"],
    textBody: true,
    ok: { status: 204 },
    errors: WRITE,
  },
  {
    method: "get",
    path: `${I}/proc/slabinfo`,
    operationId: "readProcSlabinfo",
    tag: "cgroupfs",
    summary: "/proc/slabinfo (slabinfo - version: 2.1)",
    params: ["name"],
    ok: { status: 200, text: "/proc/slabinfo" },
    errors: READ,
  },
  {
    method: "get",
    path: `${I}/proc/meminfo`,
    operationId: "readProcMeminfo",
    tag: "cgroupfs",
    summary: "/proc/meminfo",
    params: ["name"],
    ok: { status: 200, text: "/proc/meminfo" },
    errors: READ,
  },

  {
    method: "get",
    path: `${I}/events`,
    operationId: "listEvents",
    tag: "events",
    summary: "The event log: a JSON page, or SSE when Accept asks for text/event-stream",
    description:
      "SSE: each event is `id: <seq>` + `data: <Event JSON>`; `Last-Event-ID` resumes after that seq (it wins over sinceSeq); `: heartbeat` comments keep the stream alive; `event: reset` announces a reset instance whose log restarted at 1. 429 LIMIT_EXCEEDED beyond the server's watcher limit.",
    params: ["name"],
    query: "events",
    ok: { status: 200, schema: "EventPage", sse: true },
    errors: [400, 404, 429, 500],
  },
];

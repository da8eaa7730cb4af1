import type { z } from "zod";
import type { Op } from "../engine/index.js";
import {
  advanceClockBody,
  allocObjectsBody,
  allocPagesBody,
  chargeSocketPagesBody,
  createCacheBody,
  createCgroupBody,
  freeObjectsBody,
  freePagesBody,
  moveTaskBody,
  reclaimBody,
  spawnTaskBody,
  unchargeSocketPagesBody,
  updateCgroupBody,
} from "./schemas.js";

/**
 * Where a REST route's URL puts the command's target (the rest of the command is the body):
 * nothing, the cgroup path (`/cgroups/{path}` → `path`), the cache name (`/caches/{cache}` →
 * `name`), the task (`/tasks/{pid}` → `pid`), or a cgroupfs file (`/fs/{cgroup}/{file}` →
 * `cgroup`, `file`, with the text body as `value`).
 */
export type Target = "none" | "cgroupPath" | "cacheName" | "pid" | "fsFile";

/** One command of the API: everything a transport needs to serve it, written once. */
export interface CommandOperation {
  op: Op;
  /** The REST route (fastify path syntax) and its success status. */
  rest: {
    method: "POST" | "PATCH" | "PUT" | "DELETE";
    path: string;
    status: 200 | 201 | 204;
    target: Target;
  };
  /** The RPC of SimulatorService (proto/memcg_sim/v1/simulator.proto). */
  rpc: string;
  /** The JSON body's schema (zod, the single source of truth); null: the route takes no body. */
  body: z.ZodType | null;
  /**
   * Where the result goes in the RPC's response: inside the resource field (`{cgroup: Cgroup}`, as
   * buf's STANDARD `XxxResponse` wants), or (null) as the response itself (results of the
   * simulation verbs, and `{}` for deletions). REST answers the result itself (or 204).
   */
  resultField: "cgroup" | "cache" | "task" | null;
}

const I = "/v1/instances/:name";

/**
 * The commands of docs/API.md §4–§7, one row each. REST routes (src/rest/routes/commands.ts) and
 * gRPC handlers (src/grpc/server.ts) are generated from it; test/service/operations.test.ts checks
 * every row is served by both transports and documented in openapi.yaml.
 */
export const COMMAND_OPERATIONS: readonly CommandOperation[] = [
  {
    op: "createCgroup",
    rest: { method: "POST", path: `${I}/cgroups`, status: 201, target: "none" },
    rpc: "CreateCgroup",
    body: createCgroupBody,
    resultField: "cgroup",
  },
  {
    op: "updateCgroup",
    rest: { method: "PATCH", path: `${I}/cgroups/*`, status: 200, target: "cgroupPath" },
    rpc: "UpdateCgroup",
    body: updateCgroupBody,
    resultField: "cgroup",
  },
  {
    op: "removeCgroup",
    rest: { method: "DELETE", path: `${I}/cgroups/*`, status: 204, target: "cgroupPath" },
    rpc: "DeleteCgroup",
    body: null,
    resultField: null,
  },
  {
    op: "createCache",
    rest: { method: "POST", path: `${I}/caches`, status: 201, target: "none" },
    rpc: "CreateCache",
    body: createCacheBody,
    resultField: "cache",
  },
  {
    op: "registerCache",
    rest: { method: "POST", path: `${I}/caches/:cache/register`, status: 200, target: "cacheName" },
    rpc: "RegisterCache",
    body: null,
    resultField: "cache",
  },
  {
    op: "removeCache",
    rest: { method: "DELETE", path: `${I}/caches/:cache`, status: 204, target: "cacheName" },
    rpc: "DeleteCache",
    body: null,
    resultField: null,
  },
  {
    op: "spawnTask",
    rest: { method: "POST", path: `${I}/tasks`, status: 201, target: "none" },
    rpc: "SpawnTask",
    body: spawnTaskBody,
    resultField: "task",
  },
  {
    op: "moveTask",
    rest: { method: "POST", path: `${I}/tasks/:pid/move`, status: 200, target: "pid" },
    rpc: "MoveTask",
    body: moveTaskBody,
    resultField: "task",
  },
  {
    op: "exitTask",
    rest: { method: "DELETE", path: `${I}/tasks/:pid`, status: 204, target: "pid" },
    rpc: "ExitTask",
    body: null,
    resultField: null,
  },
  {
    op: "allocObjects",
    rest: { method: "POST", path: `${I}/objects/alloc`, status: 200, target: "none" },
    rpc: "AllocObjects",
    body: allocObjectsBody,
    resultField: null,
  },
  {
    op: "freeObjects",
    rest: { method: "POST", path: `${I}/objects/free`, status: 200, target: "none" },
    rpc: "FreeObjects",
    body: freeObjectsBody,
    resultField: null,
  },
  {
    op: "allocPages",
    rest: { method: "POST", path: `${I}/pages/alloc`, status: 200, target: "none" },
    rpc: "AllocPages",
    body: allocPagesBody,
    resultField: null,
  },
  {
    op: "freePages",
    rest: { method: "POST", path: `${I}/pages/free`, status: 200, target: "none" },
    rpc: "FreePages",
    body: freePagesBody,
    resultField: null,
  },
  {
    op: "reclaim",
    rest: { method: "POST", path: `${I}/reclaim`, status: 200, target: "none" },
    rpc: "Reclaim",
    body: reclaimBody,
    resultField: null,
  },
  {
    // `echo value > file`: the body is text/plain (src/rest/routes/cgroupfs.ts parses it)
    op: "writeFile",
    rest: { method: "PUT", path: `${I}/fs/*`, status: 204, target: "fsFile" },
    rpc: "WriteFile",
    body: null,
    resultField: null,
  },
  {
    op: "advanceClock",
    rest: { method: "POST", path: `${I}/clock/advance`, status: 200, target: "none" },
    rpc: "AdvanceClock",
    body: advanceClockBody,
    resultField: null,
  },
  {
    op: "chargeSocketPages",
    rest: { method: "POST", path: `${I}/sockets/charge`, status: 200, target: "none" },
    rpc: "ChargeSocketPages",
    body: chargeSocketPagesBody,
    resultField: null,
  },
  {
    op: "unchargeSocketPages",
    rest: { method: "POST", path: `${I}/sockets/uncharge`, status: 200, target: "none" },
    rpc: "UnchargeSocketPages",
    body: unchargeSocketPagesBody,
    resultField: null,
  },
];

/** The row of each op (every op has exactly one: checked at load). */
export const OPERATION_OF_OP: Readonly<Record<Op, CommandOperation>> = (() => {
  const out = {} as Record<Op, CommandOperation>;
  for (const row of COMMAND_OPERATIONS) {
    if (out[row.op] !== undefined) throw new Error(`operation table: ${row.op} twice`);
    out[row.op] = row;
  }
  return out;
})();

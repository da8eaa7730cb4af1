/**
 * The command language (docs/API.md §6) as the engine receives it, already shape-validated by the
 * zod schemas of `src/commands/`. Sizes are bytes, null means unlimited.
 */
export interface CreateCgroupCmd {
  op: "createCgroup";
  path: string;
}
export interface UpdateCgroupCmd {
  op: "updateCgroup";
  path: string;
  memoryMaxBytes?: number | null;
  memoryHighBytes?: number | null;
  memoryLowBytes?: number | null;
  memoryMinBytes?: number | null;
  kmemMaxBytes?: number | null;
  useHierarchy?: boolean;
  oomGroup?: boolean;
  oomKillDisable?: boolean;
  moveChargeAtImmigrate?: number;
}
export interface RemoveCgroupCmd {
  op: "removeCgroup";
  path: string;
}
export interface CreateCacheCmd {
  op: "createCache";
  name: string;
  objectSizeBytes: number;
  alignBytes?: number;
  flags?: { account?: boolean; reclaimAccount?: boolean; hwcacheAlign?: boolean; typesafeByRcu?: boolean };
  shrinker?: { memcgAware?: boolean; seeks?: number } | null;
}
export interface RegisterCacheCmd {
  op: "registerCache";
  name: string;
}
export interface RemoveCacheCmd {
  op: "removeCache";
  name: string;
}
export interface SpawnTaskCmd {
  op: "spawnTask";
  cgroup: string;
  pid?: number;
  cpu?: number;
  oomScoreAdj?: number;
  /**
   * The task is forked inside the cgroup (copy_process): its kernel stack is allocated and charged
   * there as the era does, and given back when the task exits. Absent or false: an existing task
   * is placed in the cgroup (`echo PID > tasks`), its stack staying charged where it was forked.
   */
  fork?: boolean;
}
export interface MoveTaskCmd {
  op: "moveTask";
  pid: number;
  cgroup: string;
}
export interface ExitTaskCmd {
  op: "exitTask";
  pid: number;
}
export interface AllocObjectsCmd {
  op: "allocObjects";
  cache: string;
  pid?: number;
  cgroup?: string;
  count?: number;
  gfp?: string;
  reclaimable?: boolean;
  returnObjectIds?: boolean;
}
export interface FreeObjectsCmd {
  op: "freeObjects";
  objectIds?: number[];
  cache?: string;
  pid?: number;
  cgroup?: string;
  count?: number;
  order?: "newest" | "oldest" | "random" | "every-other";
  /** The CPU the frees run on (its per-CPU stocks take the uncharges); default: each object's allocating task's. */
  cpu?: number;
}
export interface AllocPagesCmd {
  op: "allocPages";
  pid: number;
  kind: "anon" | "file";
  bytes: number;
  gfp?: string;
}
export interface FreePagesCmd {
  op: "freePages";
  pid?: number;
  cgroup?: string;
  kind: "anon" | "file";
  bytes: number;
}
export interface ReclaimCmd {
  op: "reclaim";
  cgroup: string;
  bytes: number;
  gfp?: string;
}
export interface WriteFileCmd {
  op: "writeFile";
  cgroup: string;
  file: string;
  value: string;
}
export interface AdvanceClockCmd {
  op: "advanceClock";
  ms: number;
}
/**
 * A whole-page kernel allocation on behalf of `pid` (kernel-pages.ts): `1 << order` pages
 * (default: 4 for a kernel stack, else 1), charged as the era charges `kind`; the result's
 * `pageId` frees them.
 */
export interface AllocKernelPagesCmd {
  op: "allocKernelPages";
  pid: number;
  kind: "kernelStack" | "kmallocLarge" | "pageTable" | "other";
  order?: number;
  gfp?: string;
}
export interface FreeKernelPagesCmd {
  op: "freeKernelPages";
  pageIds: number[];
  /** The CPU the frees run on (its per-CPU stock takes the uncharge where the era refills it); default 0. */
  cpu?: number;
}

/**
 * Socket buffer memory charged on behalf of `pid`'s socket (sock-mem.ts): the era's
 * `mem_cgroup_charge_skmem` as __sk_mem_raise_allocated calls it. `softirq`: from the packet
 * receive path (the era's softirq gfp) instead of process context (GFP_KERNEL); `nofail`: with
 * `__GFP_NOFAIL` (5.15+ callers force a stream socket's send under its sndbuf so).
 */
export interface ChargeSocketPagesCmd {
  op: "chargeSocketPages";
  pid: number;
  pages: number;
  softirq?: boolean;
  nofail?: boolean;
}
/** Gives back `pages` of `pid`'s socket memory (`mem_cgroup_uncharge_skmem`); `cpu`: where (the page stock of that CPU takes them where the era refills it), default the task's. */
export interface UnchargeSocketPagesCmd {
  op: "unchargeSocketPages";
  pid: number;
  pages: number;
  cpu?: number;
}

export type Command =
  | CreateCgroupCmd
  | UpdateCgroupCmd
  | RemoveCgroupCmd
  | CreateCacheCmd
  | RegisterCacheCmd
  | RemoveCacheCmd
  | SpawnTaskCmd
  | MoveTaskCmd
  | ExitTaskCmd
  | AllocObjectsCmd
  | FreeObjectsCmd
  | AllocPagesCmd
  | FreePagesCmd
  | ReclaimCmd
  | WriteFileCmd
  | AdvanceClockCmd
  | AllocKernelPagesCmd
  | FreeKernelPagesCmd
  | ChargeSocketPagesCmd
  | UnchargeSocketPagesCmd;

/** Every op of the command language. */
export type AnyOp = Command["op"];
/**
 * The ops with their own REST route and gRPC RPC. The kernel-page ops are reachable through
 * `/batch`, ExecuteBatch (`json`), scenario files and the journal.
 */
export type Op = Exclude<AnyOp, "allocKernelPages" | "freeKernelPages">;

export const OPS: readonly Op[] = [
  "createCgroup",
  "updateCgroup",
  "removeCgroup",
  "createCache",
  "registerCache",
  "removeCache",
  "spawnTask",
  "moveTask",
  "exitTask",
  "allocObjects",
  "freeObjects",
  "allocPages",
  "freePages",
  "reclaim",
  "writeFile",
  "advanceClock",
  "chargeSocketPages",
  "unchargeSocketPages",
];

/** Result of allocObjects / allocPages (docs/API.md §5). */
export interface AllocResult {
  allocatedCount?: number;
  failedCount?: number;
  allocatedBytes?: number;
  failedBytes?: number;
  error: null | "ENOMEM" | "OOM_KILLED";
  failedAt: string | null;
  chargedBytes: number;
  reclaimedBytes: number;
  oomKilledPids: number[];
  throttleMs: number;
  objectIds?: number[];
}

export interface FreeResult {
  freedCount?: number;
  freedBytes?: number;
  missingCount: number;
  unchargedBytes: number;
  freedSlabCount: number;
}

export interface ReclaimResult {
  reclaimedBytes: number;
  fileReclaimedBytes: number;
  slabReclaimedBytes: number;
  scannedObjectCount: number;
  freedObjectCount: number;
  freedSlabCount: number;
  error: null | "EAGAIN";
}

import { z } from "zod";
import { type Command, EngineError, type InstanceConfig, Prng } from "../../engine/index.js";

/** Shapes shared by the generator schemas (docs/API.md §2 names and units). */
export const cgroupPath = z
  .string()
  .min(1)
  .max(4096)
  .regex(
    /^\/(?:[A-Za-z0-9_@+-][A-Za-z0-9_.:@+-]{0,254}(?:\/[A-Za-z0-9_@+-][A-Za-z0-9_.:@+-]{0,254})*)?$/,
    "must be a cgroup path such as /a/b",
  );
export const topLevelPath = cgroupPath.refine((p) => p !== "/", "must not be the root cgroup");
export const nameSegment = z
  .string()
  .regex(/^[A-Za-z0-9_@+-][A-Za-z0-9_.:@+-]{0,200}$/, "must be a cgroup name segment");
export const cacheName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/, "must be a cache name");
export const gfp = z.string().min(1).max(200);
export const seed = z.number().int().min(0).max(4294967295);
/** A size in bytes: a positive safe integer. */
export const bytes = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const MINUTE_MS = 60_000;
/** Generated tasks take pids from here up (docs/API.md §2 allows up to 4194304). */
export const FIRST_GENERATED_PID = 1_000_000;
export const MAX_PID = 4_194_304;

/**
 * What a generator is expanded for: the resolved instance config (the model and the cgroup version
 * decide a few era-specific commands, the CPU count spreads tasks) and the shared pid allocator.
 */
export interface ExpansionContext {
  readonly config: InstanceConfig;
  readonly pids: PidAllocator;
  /** Cgroup paths created so far in the expanded stream (generators create parents only once). */
  readonly createdCgroups: Set<string>;
  /** Those a generator created and set up (v1: hierarchy on, kmem limit written): children inherit. */
  readonly setUpCgroups: Set<string>;
}

/** Hands out distinct pids to generated tasks, skipping pids that explicit commands use. */
export class PidAllocator {
  private next = FIRST_GENERATED_PID;
  constructor(private readonly reserved: ReadonlySet<number>) {}

  take(): number {
    while (this.reserved.has(this.next)) this.next++;
    if (this.next > MAX_PID)
      throw new EngineError(
        "LIMIT_EXCEEDED",
        `the scenario's generators need more than ${MAX_PID - FIRST_GENERATED_PID} task pids`,
        {
          limit: "pids",
        },
      );
    return this.next++;
  }
}

/** A seeded random source for one generator (the engine's PRNG: same seed, same stream). */
export class GeneratorRandom {
  private readonly prng: Prng;
  private spare: number | null = null;
  constructor(seedValue: number) {
    this.prng = new Prng(seedValue);
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return this.prng.nextUint32() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return this.prng.below(n);
  }
  /** Standard normal (Box–Muller, the second value kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u = 1 - this.uniform(); // (0, 1]
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Log-normal around `median` with shape `sigma` (σ of the underlying normal), rounded, at least `min`. */
  logNormalInt(median: number, sigma: number, min = 1): number {
    return Math.max(min, Math.round(median * Math.exp(sigma * this.normal())));
  }
}

/** The default seed of the generator at `index` of a scenario: mixed from the instance seed. */
export function generatorSeed(configSeed: number, index: number): number {
  return (Math.imul(configSeed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/** `/a` + `b` → `/a/b`; the root joins as `/b`. */
export function joinPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** Splits `total` as evenly as possible into `parts` integers (the first ones get the remainder). */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const rem = total - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < rem ? 1 : 0));
}

/**
 * Creates `path` (and any missing ancestor) once in the expanded stream, with the era's set-up of
 * a v1 parent: `memory.use_hierarchy=1` (systemd's default; without it v1 children would be
 * separate hierarchies) and a finite `memory.kmem.limit_in_bytes` equal to the RAM size, written
 * before the cgroup has children or tasks. In 3.8 that write is what turns kmem accounting on
 * (docs/DOMAIN.md §6.2) and children are born active; in the other eras it is a limit nothing reaches.
 * On cgroup v2 neither file exists and nothing is written.
 */
export function* ensureCgroup(ctx: ExpansionContext, path: string, setUpV1 = true): Generator<Command> {
  if (path === "/" || ctx.createdCgroups.has(path)) return;
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  yield* ensureCgroup(ctx, parent, setUpV1);
  ctx.createdCgroups.add(path);
  yield { op: "createCgroup", path };
  if (setUpV1) {
    ctx.setUpCgroups.add(path);
    yield* v1SetUp(ctx, path);
  }
}

/** The v1 writes of `ensureCgroup` for a cgroup the generator has just created. */
export function* v1SetUp(ctx: ExpansionContext, path: string): Generator<Command> {
  if (ctx.config.cgroupVersion !== 1) return;
  // writing 1 where it is already 1 (inherited from a hierarchical parent) is a no-op
  yield { op: "writeFile", cgroup: path, file: "memory.use_hierarchy", value: "1" };
  yield {
    op: "writeFile",
    cgroup: path,
    file: "memory.kmem.limit_in_bytes",
    value: String(ctx.config.memoryBytes),
  };
}

/**
 * Creates a leaf the generator owns (a container, a tenant). Under a parent the generator set up it
 * inherits hierarchy and (3.8) kmem activation; under any other parent it gets the v1 set-up itself.
 */
export function* createLeaf(ctx: ExpansionContext, path: string): Generator<Command> {
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  yield* ensureCgroup(ctx, parent);
  const inherits = ctx.setUpCgroups.has(parent);
  ctx.createdCgroups.add(path);
  yield { op: "createCgroup", path };
  if (!inherits) yield* v1SetUp(ctx, path);
}

/** The leaf is gone (rmdir): a later generator may create the same path again. */
export function forget(ctx: ExpansionContext, path: string): void {
  ctx.createdCgroups.delete(path);
  ctx.setUpCgroups.delete(path);
}

/** `advanceClock` for a (possibly fractional) number of minutes, rounded to whole ms; nothing for 0. */
export function* advanceMinutes(minutes: number): Generator<Command> {
  const ms = Math.round(minutes * MINUTE_MS);
  if (ms > 0) yield { op: "advanceClock", ms };
}

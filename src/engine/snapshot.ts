import { Cgroup, RowAllocator } from "./cgroup.js";
import type { InstanceConfigInput } from "./config.js";
import { EventLog } from "./events.js";
import { KernelPages } from "./kernel-pages.js";
import { Rfc2012Model } from "./models/rfc-2012.js";
import { V38Model } from "./models/v3-8.js";
import { V45Model } from "./models/v4-5.js";
import { V59Model } from "./models/v5-9.js";
import { V618Model } from "./models/v6-18.js";
import { PageCounter } from "./page-counter.js";
import { Prng } from "./prng.js";
import { DEFAULT_LIMITS, type EngineLimits, Simulation } from "./simulation.js";
import { CacheCopy, KmemCache } from "./slab/cache.js";
import { SlabSystem } from "./slab/kmem.js";
import { IntrusiveLists } from "./slab/lists.js";
import { Task } from "./tasks.js";

// A simulation's whole state as data, and back (issue "Durable and bounded" §1: restart = latest
// snapshot + the journal's tail, not a replay of every command since creation).
//
// The state is the object graph reachable from the Simulation. `captureState` walks it once and
// writes each object as a node — its class (from CLASSES), its own fields in their order, object
// references as node numbers — so shared references and cycles come back as they were. Typed
// arrays are kept as they are (the caller's serializer copies them in bulk). Objects that every
// simulation of a model shares (module constants: the era's file tables, key lists, functions)
// are not copied: they are named by their place in a walk of a fresh simulation of the same
// config and taken from there on restore. A function or a class the table does not know is an
// error naming its path, so a new kind of state cannot be dropped silently.
//
// Determinism: the restored simulation answers every later command exactly as the original
// would (test/engine/snapshot.test.ts runs both on and compares state digests and answers).

/** Every class whose instances are simulation state. A new one must be added here (capture fails otherwise). */
const CLASSES: (abstract new (...args: never[]) => unknown)[] = [
  Simulation,
  Cgroup,
  RowAllocator,
  PageCounter,
  Task,
  SlabSystem,
  IntrusiveLists,
  KmemCache,
  CacheCopy,
  EventLog,
  KernelPages,
  Prng,
  Rfc2012Model,
  V38Model,
  V45Model,
  V59Model,
  V618Model,
];

/**
 * Fields a class's constructor builds that are not state: tables of functions bound to the instance
 * (Simulation.ops, the up-calls of kernel.ts). Capture leaves them out; restore builds the root
 * simulation with its constructor, so they are bound to the restored one.
 */
const REBUILT_FIELDS: Record<string, ReadonlySet<string>> = { Simulation: new Set(["ops"]) };

const PROTO_BY_NAME = new Map<string, object>(CLASSES.map((c) => [c.name, c.prototype as object]));
const NAME_BY_PROTO = new Map<object, string>(CLASSES.map((c) => [c.prototype as object, c.name]));

/** A reference to node `r` (a field value that is an object). */
interface Ref {
  r: number;
}
/** A hole of a sparse array. */
interface Hole {
  h: 1;
}
type Val = string | number | boolean | bigint | null | undefined | Ref | Hole;

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** One object of the graph. */
export type SnapshotNode =
  | { k: "o"; c: string | null; keys: string[]; vals: Val[] } // plain object (c null) or class instance
  | { k: "a"; vals: Val[] } // array
  | { k: "m"; keys: Val[]; vals: Val[] } // Map
  | { k: "s"; vals: Val[] } // Set
  | { k: "b"; a: ArrayBuffer } // an ArrayBuffer, kept as is (views of one buffer share it)
  | { k: "t"; type: string; buf: Ref; off: number; len: number } // a typed-array view of node `buf`
  | { k: "x"; i: number }; // shared module constant: index in the fresh walk's shared list

export interface SnapshotGraph {
  /**
   * /2: cgroup rows of 40 slots (kernel stacks); /3: the same 40 slots laid out anew (page tables:
   * 9 statistics, memory.high at 18), so a /2 state is refused and restart replays the journal;
   * /5: cgroups carry the statistics their creation charged to their parent (percpu) and the
   * simulation the cgroups waiting to be freed; tasks and cgroups carry socket memory.
   */
  format: "memcg-sim-state/5";
  /** The config the simulation was created with (a fresh one of it names the shared constants). */
  config: InstanceConfigInput | undefined;
  nodes: SnapshotNode[];
}

const TYPED: Record<string, new (b: ArrayBuffer, off: number, len: number) => TypedArray> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

function isTyped(o: object): o is TypedArray {
  return ArrayBuffer.isView(o) && !(o instanceof DataView);
}

/** Objects reachable from `root`, in a deterministic walk order (fields in order, depth first). */
function reachable(root: object): object[] {
  const seen = new Set<object>();
  const order: object[] = [];
  const stack: object[] = [root];
  const push = (v: unknown) => {
    if ((typeof v === "object" && v !== null) || typeof v === "function") {
      if (!seen.has(v as object)) stack.push(v as object);
    }
  };
  while (stack.length > 0) {
    const o = stack.pop() as object;
    if (seen.has(o)) continue;
    seen.add(o);
    order.push(o);
    if (typeof o === "function" || ArrayBuffer.isView(o) || o instanceof ArrayBuffer) continue;
    if (o instanceof Map) {
      for (const [k, v] of o) {
        push(k);
        push(v);
      }
    } else if (o instanceof Set) for (const v of o) push(v);
    else for (const k of Object.keys(o)) push((o as Record<string, unknown>)[k]);
  }
  return order;
}

/**
 * The objects every simulation of `config` shares with every other: reachable from two fresh
 * simulations of it. Listed in the first one's walk order, which the same code makes the same on
 * capture and on restore.
 */
const sharedCache = new Map<string, object[]>();
function sharedObjects(config: InstanceConfigInput | undefined, limits: EngineLimits): object[] {
  const key = JSON.stringify(config ?? null);
  const hit = sharedCache.get(key);
  if (hit !== undefined) return hit;
  const a = reachable(new Simulation(config, limits));
  const b = new Set(reachable(new Simulation(config, limits)));
  const shared = a.filter((o) => b.has(o));
  sharedCache.set(key, shared);
  return shared;
}

/** The state of `sim` as a graph of plain data and typed arrays (see the file comment). */
export function captureState(sim: Simulation): SnapshotGraph {
  const config = sim.config as InstanceConfigInput;
  const shared = sharedObjects(config, sim.limits);
  const sharedIndex = new Map<object, number>(shared.map((o, i) => [o, i]));
  const ids = new Map<object, number>();
  const nodes: SnapshotNode[] = [];
  const queue: { o: object; path: string }[] = [];
  const ref = (v: object, path: string): Ref => {
    let id = ids.get(v);
    if (id === undefined) {
      id = nodes.length;
      ids.set(v, id);
      nodes.push({ k: "x", i: -1 }); // placeholder, written when dequeued
      queue.push({ o: v, path });
    }
    return { r: id };
  };
  const val = (v: unknown, path: string): Val => {
    if (v === null || (typeof v !== "object" && typeof v !== "function")) return v as Val;
    return ref(v as object, path);
  };
  ref(sim, "sim");
  for (let qi = 0; qi < queue.length; qi++) {
    const { o, path } = queue[qi];
    const id = ids.get(o) as number;
    const si = sharedIndex.get(o);
    if (si !== undefined) {
      nodes[id] = { k: "x", i: si };
      continue;
    }
    if (typeof o === "function")
      throw new Error(`snapshot: a function at ${path} is not shared by every simulation of this model`);
    if (isTyped(o)) {
      if (!(o.buffer instanceof ArrayBuffer)) throw new Error(`snapshot: a shared buffer at ${path}`);
      const type = o.constructor.name;
      if (!(type in TYPED)) throw new Error(`snapshot: ${type} at ${path}`);
      // by buffer, so that views of one buffer stay views of one buffer
      nodes[id] = { k: "t", type, buf: ref(o.buffer, `${path}.buffer`), off: o.byteOffset, len: o.length };
      continue;
    }
    if (o instanceof ArrayBuffer) {
      nodes[id] = { k: "b", a: o };
      continue;
    }
    if (o instanceof DataView) throw new Error(`snapshot: a DataView at ${path}`);
    if (Array.isArray(o)) {
      const vals: Val[] = new Array(o.length);
      for (let i = 0; i < o.length; i++) vals[i] = i in o ? val(o[i], `${path}[${i}]`) : { h: 1 };
      nodes[id] = { k: "a", vals };
      continue;
    }
    if (o instanceof Map) {
      const keys: Val[] = [];
      const vals: Val[] = [];
      for (const [k, v] of o) {
        keys.push(val(k, `${path}.key`));
        vals.push(val(v, `${path}.get(${String(k)})`));
      }
      nodes[id] = { k: "m", keys, vals };
      continue;
    }
    if (o instanceof Set) {
      const vals: Val[] = [];
      for (const v of o) vals.push(val(v, `${path}.value`));
      nodes[id] = { k: "s", vals };
      continue;
    }
    const proto = Object.getPrototypeOf(o);
    let c: string | null = null;
    if (proto !== Object.prototype && proto !== null) {
      const name = NAME_BY_PROTO.get(proto);
      if (name === undefined)
        throw new Error(
          `snapshot: ${path} is a ${proto?.constructor?.name ?? "?"}, not a class of the snapshot table`,
        );
      c = name;
    }
    const rebuilt = c === null ? undefined : REBUILT_FIELDS[c];
    const keys = rebuilt === undefined ? Object.keys(o) : Object.keys(o).filter((k) => !rebuilt.has(k));
    const vals: Val[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++)
      vals[i] = val((o as Record<string, unknown>)[keys[i]], `${path}.${keys[i]}`);
    nodes[id] = { k: "o", c, keys, vals };
  }
  return { format: "memcg-sim-state/5", config, nodes };
}

/** A Simulation equal to the one captured (same answers to every later command). */
export function restoreState(graph: SnapshotGraph, limits: EngineLimits = DEFAULT_LIMITS): Simulation {
  if (graph.format !== "memcg-sim-state/5")
    throw new Error(`snapshot: unknown format ${String(graph.format)}`);
  const shared = sharedObjects(graph.config, limits);
  const objs: unknown[] = new Array(graph.nodes.length);
  graph.nodes.forEach((n, i) => {
    switch (n.k) {
      case "o": {
        // the root by its constructor (its REBUILT_FIELDS bound to it), its state then written over
        if (i === 0 && n.c === "Simulation") objs[i] = new Simulation(graph.config, limits);
        else if (n.c === null) objs[i] = {};
        else {
          const proto = PROTO_BY_NAME.get(n.c);
          if (proto === undefined) throw new Error(`snapshot: unknown class ${n.c}`);
          objs[i] = Object.create(proto);
        }
        break;
      }
      case "a":
        objs[i] = new Array(n.vals.length);
        break;
      case "m":
        objs[i] = new Map();
        break;
      case "s":
        objs[i] = new Set();
        break;
      case "b":
        objs[i] = n.a;
        break;
      case "t":
        break; // after its buffer (below)
      case "x":
        if (n.i < 0 || n.i >= shared.length) throw new Error(`snapshot: shared object ${n.i} unknown`);
        objs[i] = shared[n.i];
        break;
    }
  });
  graph.nodes.forEach((n, i) => {
    if (n.k !== "t") return;
    const buf = objs[n.buf.r];
    const T = TYPED[n.type];
    if (T === undefined || !(buf instanceof ArrayBuffer))
      throw new Error(`snapshot: bad typed array node ${i}`);
    objs[i] = new T(buf, n.off, n.len);
  });
  const v = (x: Val): unknown => {
    if (x !== null && typeof x === "object") return "r" in x ? objs[x.r] : undefined;
    return x;
  };
  graph.nodes.forEach((n, i) => {
    const o = objs[i];
    switch (n.k) {
      case "o": {
        const t = o as Record<string, unknown>;
        for (let j = 0; j < n.keys.length; j++) t[n.keys[j]] = v(n.vals[j]);
        break;
      }
      case "a": {
        const a = o as unknown[];
        for (let j = 0; j < n.vals.length; j++) {
          const x = n.vals[j];
          if (x !== null && typeof x === "object" && "h" in x) continue;
          a[j] = v(x);
        }
        break;
      }
      case "m": {
        const m = o as Map<unknown, unknown>;
        for (let j = 0; j < n.keys.length; j++) m.set(v(n.keys[j]), v(n.vals[j]));
        break;
      }
      case "s": {
        const s = o as Set<unknown>;
        for (const x of n.vals) s.add(v(x));
        break;
      }
      default:
        break;
    }
  });
  const sim = objs[0];
  if (!(sim instanceof Simulation)) throw new Error("snapshot: the first node is not a simulation");
  return sim;
}

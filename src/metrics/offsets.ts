import type { Simulation } from "../engine/index.js";
import type { Registry } from "../registry.js";
import {
  CGROUP_COUNTERS,
  cgroupCounters,
  labelledCgroups,
  type Offsets,
  SIM_COUNTERS,
  simulationCounters,
} from "./snapshot.js";

/**
 * Keeps counters monotonic across `POST /v1/instances/{i}/reset` (docs/API.md §8): a reset replaces the
 * Simulation, whose counters restart at 0. When the registry announces a reset, the counters the old
 * Simulation had reached are added to a per-simulation offset — per cgroup label (a cgroup created
 * again at the same path continues where it was), per simulation and per op — and every later
 * scrape adds the offset. Deleting a simulation drops its offsets: its series disappear.
 *
 * The tracker remembers the last Simulation seen under each name (from registry events and scrapes),
 * since the registry has already swapped in the new one when it announces the reset.
 */
export class ResetOffsets {
  private readonly seen = new Map<string, Simulation>();
  private readonly offsets = new Map<string, Offsets>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly registry: Registry,
    /** At most this many cgroup labels keep an offset per simulation (the rest restart at 0). */
    private readonly maxLabels: number,
  ) {
    for (const e of registry.list()) this.seen.set(e.name, e.instance);
    this.unsubscribe = registry.on((e) => {
      switch (e.kind) {
        case "created":
          this.offsets.delete(e.name);
          this.remember(e.name);
          break;
        case "command":
          // instances restored silently (persistence) are first seen here; one Map lookup per command
          if (!this.seen.has(e.name)) this.remember(e.name);
          break;
        case "reset": {
          const old = this.seen.get(e.name);
          if (old !== undefined) this.fold(e.name, old);
          this.remember(e.name);
          break;
        }
        case "deleted":
          this.seen.delete(e.name);
          this.offsets.delete(e.name);
          break;
      }
    });
  }

  private remember(name: string): void {
    try {
      this.seen.set(name, this.registry.get(name).instance);
    } catch {
      // deleted in the meantime: nothing to remember
    }
  }

  /** Adds the counters `old` reached to the offsets of `name`. */
  private fold(name: string, old: Simulation): void {
    let off = this.offsets.get(name);
    if (off === undefined) {
      off = { cgroups: new Map(), simulation: new Float64Array(SIM_COUNTERS), ops: new Map() };
      this.offsets.set(name, off);
    }
    const { rows } = labelledCgroups(old, this.maxLabels);
    for (const { cg, label } of rows) {
      const v = cgroupCounters(cg);
      let o = off.cgroups.get(label);
      if (o === undefined) {
        if (off.cgroups.size >= this.maxLabels) continue;
        o = new Float64Array(CGROUP_COUNTERS);
        off.cgroups.set(label, o);
      }
      for (let i = 0; i < CGROUP_COUNTERS; i++) o[i] += v[i];
    }
    const s = simulationCounters(old);
    for (let i = 0; i < SIM_COUNTERS; i++) off.simulation[i] += s[i];
    for (const [op, n] of old.opCounts) off.ops.set(op, (off.ops.get(op) ?? 0) + n);
  }

  /** The offsets to add for `name` at a scrape; records `current` as the instance seen. */
  get(name: string, current: Simulation): Offsets | undefined {
    const prev = this.seen.get(name);
    // a reset no listener announced (should not happen) still must not make counters go down
    if (prev !== undefined && prev !== current) this.fold(name, prev);
    this.seen.set(name, current);
    return this.offsets.get(name);
  }

  close(): void {
    this.unsubscribe();
  }
}

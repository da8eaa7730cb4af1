import { measure, type ModelRow, topLevelCgroups } from "../compare/measure.js";
import { deriveModelConfig } from "../compare/model-config.js";
import { procMeminfo, EngineError, DEFAULT_LIMITS, type EngineLimits, Simulation } from "../engine/index.js";
import { DEFAULT_MAX_COMMANDS, expandScenario } from "../scenarios/expand.js";
import { executeRecorded, type RunOutcome } from "../scenarios/run.js";
import { type AxisValue, pointAt, pointScenario, type SweepSpec } from "./spec.js";

/** The meminfo lines a point records (kB, as /proc/meminfo prints them). */
const MEMINFO_KEYS = ["MemFree", "Slab", "SReclaimable", "SUnreclaim"] as const;

/**
 * One line of results.jsonl: the point's coordinates, every `compare` column (docs/API.md §11), how the
 * run went, and final cgroupfs figures read through the same file handlers as the REST facade.
 * No wall-clock field: the line depends only on the spec and the point's index.
 */
export interface PointResult {
  index: number;
  model: string;
  coords: Record<string, AxisValue>;
  /** The compare columns, `model` left out (it is the coordinate above). */
  columns: Omit<ModelRow, "model">;
  run: {
    commandCount: number;
    commandErrorCount: number;
    clockMs: number;
    liveObjectCount: number;
    liveObjectBytes: number;
  };
  /**
   * `/proc/meminfo` (kB) and, per online top-level cgroup, the memory counter file as the kernel
   * prints it, parsed: v1 `memory.usage_in_bytes` and `memory.kmem.usage_in_bytes`, v2
   * `memory.current`.
   */
  cgroupfs: { meminfo: Record<string, number>; cgroups: Record<string, Record<string, number>> };
}

/** Limits of one point's run (the server passes its own). */
export interface PointLimits {
  maxCommands: number;
  engine: EngineLimits;
}

export const DEFAULT_POINT_LIMITS: PointLimits = {
  maxCommands: DEFAULT_MAX_COMMANDS,
  engine: DEFAULT_LIMITS,
};

function meminfoValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z()_]+):\s+(\d+) kB$/.exec(line);
    if (m !== null && (MEMINFO_KEYS as readonly string[]).includes(m[1])) out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Runs point `index` of `spec`: a fresh instance with the config `deriveModelConfig` gives the
 * point's scenario for its model, the expanded commands executed as `compare` runs them (refused
 * commands counted and skipped), then the end state measured. Deterministic: the same spec and
 * index give the same result, in any process or thread.
 */
export function runPoint(
  spec: SweepSpec,
  index: number,
  limits: PointLimits = DEFAULT_POINT_LIMITS,
): PointResult {
  const point = pointAt(spec, index);
  const scenario = pointScenario(spec, point);
  const derived = deriveModelConfig(scenario.config, point.model);
  const sim = new Simulation(derived.config, limits.engine);
  const outcome: RunOutcome = { commandCount: 0, errorCount: 0, errors: [] };
  for (const cmd of expandScenario(scenario, sim.config, limits.maxCommands))
    executeRecorded(sim, cmd, outcome, 0);
  const { model: _model, ...columns } = measure(point.model, sim);
  const cgroups: Record<string, Record<string, number>> = {};
  const files =
    sim.config.cgroupVersion === 2
      ? ["memory.current"]
      : ["memory.usage_in_bytes", "memory.kmem.usage_in_bytes"];
  for (const cg of topLevelCgroups(sim)) {
    if (cg.state !== "online") continue;
    const figures: Record<string, number> = {};
    for (const f of files) {
      try {
        figures[f] = Number(sim.readFile(cg.path, f).trim());
      } catch (e) {
        // a file this era's cgroupfs lacks is left out, as it is absent from the kernel's
        if (!(e instanceof EngineError)) throw e;
      }
    }
    cgroups[cg.path] = figures;
  }
  return {
    index,
    model: point.model,
    coords: point.coords,
    columns,
    run: {
      commandCount: outcome.commandCount,
      commandErrorCount: outcome.errorCount,
      clockMs: sim.clockMs,
      liveObjectCount: sim.slab.liveObjects,
      liveObjectBytes: sim.slab.liveObjectBytes,
    },
    cgroupfs: { meminfo: meminfoValues(procMeminfo(sim)), cgroups },
  };
}

/** The line of results.jsonl for a result (one JSON object, then a newline). */
export function resultLine(r: PointResult): string {
  return `${JSON.stringify(r)}\n`;
}

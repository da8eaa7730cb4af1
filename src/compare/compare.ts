import {
  DEFAULT_LIMITS,
  EngineError,
  type EngineLimits,
  Simulation,
  type InstanceConfig,
  type ModelName,
  MODEL_NAMES,
} from "../engine/index.js";
import { DEFAULT_MAX_COMMANDS, expandScenario, measureExpansion } from "../scenarios/expand.js";
import { type CommandError, executeRecorded, type RunOutcome } from "../scenarios/run.js";
import type { Scenario } from "../scenarios/schema.js";
import { nextTurn, SliceBudget, type SliceClock } from "../service/slices.js";
import { measure, type ModelRow } from "./measure.js";
import { deriveModelConfig } from "./model-config.js";
import { type ModelSeries, SeriesRecorder, samplingIntervalMs } from "./series.js";

export const DEFAULT_MAX_SAMPLES = 400;

export interface CompareProgress {
  model: ModelName;
  /** 0-based index of the model being run, among `modelCount`. */
  modelIndex: number;
  modelCount: number;
  commandsDone: number;
  commandCount: number;
}

export interface CompareOptions {
  /** Called every `progressEveryCommands` commands and at the end of each model's run. */
  onProgress?: (p: CompareProgress) => void;
  /** Samples per model's series, at most (plus the first and the last). Default 400. */
  maxSamples?: number;
  /** Most commands a scenario may expand to, per model (LIMIT_EXCEEDED beyond). */
  maxCommands?: number;
  /** Engine limits of each instance (the server's, for the REST route). */
  limits?: EngineLimits;
  /** Refused commands kept per model in `runs[].commandErrors`. Default 20. */
  keepErrors?: number;
  /**
   * Time budget of a slice in ms (src/service/slices.ts, default 10): the run gives the event loop a
   * turn whenever a slice's budget is spent, so a server stays responsive; a command always runs
   * whole. `now` is the clock of the budget (tests pass a stepping one).
   */
  sliceMs?: number;
  now?: SliceClock;
  /** Called at each slice boundary, before the next slice starts (`slices`: slices run so far). */
  onSlice?: (slices: number) => void;
  progressEveryCommands?: number;
  /** Aborts at the next slice boundary with the signal's reason. */
  signal?: AbortSignal;
}

/** How one model's run went, beside its row: what it ran with and what it refused. */
export interface ModelRun {
  model: ModelName;
  /** The resolved instance config of the run (docs/API.md §3, every field). */
  config: InstanceConfig;
  /** What `deriveModelConfig` changed in the scenario's config for this model. */
  configAdjustments: string[];
  commandCount: number;
  /** Commands the model refused (request errors such as a v2-only file on v1); the run went on. */
  commandErrorCount: number;
  commandErrors: CommandError[];
  clockMs: number;
  liveObjectCount: number;
  liveObjectBytes: number;
}

/**
 * The comparison: `models` is exactly the JSON of docs/API.md §11 `compare --json` (one row per model,
 * in the order asked); `runs` and `series` add how each run went and its time series.
 */
export interface CompareResult {
  description?: string;
  models: ModelRow[];
  runs: ModelRun[];
  series: ModelSeries[];
}

/** Checks a list of model names: known, at least one, no repeats. Throws INVALID_ARGUMENT. */
export function checkModels(models: readonly string[]): ModelName[] {
  const issues: { path: string; message: string }[] = [];
  if (models.length === 0) issues.push({ path: "models", message: "at least one model is needed" });
  models.forEach((m, i) => {
    if (!(MODEL_NAMES as readonly string[]).includes(m))
      issues.push({
        path: `models.${i}`,
        message: `unknown model "${m}"; expected one of ${MODEL_NAMES.join(", ")}`,
      });
    else if (models.indexOf(m) !== i)
      issues.push({ path: `models.${i}`, message: `model "${m}" is listed twice` });
  });
  if (issues.length > 0)
    throw new EngineError("INVALID_ARGUMENT", `invalid models: ${issues.map((i) => i.message).join("; ")}`, {
      issues,
    });
  return models as ModelName[];
}

/**
 * Runs `scenario` once per model, each on a fresh instance with the config `deriveModelConfig`
 * gives, the commands `expandScenario` gives for that config, executed as `run` would (refused
 * commands recorded and skipped), and reads each end state with `measure`. Deterministic: the same
 * scenario and models give the same result. Throws INVALID_ARGUMENT (bad models, a config no model
 * accepts) or LIMIT_EXCEEDED (too many commands) before running anything that fails that way.
 */
export async function compareScenario(
  scenario: Scenario,
  models: readonly string[] = MODEL_NAMES,
  options: CompareOptions = {},
): Promise<CompareResult> {
  const names = checkModels(models);
  const maxSamples = Math.max(1, options.maxSamples ?? DEFAULT_MAX_SAMPLES);
  const maxCommands = options.maxCommands ?? DEFAULT_MAX_COMMANDS;
  const budget = new SliceBudget({ sliceMs: options.sliceMs, now: options.now });
  // a slice boundary: the event loop's turn, then the abort check (a client gone away)
  const boundary = async () => {
    options.onSlice?.(budget.slices);
    await nextTurn();
    options.signal?.throwIfAborted();
    budget.begin();
  };
  options.signal?.throwIfAborted();
  const progressEvery = Math.max(1, options.progressEveryCommands ?? 1000);
  // build every instance first: a config no model accepts fails before any work
  const setups = names.map((model) => {
    const derived = deriveModelConfig(scenario.config, model);
    const instance = new Simulation(derived.config, options.limits ?? DEFAULT_LIMITS);
    return { model, derived, instance, size: measureExpansion(scenario, instance.config, maxCommands) };
  });
  const result: CompareResult = { models: [], runs: [], series: [] };
  if (scenario.description !== undefined) result.description = scenario.description;
  for (let m = 0; m < setups.length; m++) {
    const { model, derived, instance, size } = setups[m];
    const recorder = new SeriesRecorder(
      model,
      samplingIntervalMs(size.clockMs, maxSamples),
      Math.max(1, Math.ceil(size.commandCount / maxSamples)),
    );
    const outcome: RunOutcome = { commandCount: 0, errorCount: 0, errors: [] };
    const progress = (commandsDone: number) =>
      options.onProgress?.({
        model,
        modelIndex: m,
        modelCount: setups.length,
        commandsDone,
        commandCount: size.commandCount,
      });
    recorder.sample(instance, 0);
    progress(0);
    for (const cmd of expandScenario(scenario, instance.config, maxCommands)) {
      executeRecorded(instance, cmd, outcome, options.keepErrors ?? 20);
      const done = outcome.commandCount;
      recorder.maybeSample(instance, done);
      if (done % progressEvery === 0) progress(done);
      if (budget.due()) await boundary();
    }
    recorder.sample(instance, outcome.commandCount);
    progress(outcome.commandCount);
    result.models.push(measure(model, instance));
    result.runs.push({
      model,
      config: instance.config,
      configAdjustments: derived.adjustments,
      commandCount: outcome.commandCount,
      commandErrorCount: outcome.errorCount,
      commandErrors: outcome.errors,
      clockMs: instance.clockMs,
      liveObjectCount: instance.slab.liveObjects,
      liveObjectBytes: instance.slab.liveObjectBytes,
    });
    result.series.push(recorder.finish());
  }
  return result;
}

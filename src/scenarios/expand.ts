import { type Command, EngineError, type InstanceConfig } from "../engine/index.js";
import { type ExpansionContext, generatorSeed, PidAllocator } from "./generators/common.js";
import { expandContainerChurn } from "./generators/container-churn.js";
import { expandContainerFleet } from "./generators/container-fleet.js";
import { expandDentryStorm } from "./generators/dentry-storm.js";
import { expandFileServer } from "./generators/file-server.js";
import { type GeneratorStep, isGeneratorStep, type Scenario } from "./schema.js";

/** Most commands one scenario may expand to, unless the caller sets another limit. */
export const DEFAULT_MAX_COMMANDS = 5_000_000;

function expandStep(step: GeneratorStep, ctx: ExpansionContext, seedValue: number): Generator<Command> {
  switch (step.generate) {
    case "containerChurn":
      return expandContainerChurn(step, ctx, seedValue);
    case "containerFleet":
      return expandContainerFleet(step, ctx, seedValue);
    case "dentryStormUnderHigh":
      return expandDentryStorm(step, ctx, seedValue);
    case "fileServerReclaimableSlab":
      return expandFileServer(step, ctx, seedValue);
  }
}

/**
 * The scenario's commands for an instance with the resolved `config`: explicit commands as they
 * are, each generator step replaced by its expansion. Pure and deterministic: the output depends
 * only on the scenario and the config (model, cgroup version, CPU count, RAM size, seed). A step's
 * `seed` (default: mixed from `config.seed` and the step's index) drives its random choices, which
 * never depend on the model, so every model runs the same workload; only the era-specific set-up
 * writes differ (cgroup v1 files, `memory.high` vs the v1 hard limit, see the generators).
 *
 * Lazy: commands are produced as they are consumed. Throws LIMIT_EXCEEDED past `maxCommands`.
 */
export function* expandScenario(
  scenario: Scenario,
  config: InstanceConfig,
  maxCommands = DEFAULT_MAX_COMMANDS,
): Generator<Command> {
  const reserved = new Set<number>();
  for (const s of scenario.commands)
    if (!isGeneratorStep(s) && s.op === "spawnTask" && s.pid !== undefined) reserved.add(s.pid);
  const ctx: ExpansionContext = {
    config,
    pids: new PidAllocator(reserved),
    createdCgroups: new Set(),
    setUpCgroups: new Set(),
  };
  let count = 0;
  const emit = (c: Command): Command => {
    if (++count > maxCommands)
      throw new EngineError("LIMIT_EXCEEDED", `the scenario expands to more than ${maxCommands} commands`, {
        limit: "maxCommands",
        value: maxCommands,
      });
    return c;
  };
  for (let i = 0; i < scenario.commands.length; i++) {
    const step = scenario.commands[i];
    if (!isGeneratorStep(step)) {
      // generators create a parent only if the stream has not created it already
      if (step.op === "createCgroup") ctx.createdCgroups.add(step.path);
      else if (step.op === "removeCgroup") {
        ctx.createdCgroups.delete(step.path);
        ctx.setUpCgroups.delete(step.path);
      }
      yield emit(step);
      continue;
    }
    const seedValue = step.seed ?? generatorSeed(config.seed, i);
    for (const c of expandStep(step, ctx, seedValue)) yield emit(c);
  }
}

/** `expandScenario` into an array. */
export function expandScenarioToArray(
  scenario: Scenario,
  config: InstanceConfig,
  maxCommands = DEFAULT_MAX_COMMANDS,
): Command[] {
  return [...expandScenario(scenario, config, maxCommands)];
}

/** Command count and simulated time of the expansion, without keeping the commands. */
export function measureExpansion(
  scenario: Scenario,
  config: InstanceConfig,
  maxCommands = DEFAULT_MAX_COMMANDS,
): { commandCount: number; clockMs: number } {
  let commandCount = 0;
  let clockMs = 0;
  for (const c of expandScenario(scenario, config, maxCommands)) {
    commandCount++;
    if (c.op === "advanceClock") clockMs += c.ms;
  }
  return { commandCount, clockMs };
}

export { DEFAULT_MAX_COMMANDS, expandScenario, expandScenarioToArray, measureExpansion } from "./expand.js";
export { loadScenarioFile, parseScenarioText } from "./load.js";
export { type CommandError, type RunOutcome, runCommands, executeRecorded } from "./run.js";
export {
  GENERATORS,
  type GeneratorStep,
  isGeneratorStep,
  parseScenario,
  type Scenario,
  type ScenarioStep,
} from "./schema.js";

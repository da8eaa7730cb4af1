export { runCompareCli, COMPARE_USAGE } from "./cli.js";
export {
  type CompareOptions,
  type CompareProgress,
  type CompareResult,
  checkModels,
  compareScenario,
  type ModelRun,
} from "./compare.js";
export { formatCompareTable } from "./format.js";
export { measure, type ModelRow } from "./measure.js";
export { deriveModelConfig } from "./model-config.js";
export { renderReport, REPORT_FIGURES } from "./report.js";
export {
  type CompareRequest,
  compareRequestSchema,
  DEFAULT_COMPARE_REQUEST_LIMITS,
  handleCompareRequest,
} from "./rest.js";
export type { ModelSeries } from "./series.js";

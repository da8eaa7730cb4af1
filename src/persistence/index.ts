export { CommandLog, type CommandSource, type ExportBase, type History } from "./command-log.js";
export { stateDigest } from "./digest.js";
export {
  DEFAULT_MAX_IMPORT_COMMANDS,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  EXPORT_VERSION_BASE,
  exportChunks,
  type ExportDoc,
  exportDocSchema,
  exportDocV1Schema,
  exportDocV2Schema,
  exportInstance,
  type ExportPlan,
  prepareExport,
  type ImportOptions,
  importInstance,
} from "./export.js";
export {
  DEFAULT_DATA_DIR,
  dataDirFromEnv,
  Persistence,
  type PersistenceOptions,
  type PersistenceStats,
  type RestoreReport,
} from "./persistence.js";
export { DB_FILE, SCHEMA_VERSION, type Synchronous } from "./store.js";

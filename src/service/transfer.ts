import type { ExportDoc, ExportPlan } from "../persistence/index.js";
import type { Entry, Registry } from "../registry.js";

/** What export/import run on: the Persistence (its journal or its in-memory command log). */
export interface Transfer {
  exportInstance(registry: Registry, name: string): ExportDoc;
  /** The export checked and read whole, before its first byte is sent (src/persistence/export.ts). */
  exportPlan(registry: Registry, name: string): ExportPlan;
  importInstance(registry: Registry, doc: unknown, opts?: { name?: string; maxCommands?: number }): Entry;
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Persistence, type PersistenceOptions, type RestoreReport } from "../../src/persistence/index.js";
import { Registry } from "../../src/registry.js";

/** A fresh temp data directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "memcg-sim-persist-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }) };
}

/** A Registry with a Persistence started on `dataDir` (restore + attach), as src/main.ts does. */
export function server(
  dataDir: string | null,
  opts: Partial<PersistenceOptions> = {},
): { registry: Registry; persistence: Persistence; report: RestoreReport } {
  const registry = new Registry();
  const persistence = new Persistence({ dataDir, ...opts });
  const report = persistence.start(registry);
  return { registry, persistence, report };
}

import { mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { Persistence, type PersistenceOptions, type RestoreReport } from "../../src/persistence/index.js";
import { Registry } from "../../src/registry.js";

/**
 * Removes a data directory. An acknowledgement-marker write still in flight when its server closed
 * (docs/RELIABILITY.md, "Integrity": written off the event loop; close() drops it and deletes its
 * temporary file once the write returns) may create that file while the directory is being
 * removed; a synchronous removal cannot wait for it, so it is then retried asynchronously, with
 * the event loop turning, until the directory is gone.
 */
export function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    void rm(dir, { recursive: true, force: true, maxRetries: 50, retryDelay: 100 }).catch(() => {});
  }
}

/** A fresh temp data directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "memcg-sim-persist-"));
  return { dir, cleanup: () => removeDir(dir) };
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

/**
 * A maker of temp data directories for one test file: each `dir()` is a fresh one, removed after
 * the test that made it (call at the file's top level).
 */
export function tempDirs(): () => string {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  return () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };
}

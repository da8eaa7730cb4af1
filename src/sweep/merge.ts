import { join } from "node:path";
import { pointAt, type SweepPoint, type SweepSpec } from "./spec.js";
import { META_FILE, RESULTS_FILE, readMeta, readResults, SweepFileError, specOfMeta } from "./store.js";

export interface MergeResult {
  spec: SweepSpec;
  /** Every line found, once, in ascending index order (the bytes of the merged results.jsonl). */
  lines: string[];
  /** Points no directory holds. */
  missing: SweepPoint[];
  /** Lines found in more than one directory with the same bytes (kept once). */
  duplicateCount: number;
}

/**
 * Merges the results directories of the shards of one sweep: every directory must hold the same
 * spec (sweep.json digest); a point found twice must have byte-identical lines (the simulation is
 * deterministic, so a disagreement means a different build or a damaged file: refused, naming both
 * places); a torn last line is refused (resume that shard first). Points no directory holds are
 * reported in `missing`.
 */
export function mergeSweepDirs(dirs: readonly string[]): MergeResult {
  if (dirs.length === 0) throw new SweepFileError("sweep-merge needs at least one results directory");
  let spec: SweepSpec | null = null;
  let first = "";
  const byIndex = new Map<number, { text: string; where: string }>();
  let duplicateCount = 0;
  for (const dir of dirs) {
    const meta = readMeta(dir);
    if (meta === null)
      throw new SweepFileError(`${join(dir, META_FILE)}: no such file (not a sweep results directory)`);
    if (spec === null) {
      spec = specOfMeta(meta);
      first = dir;
    } else if (meta.digest !== spec.digest)
      throw new SweepFileError(
        `${dir} holds another sweep than ${first} (spec digest ${meta.digest.slice(0, 12)}… vs ${spec.digest.slice(0, 12)}…)`,
      );
    const file = join(dir, RESULTS_FILE);
    const read = readResults(file, spec.pointCount);
    if (read.torn !== null)
      throw new SweepFileError(
        `${file}: line ${read.torn.lineNo} is torn (${read.torn.bytes} bytes without a newline); run that shard again to resume it, then merge`,
      );
    for (const l of read.lines) {
      const where = `${file}:${l.lineNo}`;
      const seen = byIndex.get(l.index);
      if (seen === undefined) byIndex.set(l.index, { text: l.text, where });
      else if (seen.text === l.text) duplicateCount++;
      else throw new SweepFileError(`point ${l.index} disagrees between ${seen.where} and ${where}`);
    }
  }
  const s = spec as SweepSpec;
  const lines: string[] = [];
  const missing: SweepPoint[] = [];
  for (let i = 0; i < s.pointCount; i++) {
    const hit = byIndex.get(i);
    if (hit === undefined) missing.push(pointAt(s, i));
    else lines.push(hit.text);
  }
  return { spec: s, lines, missing, duplicateCount };
}

import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Shard } from "./run.js";
import { checkSweepSpec, type SweepSpec, specDocument } from "./spec.js";

export const RESULTS_FILE = "results.jsonl";
export const TIMINGS_FILE = "timings.jsonl";
export const META_FILE = "sweep.json";

/** DIR/sweep.json: which sweep and which shard the directory holds (its spec, self-contained). */
export interface SweepMeta {
  digest: string;
  pointCount: number;
  shard: Shard;
  spec: Record<string, unknown>;
}

/** A problem with a results directory or file: the user's to fix, named by file and line. */
export class SweepFileError extends Error {}

/** One complete line of a results file, as read back. */
export interface StoredLine {
  index: number;
  /** The line's bytes, newline included. */
  text: string;
  /** 1-based line number in its file. */
  lineNo: number;
}

export interface ReadResults {
  lines: StoredLine[];
  /** A last line without its newline (a write cut short): its 1-based number and byte length. */
  torn: { lineNo: number; bytes: number; offset: number } | null;
}

/**
 * Reads a results.jsonl: every complete line must be a JSON object with an integer `index` in
 * [0, pointCount); anything else is a SweepFileError naming the file and the line. A last line
 * without a newline is reported as `torn`, not parsed.
 */
export function readResults(file: string, pointCount: number): ReadResults {
  if (!existsSync(file)) return { lines: [], torn: null };
  const buf = readFileSync(file);
  const lines: StoredLine[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    lineNo++;
    if (nl < 0) return { lines, torn: { lineNo, bytes: buf.length - start, offset: start } };
    const text = buf.subarray(start, nl + 1).toString("utf8");
    let index: unknown;
    try {
      index = (JSON.parse(text) as { index?: unknown }).index;
    } catch (e) {
      throw new SweepFileError(`${file}: line ${lineNo} is not valid JSON (${(e as Error).message})`);
    }
    if (!Number.isSafeInteger(index) || (index as number) < 0 || (index as number) >= pointCount)
      throw new SweepFileError(`${file}: line ${lineNo} has no point index in [0, ${pointCount})`);
    lines.push({ index: index as number, text, lineNo });
    start = nl + 1;
  }
  return { lines, torn: null };
}

/** Reads DIR/sweep.json (null when absent); a damaged one is a SweepFileError. */
export function readMeta(dir: string): SweepMeta | null {
  const file = join(dir, META_FILE);
  if (!existsSync(file)) return null;
  try {
    const meta = JSON.parse(readFileSync(file, "utf8")) as SweepMeta;
    if (typeof meta.digest !== "string" || typeof meta.pointCount !== "number")
      throw new Error("missing digest or pointCount");
    return meta;
  } catch (e) {
    throw new SweepFileError(`${file}: not a sweep description (${(e as Error).message})`);
  }
}

/** The spec a directory's sweep.json carries, checked again. */
export function specOfMeta(meta: SweepMeta): SweepSpec {
  const spec = checkSweepSpec(meta.spec, Number.MAX_SAFE_INTEGER);
  if (spec.digest !== meta.digest)
    throw new SweepFileError(`sweep.json: its spec does not match its digest ${meta.digest}`);
  return spec;
}

/**
 * The results directory of one shard of one sweep. Opening it creates it (with sweep.json), or
 * resumes it: same spec and shard required, the points already written are `done`, and a torn
 * last line (the process stopped in the middle of a write) is cut off with a message naming it —
 * its point runs again and its line is written whole.
 */
export class ResultsDir {
  readonly done = new Set<number>();
  readonly resultsFile: string;
  readonly timingsFile: string;

  private constructor(readonly dir: string) {
    this.resultsFile = join(dir, RESULTS_FILE);
    this.timingsFile = join(dir, TIMINGS_FILE);
  }

  static open(dir: string, spec: SweepSpec, shard: Shard, warn: (msg: string) => void): ResultsDir {
    mkdirSync(dir, { recursive: true });
    const out = new ResultsDir(dir);
    const meta = readMeta(dir);
    if (meta !== null) {
      if (meta.digest !== spec.digest)
        throw new SweepFileError(
          `${dir} holds results of another sweep (spec digest ${meta.digest.slice(0, 12)}…, this one is ${spec.digest.slice(0, 12)}…): use another --out`,
        );
      if (meta.shard.index !== shard.index || meta.shard.count !== shard.count)
        throw new SweepFileError(
          `${dir} holds shard ${meta.shard.index}/${meta.shard.count}, not ${shard.index}/${shard.count}: use another --out`,
        );
    } else {
      const m: SweepMeta = {
        digest: spec.digest,
        pointCount: spec.pointCount,
        shard,
        spec: specDocument(spec),
      };
      writeFileSync(join(dir, META_FILE), `${JSON.stringify(m, null, 2)}\n`);
    }
    const read = readResults(out.resultsFile, spec.pointCount);
    if (read.torn !== null) {
      warn(
        `${out.resultsFile}: line ${read.torn.lineNo} is torn (${read.torn.bytes} bytes without a newline, a write cut short); it is removed and its point runs again`,
      );
      truncateSync(out.resultsFile, read.torn.offset);
    }
    for (const l of read.lines) {
      if (l.index % shard.count !== shard.index)
        throw new SweepFileError(
          `${out.resultsFile}: line ${l.lineNo} holds point ${l.index}, not of shard ${shard.index}/${shard.count}`,
        );
      if (out.done.has(l.index))
        throw new SweepFileError(`${out.resultsFile}: line ${l.lineNo} repeats point ${l.index}`);
      out.done.add(l.index);
    }
    // timings are informational: a torn last line is cut off silently, the results say what ran
    const timings = readTimingsTail(out.timingsFile);
    if (timings !== null) truncateSync(out.timingsFile, timings);
    return out;
  }

  /** Appends one result line whole (one write of the full line). */
  append(index: number, line: string, wallMs: number, workers: number): void {
    if (!line.endsWith("\n") || line.indexOf("\n") !== line.length - 1)
      throw new Error("a result line is one line");
    appendFileSync(this.resultsFile, line);
    this.done.add(index);
    appendFileSync(
      this.timingsFile,
      `${JSON.stringify({ index, wallMs: Math.round(wallMs * 1000) / 1000, workers })}\n`,
    );
  }
}

/** The offset to cut a timings file at when its last line is torn, else null. */
function readTimingsTail(file: string): number | null {
  if (!existsSync(file)) return null;
  const buf = readFileSync(file);
  if (buf.length === 0 || buf[buf.length - 1] === 0x0a) return null;
  return buf.lastIndexOf(0x0a) + 1;
}

import { performance } from "node:perf_hooks";
import { DEFAULT_POINT_LIMITS, type PointLimits, resultLine, runPoint } from "./point.js";
import type { SweepPool } from "./pool.js";
import type { SweepSpec } from "./spec.js";

/** `--shard I/N`: this process runs the points whose index ≡ I (mod N). */
export interface Shard {
  index: number;
  count: number;
}

export interface SweepProgress {
  /** Points of this run finished (skipped ones not counted). */
  done: number;
  /** Points this run has to do. */
  total: number;
  pointsPerSecond: number;
  /** Seconds left at the rate so far; null before the first point. */
  etaSeconds: number | null;
}

export interface RunSweepOptions {
  /** Worker threads; null runs every point on this thread (no pool). */
  pool: SweepPool | null;
  shard?: Shard;
  /** Indices already in the results (resume): not run again. */
  skip?: ReadonlySet<number>;
  /** Called once per point, in ascending index order, with its results.jsonl line. */
  onResult: (index: number, line: string, wallMs: number) => void;
  onProgress?: (p: SweepProgress) => void;
  limits?: PointLimits;
  /** Stops handing out points; running ones finish; the run rejects with the reason. */
  signal?: AbortSignal;
}

/** The indices of `spec` that `shard` owns, ascending. */
export function shardIndices(spec: SweepSpec, shard: Shard = { index: 0, count: 1 }): number[] {
  const out: number[] = [];
  for (let i = shard.index; i < spec.pointCount; i += shard.count) out.push(i);
  return out;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs the points of `spec` this shard owns and has not done yet, on the pool's threads (as many
 * at once as it has threads, plus one queued each) or on this thread, and hands each line to
 * `onResult` in ascending index order, whatever order the threads finish in: the results are the
 * same bytes for any thread count. Resolves with the number of points run; rejects with the first
 * point's error (points after it are not written).
 */
export async function runSweep(spec: SweepSpec, opts: RunSweepOptions): Promise<number> {
  const limits = opts.limits ?? DEFAULT_POINT_LIMITS;
  const todo = shardIndices(spec, opts.shard).filter((i) => !opts.skip?.has(i));
  const t0 = performance.now();
  let done = 0;
  const progress = () => {
    const secs = (performance.now() - t0) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    opts.onProgress?.({
      done,
      total: todo.length,
      pointsPerSecond: rate,
      etaSeconds: done === 0 ? null : (todo.length - done) / rate,
    });
  };
  progress();
  if (opts.pool === null) {
    for (const index of todo) {
      opts.signal?.throwIfAborted();
      const p0 = performance.now();
      const line = resultLine(runPoint(spec, index, limits));
      opts.onResult(index, line, performance.now() - p0);
      done++;
      progress();
      await turn();
    }
    return done;
  }
  const pool = opts.pool;
  const window = pool.size * 2;
  const finished = new Map<number, { line: string; wallMs: number }>();
  let next = 0; // position in todo of the next point to hand out
  let written = 0; // positions written so far
  let failure: unknown = null;
  let inFlight = 0;
  await new Promise<void>((resolve, reject) => {
    const settle = () => {
      if (failure !== null) {
        if (inFlight === 0) reject(failure);
        return;
      }
      while (finished.has(written)) {
        const d = finished.get(written)!;
        finished.delete(written);
        try {
          opts.onResult(todo[written], d.line, d.wallMs);
        } catch (e) {
          failure = e;
          settle();
          return;
        }
        written++;
        done++;
        progress();
      }
      if (written === todo.length) {
        resolve();
        return;
      }
      if (opts.signal?.aborted) {
        failure = opts.signal.reason;
        if (inFlight === 0) reject(failure);
        return;
      }
      // hand out points while the window of unwritten ones has room (bounded memory)
      while (next < todo.length && next - written < window) {
        const pos = next++;
        inFlight++;
        pool.run(spec, todo[pos], limits).then(
          (d) => {
            inFlight--;
            finished.set(pos, d);
            settle();
          },
          (e) => {
            inFlight--;
            failure ??= e;
            settle();
          },
        );
      }
    };
    settle();
  });
  return done;
}

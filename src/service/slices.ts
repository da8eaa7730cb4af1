import { performance } from "node:perf_hooks";

/**
 * Long requests (a batch of heavy commands, a comparison) run in slices: work continues while the
 * slice's time budget lasts, then the event loop gets a turn (`setImmediate`) before the next slice,
 * so cheap requests (probes, reads of other instances, scrapes) are answered in between. The unit
 * of work is never cut: a command always runs whole inside one slice, so the longest stall is the
 * longest single command (docs/RELIABILITY.md, "No request stalls the server").
 */

/** Time budget of one slice, in milliseconds (a slice ends at the first unit of work past it). */
export const DEFAULT_SLICE_MS = 10;

/** What a slice reads the time from: `performance.now` in the server, a counter in tests. */
export type SliceClock = () => number;

export interface SliceOptions {
  /** Budget of one slice in ms (default DEFAULT_SLICE_MS); 0 ends a slice after every unit. */
  sliceMs?: number;
  /** The clock the budget is measured on (default `performance.now`). */
  now?: SliceClock;
}

/** One event-loop turn: resolves from the check phase, after pending I/O callbacks ran. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Tells a loop when its current slice is over. `due()` after each unit of work; when it answers
 * true, the loop yields (`await nextTurn()` or its own await) and calls `begin()`.
 */
export class SliceBudget {
  private readonly sliceMs: number;
  private readonly now: SliceClock;
  private started: number;
  /** Slices begun so far (the first one included). */
  slices = 1;

  constructor(opts: SliceOptions = {}) {
    this.sliceMs = Math.max(0, opts.sliceMs ?? DEFAULT_SLICE_MS);
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
  }

  /** Whether the slice's budget is spent. */
  due(): boolean {
    return this.now() - this.started >= this.sliceMs;
  }

  /** Starts the next slice. */
  begin(): void {
    this.slices++;
    this.started = this.now();
  }
}

/**
 * A clock for tests: every read advances it by `stepMs`, so a budget of `k × stepMs` ends a slice
 * after a fixed number of units whatever the machine's speed (no timed assertion).
 */
export function steppingClock(stepMs = 1): SliceClock {
  let t = 0;
  return () => {
    t += stepMs;
    return t;
  };
}

/** Progress of the long requests of one kind: how many run now, and the slices they ran in all. */
export interface SliceProgress {
  running: number;
  slices: number;
}

/** Progress of the server's long requests by kind (Service.progress). */
export interface LongRequestProgress {
  batch: SliceProgress;
  compare: SliceProgress;
  /** Single commands run in parts (a large allocObjects, Service.execute). */
  command: SliceProgress;
}

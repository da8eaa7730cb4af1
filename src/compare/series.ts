import { type Simulation, STAT_KERNEL_PAGES } from "../engine/index.js";
import { slabPageCount, slabUtilization, topLevelCgroups } from "./measure.js";
import { PAGE_SIZE as PAGE } from "../engine/index.js";

/** Top-level cgroups charted by name; the rest are summed under OTHER_CGROUPS. */
export const MAX_SERIES_CGROUPS = 12;
export const OTHER_CGROUPS = "(other)";

/**
 * One model's time series, column-wise: sample k is `clockMs[k]`, `slabPageCount[k]`, … Taken at
 * the start, whenever the simulated clock passes the next sampling point, and at the end.
 */
export interface ModelSeries {
  model: string;
  /** Simulated time of each sample. */
  clockMs: number[];
  /** Commands executed before each sample. */
  commandIndex: number[];
  slabPageCount: number[];
  slabUtilization: number[];
  dyingCgroupCount: number[];
  chargeFailureCount: number[];
  oomKillCount: number[];
  /** Kernel memory charged (`kernel` statistic, bytes) per top-level cgroup path, one value per sample. */
  kmemChargedBytesByCgroup: Record<string, number[]>;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Sampling periods that divide a day (from a second up), so day and hour boundaries are sampled. */
const NICE_MS = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
];

/** The sampling period for `totalMs` of simulated time and at most `maxSamples` samples: a "nice" period ≥ totalMs / maxSamples. */
export function samplingIntervalMs(totalMs: number, maxSamples: number): number {
  if (totalMs <= 0) return 0;
  const raw = Math.ceil(totalMs / maxSamples);
  const nice = NICE_MS.find((n) => n >= raw);
  return nice ?? Math.ceil(raw / DAY) * DAY;
}

/** The value of `column` at the end of each whole simulated day (the last sample at or before d days), d = 0… */
export function valuesByDay(series: ModelSeries, column: number[]): number[] {
  const days = Math.floor(series.clockMs[series.clockMs.length - 1] / DAY);
  const out: number[] = [];
  let k = 0;
  for (let d = 0; d <= days; d++) {
    while (k + 1 < series.clockMs.length && series.clockMs[k + 1] <= d * DAY) k++;
    out.push(column[k]);
  }
  return out;
}

export const DAY_MS = DAY;

/** Collects a ModelSeries while a scenario runs on one instance. */
export class SeriesRecorder {
  readonly series: ModelSeries;
  private readonly kmem = new Map<string, number[]>();
  private nextAtMs = 0;

  /**
   * `intervalMs` is the simulated time between samples (0: one sample every `commandInterval`
   * commands, for scenarios that never move the clock).
   */
  constructor(
    model: string,
    private readonly intervalMs: number,
    private readonly commandInterval: number,
  ) {
    this.series = {
      model,
      clockMs: [],
      commandIndex: [],
      slabPageCount: [],
      slabUtilization: [],
      dyingCgroupCount: [],
      chargeFailureCount: [],
      oomKillCount: [],
      kmemChargedBytesByCgroup: {},
    };
  }

  /** Samples if the clock (or, without clock, the command count) reached the next sampling point. */
  maybeSample(sim: Simulation, commandsDone: number): void {
    if (this.intervalMs > 0) {
      if (sim.clockMs < this.nextAtMs) return;
      this.nextAtMs = (Math.floor(sim.clockMs / this.intervalMs) + 1) * this.intervalMs;
    } else if (commandsDone % this.commandInterval !== 0) return;
    this.sample(sim, commandsDone);
  }

  /** Takes a sample now; a sample at the same point as the previous one replaces it. */
  sample(sim: Simulation, commandsDone: number): void {
    const s = this.series;
    const last = s.clockMs.length - 1;
    if (last >= 0 && s.clockMs[last] === sim.clockMs && s.commandIndex[last] === commandsDone) return;
    const n = s.clockMs.length;
    s.clockMs.push(sim.clockMs);
    s.commandIndex.push(commandsDone);
    s.slabPageCount.push(slabPageCount(sim));
    s.slabUtilization.push(slabUtilization(sim));
    s.dyingCgroupCount.push(sim.dyingCount);
    s.chargeFailureCount.push(sim.chargeFailures.memory + sim.chargeFailures.kmem);
    s.oomKillCount.push(sim.oomKillCount);
    const now = new Map<string, number>();
    for (const c of topLevelCgroups(sim))
      now.set(c.path, (now.get(c.path) ?? 0) + c.statHier[STAT_KERNEL_PAGES] * PAGE);
    for (const [path, v] of now) {
      let col = this.kmem.get(path);
      if (col === undefined) {
        col = new Array<number>(n).fill(0);
        this.kmem.set(path, col);
      }
      col.push(v);
    }
    for (const col of this.kmem.values()) if (col.length === n) col.push(0);
  }

  /** The finished series; beyond MAX_SERIES_CGROUPS cgroups, the smaller ones (by peak) are summed. */
  finish(): ModelSeries {
    const entries = [...this.kmem.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    const peak = (v: number[]) => v.reduce((m, x) => Math.max(m, x), 0);
    let keep = entries;
    const out: Record<string, number[]> = {};
    if (entries.length > MAX_SERIES_CGROUPS) {
      const ranked = [...entries].sort((a, b) => peak(b[1]) - peak(a[1]) || a[0].localeCompare(b[0]));
      const kept = new Set(ranked.slice(0, MAX_SERIES_CGROUPS - 1).map((e) => e[0]));
      keep = entries.filter((e) => kept.has(e[0]));
      const other = new Array<number>(this.series.clockMs.length).fill(0);
      for (const [path, v] of entries)
        if (!kept.has(path)) for (let i = 0; i < v.length; i++) other[i] += v[i];
      out[OTHER_CGROUPS] = other;
    }
    for (const [path, v] of keep) out[path] = v;
    this.series.kmemChargedBytesByCgroup = out;
    return this.series;
  }
}

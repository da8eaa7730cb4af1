import { STAT_KERNEL_PAGES } from "../engine/cgroup.js";
import type { Instance } from "../engine/instance.js";
import { slabPageCount, slabUtilization, topLevelCgroups } from "./measure.js";

const PAGE = 4096;
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
  maybeSample(sim: Instance, commandsDone: number): void {
    if (this.intervalMs > 0) {
      if (sim.clockMs < this.nextAtMs) return;
      this.nextAtMs = (Math.floor(sim.clockMs / this.intervalMs) + 1) * this.intervalMs;
    } else if (commandsDone % this.commandInterval !== 0) return;
    this.sample(sim, commandsDone);
  }

  /** Takes a sample now; a sample at the same point as the previous one replaces it. */
  sample(sim: Instance, commandsDone: number): void {
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
    for (const c of topLevelCgroups(sim)) now.set(c.path, (now.get(c.path) ?? 0) + c.statHier[STAT_KERNEL_PAGES] * PAGE);
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
      for (const [path, v] of entries) if (!kept.has(path)) v.forEach((x, i) => (other[i] += x));
      out[OTHER_CGROUPS] = other;
    }
    for (const [path, v] of keep) out[path] = v;
    this.series.kmemChargedBytesByCgroup = out;
    return this.series;
  }
}

/**
 * A hierarchical memory counter in pages, as `mm/page_counter.c` (docs/DOMAIN.md §2.2) — and, with the
 * byte/rounding differences handled at the cgroupfs edge, as the older `res_counter` (§2.1):
 * every charge in the simulator is a whole number of pages, so one implementation serves both.
 *
 * A counter's numbers are 8 doubles in a row of a Float64Array (PC_* offsets). A cgroup keeps its
 * `memory` and `kmem` counters in its own row next to its statistics (Cgroup.row), so a charge to
 * a cgroup cold in the CPU caches misses on one contiguous row and not on three objects (issue
 * "Performance", scaling with cgroups). The hot paths charge a cgroup through the `*At` functions,
 * which walk the cgroups themselves; `PageCounter` is the object view of one counter (cgroupfs,
 * reclaim, invariants, tests) and runs the same functions.
 *
 * The parent is null for the root and for v1 cgroups with `use_hierarchy=0` (§2.3).
 */
export const UNLIMITED = Number.POSITIVE_INFINITY;

export const PC_USAGE = 0;
export const PC_MAX = 1;
export const PC_WATERMARK = 2;
export const PC_FAILCNT = 3;
/**
 * Monotonic totals for metrics, never reset by failcnt/max_usage writes (docs/API.md §8): pages
 * uncharged, failed charges. Pages charged are not stored: every change of usage is a charge, an
 * uncharge or a rollback of a charge, so charged = usage + uncharged at all times.
 */
export const PC_UNCHARGED_TOTAL = 4;
export const PC_FAIL_TOTAL = 5;
/** Forced charges (`page_counter_charge`) at this level; they may take usage above max (docs/DOMAIN.md §12 (invariant 1)). */
export const PC_FORCED_TOTAL = 6;
/**
 * Underflows at this level: cancels of more pages than the usage held. The kernel warns
 * (mm/page_counter.c:page_counter_cancel, 6.18: `WARN_ONCE(new < 0, "page_counter underflow: %ld
 * nr_pages=%lu\n", new, nr_pages)`) and sets the usage to 0; the simulator sets it to 0 the same
 * way and counts every occurrence here, where checks and tests can see it (a correct simulation
 * never underflows: each one is a bookkeeping bug, as in the kernel).
 */
export const PC_UNDERFLOWS = 7;
/** Doubles per counter in a row. */
export const PC_FIELDS = 8;

/**
 * One level of a counter hierarchy: its counters live in `row` from `rowOff`; a counter at offset
 * `at` of the level has its parent at the same offset of `counterParent`.
 */
export interface CounterNode {
  readonly row: Float64Array;
  readonly rowOff: number;
  readonly counterParent: CounterNode | null;
}

/** Writes a fresh counter (no usage, no limit) at `off` of `row`. */
export function initCounter(row: Float64Array, off: number): void {
  row.fill(0, off, off + PC_FIELDS);
  row[off + PC_MAX] = UNLIMITED;
}

/**
 * As `page_counter_try_charge`: charges `n` pages at every level from `node` to the root. On the
 * first level where usage would exceed max, undoes the levels below it and returns that level;
 * only that level's failcnt increments. Returns null on success.
 */
export function tryChargeAt<N extends CounterNode>(node: N, at: number, n: number): N | null {
  for (let c: CounterNode | null = node; c !== null; c = c.counterParent) {
    const r = c.row;
    const o = c.rowOff + at;
    const next = r[o] + n;
    if (next > r[o + PC_MAX]) {
      r[o + PC_FAILCNT]++;
      r[o + PC_FAIL_TOTAL]++;
      // roll back the levels below the failing one; a rollback is not an uncharge
      for (let u: CounterNode = node; u !== c; u = u.counterParent!) u.row[u.rowOff + at] -= n;
      return c as N;
    }
    r[o] = next;
    if (next > r[o + PC_WATERMARK]) r[o + PC_WATERMARK] = next;
  }
  return null;
}

/** As `page_counter_charge`: unconditional (forced) charge at every level; usage may exceed max. */
export function chargeAt(node: CounterNode, at: number, n: number): void {
  for (let c: CounterNode | null = node; c !== null; c = c.counterParent) {
    const r = c.row;
    const o = c.rowOff + at;
    const next = r[o] + n;
    r[o] = next;
    r[o + PC_FORCED_TOTAL] += n;
    if (next > r[o + PC_WATERMARK]) r[o + PC_WATERMARK] = next;
  }
}

/** As `page_counter_uncharge`: subtracts at every level (`page_counter_cancel` each, see `cancel`). */
export function unchargeAt(node: CounterNode, at: number, n: number): void {
  for (let c: CounterNode | null = node; c !== null; c = c.counterParent) cancel(c.row, c.rowOff + at, n);
}

/** Removes `n` pages from this level only (reparenting a dying cgroup's charges, docs/DOMAIN.md §10). */
export function cancelLocalAt(node: CounterNode, at: number, n: number): void {
  cancel(node.row, node.rowOff + at, n);
}

/**
 * `page_counter_cancel` (mm/page_counter.c, 6.18): usage -= n; below 0 the kernel warns
 * ("page_counter underflow", WARN_ONCE) and sets the usage to 0. The warning is recorded in
 * PC_UNDERFLOWS; the uncharged total counts only the pages the usage held (charged = usage +
 * uncharged stays true).
 */
function cancel(r: Float64Array, o: number, n: number): void {
  const usage = r[o];
  const next = usage - n;
  if (next < 0) {
    r[o] = 0;
    r[o + PC_UNCHARGED_TOTAL] += usage;
    r[o + PC_UNDERFLOWS]++;
    return;
  }
  r[o] = next;
  r[o + PC_UNCHARGED_TOTAL] += n;
}

/** Pages that can still be charged at this level and every ancestor (`mem_cgroup_margin`). */
export function marginAt(node: CounterNode, at: number): number {
  let m = UNLIMITED;
  for (let c: CounterNode | null = node; c !== null; c = c.counterParent) {
    const o = c.rowOff + at;
    const left = c.row[o + PC_MAX] - c.row[o];
    if (left < m) m = left;
  }
  return Math.max(m, 0);
}

/** The object view of one counter: its own row (a standalone counter) or a slice of a cgroup's. */
export class PageCounter implements CounterNode {
  readonly row: Float64Array;
  readonly rowOff: number;
  /** A v2 `memory.max` write installed a max below the usage of the moment (docs/DOMAIN.md §3.2). */
  maxSetBelowUsage = false;

  constructor(
    readonly counterParent: PageCounter | null,
    row: Float64Array = new Float64Array(PC_FIELDS),
    rowOff = 0,
  ) {
    this.row = row;
    this.rowOff = rowOff;
    initCounter(row, rowOff);
  }

  get parent(): PageCounter | null {
    return this.counterParent;
  }

  get usage(): number {
    return this.row[this.rowOff + PC_USAGE];
  }
  set usage(v: number) {
    this.row[this.rowOff + PC_USAGE] = v;
  }
  get max(): number {
    return this.row[this.rowOff + PC_MAX];
  }
  set max(v: number) {
    this.row[this.rowOff + PC_MAX] = v;
  }
  /*
   * Two watermarks share the row's one: the counter's own and the v1 memsw counter's (swap
   * accounting eras; no swap is simulated, so memsw usage is this usage), each reset on its own
   * (`memory.max_usage_in_bytes`, `memory.memsw.max_usage_in_bytes`). The row's slot holds the
   * peak since the last reset of either; at each reset the other one's value so far is kept as a
   * floor, so both stay exact and the charge path updates one slot, as before.
   */
  private watermarkFloor = 0;
  private memswWatermarkFloor = 0;

  get watermark(): number {
    const w = this.row[this.rowOff + PC_WATERMARK];
    return w > this.watermarkFloor ? w : this.watermarkFloor;
  }
  /** As `page_counter_reset_watermark` (v is the usage): the memsw watermark keeps its peak. */
  set watermark(v: number) {
    this.memswWatermarkFloor = this.memswWatermark;
    this.watermarkFloor = 0;
    this.row[this.rowOff + PC_WATERMARK] = v;
  }
  get memswWatermark(): number {
    const w = this.row[this.rowOff + PC_WATERMARK];
    return w > this.memswWatermarkFloor ? w : this.memswWatermarkFloor;
  }
  /** The memsw counter's `page_counter_reset_watermark`: this counter's own watermark keeps its peak. */
  set memswWatermark(v: number) {
    this.watermarkFloor = this.watermark;
    this.memswWatermarkFloor = 0;
    this.row[this.rowOff + PC_WATERMARK] = v;
  }
  get failcnt(): number {
    return this.row[this.rowOff + PC_FAILCNT];
  }
  set failcnt(v: number) {
    this.row[this.rowOff + PC_FAILCNT] = v;
  }
  get chargedTotal(): number {
    return this.row[this.rowOff + PC_USAGE] + this.row[this.rowOff + PC_UNCHARGED_TOTAL];
  }
  get unchargedTotal(): number {
    return this.row[this.rowOff + PC_UNCHARGED_TOTAL];
  }
  get failTotal(): number {
    return this.row[this.rowOff + PC_FAIL_TOTAL];
  }
  get forcedTotal(): number {
    return this.row[this.rowOff + PC_FORCED_TOTAL];
  }
  /** `page_counter underflow` warnings at this level (PC_UNDERFLOWS); 0 in a correct simulation. */
  get underflows(): number {
    return this.row[this.rowOff + PC_UNDERFLOWS];
  }

  /** `tryChargeAt` on this counter: the failing level, or null. */
  tryCharge(n: number): PageCounter | null {
    return tryChargeAt(this, 0, n);
  }

  charge(n: number): void {
    chargeAt(this, 0, n);
  }

  uncharge(n: number): void {
    unchargeAt(this, 0, n);
  }

  cancelLocal(n: number): void {
    cancelLocalAt(this, 0, n);
  }

  margin(): number {
    return marginAt(this, 0);
  }

  /** As `page_counter_set_max`: refuses (false) when usage already exceeds the new max. */
  setMax(pages: number): boolean {
    if (this.usage > pages) return false;
    this.max = pages;
    return true;
  }
}

/**
 * A hierarchical memory counter in pages, as `mm/page_counter.c` (DOMAIN §2.2) — and, with the
 * byte/rounding differences handled at the cgroupfs edge, as the older `res_counter` (§2.1):
 * every charge in the simulator is a whole number of pages, so one implementation serves both.
 *
 * `parent` is null for the root and for v1 cgroups with `use_hierarchy=0` (§2.3).
 */
export const UNLIMITED = Number.POSITIVE_INFINITY;

export class PageCounter {
  usage = 0;
  max = UNLIMITED;
  watermark = 0;
  failcnt = 0;
  /** Monotonic totals for metrics: never reset by failcnt/max_usage writes (API.md §8). */
  chargedTotal = 0;
  unchargedTotal = 0;
  failTotal = 0;
  /** Forced charges (`page_counter_charge`) at this level; they may take usage above max (DOMAIN §12.1). */
  forcedTotal = 0;
  /** A v2 `memory.max` write installed a max below the usage of the moment (DOMAIN §3.2). */
  maxSetBelowUsage = false;

  constructor(public parent: PageCounter | null) {}

  /**
   * As `page_counter_try_charge`: charges `n` pages at every level from this one to the root.
   * On the first level where usage would exceed max, undoes the levels below it and returns that
   * level; only that level's failcnt increments. Returns null on success.
   */
  tryCharge(n: number): PageCounter | null {
    for (let c: PageCounter | null = this; c !== null; c = c.parent) {
      const next = c.usage + n;
      if (next > c.max) {
        c.failcnt++;
        c.failTotal++;
        // roll back the levels below the failing one; a rollback is not an uncharge
        for (let u: PageCounter | null = this; u !== c; u = u!.parent) {
          u!.usage -= n;
          u!.chargedTotal -= n;
        }
        return c;
      }
      c.usage = next;
      c.chargedTotal += n;
      if (next > c.watermark) c.watermark = next;
    }
    return null;
  }

  /** As `page_counter_charge`: unconditional (forced) charge at every level; usage may exceed max. */
  charge(n: number): void {
    for (let c: PageCounter | null = this; c !== null; c = c.parent) {
      c.usage += n;
      c.chargedTotal += n;
      c.forcedTotal += n;
      if (c.usage > c.watermark) c.watermark = c.usage;
    }
  }

  /** As `page_counter_uncharge`: subtracts at every level, clamping at 0 like the kernel's warning path. */
  uncharge(n: number): void {
    for (let c: PageCounter | null = this; c !== null; c = c.parent) c.cancel(n);
  }

  private cancel(n: number): void {
    const next = this.usage - n;
    const done = next < 0 ? this.usage : n;
    this.usage = next < 0 ? 0 : next;
    this.unchargedTotal += done;
  }

  /** Removes `n` pages from this level only (reparenting a dying cgroup's charges, DOMAIN §10). */
  cancelLocal(n: number): void {
    this.cancel(n);
  }

  /** Pages that can still be charged at this level and every ancestor (`mem_cgroup_margin`). */
  margin(): number {
    let m = UNLIMITED;
    for (let c: PageCounter | null = this; c !== null; c = c.parent) {
      const left = c.max - c.usage;
      if (left < m) m = left;
    }
    return m < 0 ? 0 : m;
  }

  /** As `page_counter_set_max`: refuses (false) when usage already exceeds the new max. */
  setMax(pages: number): boolean {
    if (this.usage > pages) return false;
    this.max = pages;
    return true;
  }
}

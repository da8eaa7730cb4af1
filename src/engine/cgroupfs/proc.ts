import { STAT_ANON_PAGES, STAT_FILE_PAGES } from "../cgroup.js";
import type { Sim } from "../sim.js";
import { SLABINFO_HEADER, slabinfoLine } from "./slabinfo.js";

/**
 * `/proc/slabinfo` (docs/DOMAIN.md §6.3): 3.8+ (Era.slabinfoAggregatesCopies) root caches only, newest first (the kernel adds caches at the
 * head of `slab_caches`), each with its per-cgroup copies' numbers added in
 * (`memcg_accumulate_slabinfo`).
 */
export function procSlabinfo(sim: Sim): string {
  let out = SLABINFO_HEADER;
  if (!sim.era.slabinfoAggregatesCopies) {
    // the seed: every copy is a cache of its own on `slab_caches` (kmem_cache_dup →
    // kmem_cache_create, list_add at the head), printed under its own name, newest first
    const all = [];
    for (const cache of sim.slab.caches.values()) {
      all.push({ copy: cache.base, name: cache.name });
      for (const c of cache.children.values())
        if (c.state !== "pending") all.push({ copy: c, name: c.displayName });
    }
    all.sort((a, b) => b.copy.id - a.copy.id);
    for (const { copy, name } of all) out += slabinfoLine(name, [copy]);
    return out;
  }
  for (const cache of [...sim.slab.caches.values()].reverse())
    out += slabinfoLine(cache.name, [cache.base, ...cache.children.values()]);
  return out;
}

const kb = (label: string, pages: number) =>
  `${`${label}:`.padEnd(16, " ")}${String(pages * 4).padStart(8, " ")} kB\n`;

/** `/proc/meminfo` (`show_val_kb`: label padded to 16, value in kB right-aligned to 8), the lines the simulator knows. */
export function procMeminfo(sim: Sim): string {
  const anon = sim.root.statHier[STAT_ANON_PAGES];
  const file = sim.root.statHier[STAT_FILE_PAGES];
  const srec = sim.slab.reclaimablePages;
  const sunrec = sim.slab.unreclaimablePages;
  const free = sim.totalPages - sim.usedPages;
  return (
    kb("MemTotal", sim.totalPages) +
    kb("MemFree", free) +
    kb("MemAvailable", free + file + srec) +
    kb("Buffers", 0) +
    kb("Cached", file) +
    kb("SwapCached", 0) +
    kb("Active", anon) +
    kb("Inactive", file) +
    kb("Active(anon)", anon) +
    kb("Inactive(anon)", 0) +
    kb("Active(file)", 0) +
    kb("Inactive(file)", file) +
    kb("Unevictable", 0) +
    kb("Mlocked", 0) +
    kb("SwapTotal", 0) +
    kb("SwapFree", 0) +
    kb("Dirty", 0) +
    kb("Writeback", 0) +
    kb("AnonPages", anon) +
    kb("Mapped", 0) +
    kb("Shmem", 0) +
    kb("KReclaimable", srec) +
    kb("Slab", srec + sunrec) +
    kb("SReclaimable", srec) +
    kb("SUnreclaim", sunrec)
  );
}

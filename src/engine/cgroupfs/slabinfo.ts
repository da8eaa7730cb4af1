import type { CacheCopy } from "../slab/cache.js";

export const SLABINFO_HEADER =
  "slabinfo - version: 2.1\n" +
  "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";

const pad = (s: string | number, w: number) => String(s).padStart(w, " ");

/**
 * One `cache_show` line (docs/DOMAIN.md §3.1): `%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u :
 * slabdata %6lu %6lu %6lu`. SLUB counts objects free on CPU slabs as active (only the node
 * partial list's free objects are subtracted) and prints tunables and sharedavail as 0.
 */
export function slabinfoLine(name: string, parts: CacheCopy[]): string {
  const g = parts[0].root.geometry;
  let slabs = 0;
  let partialFree = 0;
  for (const p of parts) {
    slabs += p.slabCount;
    partialFree += p.partialFreeObjects;
  }
  const num = slabs * g.objectsPerSlab;
  const active = num - partialFree;
  return (
    `${name.padEnd(17, " ")} ${pad(active, 6)} ${pad(num, 6)} ${pad(g.sizeBytes, 6)} ${pad(g.objectsPerSlab, 4)} ${pad(g.pagesPerSlab, 4)}` +
    ` : tunables ${pad(0, 4)} ${pad(0, 4)} ${pad(0, 4)} : slabdata ${pad(slabs, 6)} ${pad(slabs, 6)} ${pad(0, 6)}\n`
  );
}

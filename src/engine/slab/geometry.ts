/**
 * SLUB cache geometry (docs/DOMAIN.md §5.1, `mm/slub.c`: calculate_alignment, calculate_sizes,
 * calculate_order, calc_slab_order, set_min_partial). Pure functions of the object size, the
 * alignment flags, the CPU count and the SLUB knobs.
 */
import { PAGE_SIZE } from "../page.js";

export { PAGE_SIZE };
const MAX_OBJS_PER_PAGE = 32767;
const MIN_PARTIAL = 5;
const MAX_PARTIAL = 10;
/** Largest kmalloc slab class is kmalloc-8k (docs/DOMAIN.md §5.1). */
export const MAX_OBJECT_SIZE_BYTES = 8192;
const CACHE_LINE_SIZE = 64;

export interface Geometry {
  /** Slot size: the object size aligned (`s->size`). */
  sizeBytes: number;
  alignBytes: number;
  order: number;
  objectsPerSlab: number;
  pagesPerSlab: number;
  /** Bytes at the end of each slab no object fits in. */
  wasteBytes: number;
  minPartial: number;
}

export interface GeometryInput {
  objectSizeBytes: number;
  alignBytes?: number;
  hwcacheAlign?: boolean;
  /** The free pointer cannot overlay the object (SLAB_TYPESAFE_BY_RCU, a ctor, poisoning): 8 more bytes. */
  freePointerOutside?: boolean;
  cpuCount: number;
  slubMaxOrder?: number;
  slubMinObjects?: number;
  slubMinOrder?: number;
  minPartial?: number | null;
}

/** Highest set bit, 1-based (`fls`); fls(0) = 0. */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** Smallest order with PAGE_SIZE << order ≥ size (`get_order`). */
export function getOrder(size: number): number {
  let order = 0;
  while (PAGE_SIZE * 2 ** order < size) order++;
  return order;
}

/** `order_objects`: objects that fit in a slab of the given order. */
export function orderObjects(order: number, size: number): number {
  return Math.floor((PAGE_SIZE * 2 ** order) / size);
}

/** `calculate_alignment`: SLAB_HWCACHE_ALIGN halves the cache line while the object fits twice. */
export function calculateAlignment(hwcacheAlign: boolean, align: number, size: number): number {
  if (hwcacheAlign) {
    let ralign = CACHE_LINE_SIZE;
    while (size <= ralign / 2) ralign /= 2;
    align = Math.max(align, ralign);
  }
  return Math.max(align, 8);
}

function calcSlabOrder(size: number, minOrder: number, maxOrder: number, fraction: number): number {
  let order = minOrder;
  for (; order <= maxOrder; order++) {
    const slabSize = PAGE_SIZE * 2 ** order;
    if (slabSize % size <= slabSize / fraction) break;
  }
  return order;
}

/** `calculate_order` (6.8+ form): the smallest order in [min_order, max_order] whose waste is ≤ 1/16, 1/8, 1/4, 1/2 of the slab. */
export function calculateOrder(
  size: number,
  cpuCount: number,
  slubMaxOrder = 3,
  slubMinObjects = 0,
  slubMinOrder = 0,
): number {
  let minObjects = slubMinObjects !== 0 ? slubMinObjects : 4 * (fls(cpuCount) + 1);
  const maxObjects = orderObjects(slubMaxOrder, size);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = Math.max(slubMinOrder, getOrder(minObjects * size));
  if (orderObjects(minOrder, size) > MAX_OBJS_PER_PAGE) return getOrder(size * MAX_OBJS_PER_PAGE) - 1;
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    const order = calcSlabOrder(size, minOrder, slubMaxOrder, fraction);
    if (order <= slubMaxOrder) return order;
  }
  return getOrder(size);
}

/** `set_min_partial`: clamp(ilog2(size) / 2, 5, 10). */
export function minPartialFor(size: number): number {
  const v = Math.floor(Math.floor(Math.log2(size)) / 2);
  return Math.min(MAX_PARTIAL, Math.max(MIN_PARTIAL, v));
}

/**
 * The per-CPU partial list's bound (CONFIG_SLUB_CPU_PARTIAL, docs/DOMAIN.md §5.3), by era:
 * - `objects` (3.2–5.15): `s->cpu_partial` objects — mm/slub.c:set_cpu_partial (kmem_cache_open
 *   before 4.x) gives 2 for `size ≥ PAGE_SIZE`, 6 for ≥ 1024, 13 for ≥ 256, else 30;
 * - `slabs` (5.16+): `s->cpu_partial_slabs` — set_cpu_partial's 6 / 24 / 52 / 120 objects (23e98ad1ce89
 *   "mm/slub: increase default cpu partial list sizes") turned into slabs by slub_set_cpu_partial,
 *   `DIV_ROUND_UP(nr_objects * 2, oo_objects(s->oo))` (b47291ef02b0 "mm, slub: change percpu partial
 *   accounting from objects to pages": "we assume that the slabs will be half-full").
 * E.g. 192-byte objects, 21 a slab: 30 objects (≤ 5.15), ⌈240 / 21⌉ = 12 slabs (5.16+).
 */
export function cpuPartialLimit(sizeBytes: number, objectsPerSlab: number, mode: "objects" | "slabs"): number {
  if (mode === "objects") {
    if (sizeBytes >= PAGE_SIZE) return 2;
    if (sizeBytes >= 1024) return 6;
    if (sizeBytes >= 256) return 13;
    return 30;
  }
  const nrObjects = sizeBytes >= PAGE_SIZE ? 6 : sizeBytes >= 1024 ? 24 : sizeBytes >= 256 ? 52 : 120;
  return Math.ceil((nrObjects * 2) / Math.max(1, objectsPerSlab));
}

/** Full geometry of a cache, as `/proc/slabinfo` would show it. */
export function computeGeometry(g: GeometryInput): Geometry {
  const align = calculateAlignment(g.hwcacheAlign ?? false, g.alignBytes ?? 8, g.objectSizeBytes);
  const inner = Math.ceil(g.objectSizeBytes / 8) * 8 + (g.freePointerOutside ? 8 : 0);
  const size = Math.ceil(inner / align) * align;
  const order = calculateOrder(
    size,
    g.cpuCount,
    g.slubMaxOrder ?? 3,
    g.slubMinObjects ?? 0,
    g.slubMinOrder ?? 0,
  );
  const objectsPerSlab = Math.min(orderObjects(order, size), MAX_OBJS_PER_PAGE);
  return {
    sizeBytes: size,
    alignBytes: align,
    order,
    objectsPerSlab,
    pagesPerSlab: 2 ** order,
    wasteBytes: (PAGE_SIZE * 2 ** order) % size,
    minPartial: g.minPartial ?? minPartialFor(size),
  };
}

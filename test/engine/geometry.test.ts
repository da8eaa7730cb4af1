import { describe, expect, it } from "vitest";
import { calculateAlignment, computeGeometry, minPartialFor } from "../../src/engine/slab/geometry.js";

// docs/DOMAIN.md §5.2: order / objects per slab / waste for 4 KiB pages.
const TABLE: [number, Record<number, [number, number, number]>][] = [
  [64, { 1: [0, 64, 0], 2: [0, 64, 0], 4: [0, 64, 0], 8: [0, 64, 0], 16: [0, 64, 0], 64: [0, 64, 0] }],
  [96, { 1: [0, 42, 64], 2: [0, 42, 64], 4: [0, 42, 64], 8: [0, 42, 64], 16: [0, 42, 64], 64: [0, 42, 64] }],
  [128, { 1: [0, 32, 0], 2: [0, 32, 0], 4: [0, 32, 0], 8: [0, 32, 0], 16: [0, 32, 0], 64: [0, 32, 0] }],
  [
    192,
    { 1: [0, 21, 64], 2: [0, 21, 64], 4: [0, 21, 64], 8: [0, 21, 64], 16: [1, 42, 128], 64: [1, 42, 128] },
  ],
  [256, { 1: [0, 16, 0], 2: [0, 16, 0], 4: [0, 16, 0], 8: [1, 32, 0], 16: [1, 32, 0], 64: [1, 32, 0] }],
  [512, { 1: [0, 8, 0], 2: [1, 16, 0], 4: [1, 16, 0], 8: [2, 32, 0], 16: [2, 32, 0], 64: [2, 32, 0] }],
  [1024, { 1: [1, 8, 0], 2: [2, 16, 0], 4: [2, 16, 0], 8: [3, 32, 0], 16: [3, 32, 0], 64: [3, 32, 0] }],
  [2048, { 1: [2, 8, 0], 2: [3, 16, 0], 4: [3, 16, 0], 8: [3, 16, 0], 16: [3, 16, 0], 64: [3, 16, 0] }],
  [4096, { 1: [3, 8, 0], 2: [3, 8, 0], 4: [3, 8, 0], 8: [3, 8, 0], 16: [3, 8, 0], 64: [3, 8, 0] }],
  [8192, { 1: [3, 4, 0], 2: [3, 4, 0], 4: [3, 4, 0], 8: [3, 4, 0], 16: [3, 4, 0], 64: [3, 4, 0] }],
];

describe("SLUB geometry (docs/DOMAIN.md §5.2)", () => {
  for (const [size, byCpus] of TABLE)
    for (const [cpus, [order, objects, waste]] of Object.entries(byCpus))
      it(`gives size ${size} on ${cpus} CPUs order ${order}, ${objects} objects, ${waste} B waste`, () => {
        const g = computeGeometry({ objectSizeBytes: size, cpuCount: Number(cpus) });
        expect([g.order, g.objectsPerSlab, g.wasteBytes, g.pagesPerSlab, g.sizeBytes]).toEqual([
          order,
          objects,
          waste,
          2 ** order,
          size,
        ]);
      });

  it("sets min_partial to clamp(ilog2(size)/2, 5, 10): 5 up to 2048, 6 for 4096 and 8192", () => {
    expect([8, 64, 192, 1024, 2048, 4096, 8192].map(minPartialFor)).toEqual([5, 5, 5, 5, 5, 6, 6]);
    expect(computeGeometry({ objectSizeBytes: 4096, cpuCount: 4 }).minPartial).toBe(6);
    expect(computeGeometry({ objectSizeBytes: 192, cpuCount: 4, minPartial: 0 }).minPartial).toBe(0);
  });

  it("aligns object sizes to 8 bytes", () => {
    const g = computeGeometry({ objectSizeBytes: 190, cpuCount: 4 });
    expect([g.sizeBytes, g.objectsPerSlab]).toEqual([192, 21]);
  });

  it("aligns SLAB_HWCACHE_ALIGN objects to the cache line, halving it while the object fits twice", () => {
    expect(calculateAlignment(true, 8, 100)).toBe(64);
    expect(calculateAlignment(true, 8, 24)).toBe(32);
    expect(calculateAlignment(true, 8, 16)).toBe(16);
    expect(calculateAlignment(true, 8, 8)).toBe(8);
    expect(calculateAlignment(false, 8, 100)).toBe(8);
    // 100 → 104 (8-aligned) → 128 with hwcache alignment: 32 per 4 KiB page
    const g = computeGeometry({ objectSizeBytes: 100, hwcacheAlign: true, cpuCount: 4 });
    expect([g.sizeBytes, g.objectsPerSlab, g.order]).toEqual([128, 32, 0]);
    const plain = computeGeometry({ objectSizeBytes: 100, cpuCount: 4 });
    expect([plain.sizeBytes, plain.objectsPerSlab]).toEqual([104, 39]);
  });

  it("honours an explicit alignment and slub_max_order / slub_min_objects", () => {
    expect(computeGeometry({ objectSizeBytes: 40, alignBytes: 64, cpuCount: 4 }).sizeBytes).toBe(64);
    expect(computeGeometry({ objectSizeBytes: 1024, cpuCount: 8, slubMaxOrder: 1 }).order).toBe(1);
    expect(computeGeometry({ objectSizeBytes: 192, cpuCount: 4, slubMinObjects: 42 }).order).toBe(1);
  });
});

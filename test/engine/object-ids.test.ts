import { describe, expect, it } from "vitest";
import { Sim } from "./helpers.js";

// Object ids carry the slot's generation (bumped at every free), so an id kept after its object
// was freed never answers for a later object in the same slot (SLUB's freelist is LIFO: a hot slot
// is reused at once). The generation has 22 bits: the id stays a safe integer (2^22 × 2^31 = 2^53).
describe("object ids across slot reuse", () => {
  it("a stale id is refused after 65,536 reuses of its slot (a 16-bit generation would have wrapped)", () => {
    const s = new Sim({ model: "v5.9", cpuCount: 1 });
    s.mkdir("/a");
    s.ex({ op: "createCache", name: "dentry", objectSizeBytes: 192, flags: { account: true } });
    const pid = s.spawn("/a");
    const alloc = (): number => s.ex({ op: "allocObjects", cache: "dentry", pid, count: 1 }).objectIds[0];
    const free = (id: number) => s.ex({ op: "freeObjects", objectIds: [id] });
    const stale = alloc();
    expect(free(stale)).toMatchObject({ freedCount: 1, missingCount: 0 });
    const slot = stale % 2 ** 31;
    for (let i = 1; i < 65_536; i++) {
      const id = alloc();
      expect(id % 2 ** 31).toBe(slot); // the same slot every time
      free(id);
    }
    const current = alloc(); // the slot's 65,537th object
    expect(current % 2 ** 31).toBe(slot);
    expect(current).toBe(65_536 * 2 ** 31 + slot);
    expect(free(stale)).toMatchObject({ freedCount: 0, missingCount: 1 });
    expect(s.sim.slab.liveObjects).toBe(1);
    expect(free(current)).toMatchObject({ freedCount: 1, missingCount: 0 });
  });
});

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EV_CACHE_ALLOC, EV_EXIT, EV_FORK, EV_KMALLOC, newEvent } from "../../src/replay/parse.js";
import { openRecording } from "../../src/replay/recording.js";
import { AccountedCacheScan } from "../../src/replay/replay.js";
import { replayRecording } from "../../src/replay/run.js";

/**
 * Audit row 31 in the replay: the 2012 patch copies a registered cache into a cgroup only when the
 * cgroup is created (mem_cgroup_create), so a replay under rfc-2012 creates and registers every
 * cache the trace allocates from accounted before it creates `/parent` and its children. Without
 * that, no cgroup of the recording would have a copy and rfc-2012 would charge nothing.
 */
const FIXTURES = join(import.meta.dirname, "fixtures");
const KMEM = "memory.kmem.usage_in_bytes";

describe("rfc-2012 replay: caches registered before the cgroups", () => {
  it("mkdir-2000: every accounted cache has a copy in the workload's cgroup, Δkmem real + 11 pages (docs/REPLAY.md table)", async () => {
    let copies: string[] = [];
    let baseAccountedObjects = -1;
    const r = await replayRecording(openRecording(join(FIXTURES, "mkdir-2000")), {
      models: ["rfc-2012"],
      inspect: (_m, inst) => {
        const cg = inst.lookup("/parent/mkdir-2000-0");
        copies = [];
        baseAccountedObjects = 0;
        for (const cache of inst.slab.caches.values()) {
          if (!cache.accounted) continue;
          const c = cache.children.get(cg.id);
          if (c !== undefined) copies.push(cache.name);
          baseAccountedObjects += cache.base.activeObjects;
        }
      },
    });
    expect(copies.length).toBeGreaterThan(0);
    expect(copies).toContain("dentry");
    // the workload's accounted objects are in its copies, none in a registered cache's base
    expect(baseAccountedObjects).toBe(0);
    expect(r.models["rfc-2012"].cgroups["mkdir-2000-0"].predicted[KMEM]).toBe(1921024 + 11 * 4096);
  });

  it("the scan lists the accounted caches of mapped pids and their forked children, first sighting's size", () => {
    const scan = new AccountedCacheScan([10]);
    const ev = newEvent();
    const put = (o: Partial<typeof ev>) => scan.event(Object.assign(ev, newEvent(), o));
    put({ type: EV_CACHE_ALLOC, pid: 10, cache: "filp", bytesAlloc: 256, accounted: false });
    put({ type: EV_CACHE_ALLOC, pid: 99, cache: "dentry", bytesAlloc: 192, accounted: true });
    put({ type: EV_FORK, pid: 10, childPid: 11 });
    put({ type: EV_KMALLOC, pid: 11, bytesAlloc: 64, accounted: true });
    put({ type: EV_CACHE_ALLOC, pid: 10, cache: "filp", bytesAlloc: 192, accounted: true });
    put({ type: EV_KMALLOC, pid: 10, bytesAlloc: 16384, accounted: true });
    put({ type: EV_EXIT, childPid: 11 });
    put({ type: EV_CACHE_ALLOC, pid: 11, cache: "pid", bytesAlloc: 128, accounted: true });
    expect(scan.caches()).toEqual([
      { name: "kmalloc-cg-64", bytesAlloc: 64 },
      { name: "filp", bytesAlloc: 256 },
    ]);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openRecording } from "../../src/replay/recording.js";
import { replayRecording } from "../../src/replay/run.js";

/**
 * Audit row 31 in the replay: the 2012 patch copies a registered cache into a cgroup only when the
 * cgroup is created (mem_cgroup_create), so a replay under rfc-2012 registers each cache at its
 * first accounted line as at boot (the engine's registerCacheAtBoot): `/parent` and its children,
 * which exist by then, get the copies their creation would have made. Without that, no cgroup of
 * the recording would have a copy and rfc-2012 would charge nothing.
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

  it("a cache is registered at its first accounted line: the cgroups get copies, its earlier unaccounted objects stay in the base cache", async () => {
    const dir = mkdtempSync(join(tmpdir(), "register-order-"));
    try {
      const PID = 4242;
      let ts = 100;
      const line = (ptr: number, accounted: boolean) => {
        ts += 0.001;
        return `         python3-${PID}   [000] ..... ${ts.toFixed(6)}: kmem_cache_alloc: call_site=__d_alloc+0x2d/0x230 ptr=${ptr.toString(16).padStart(16, "0")} name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=${accounted}`;
      };
      // one unaccounted dentry, then 42 accounted ones (two slabs of 21)
      const lines = [line(0x1000, false)];
      for (let i = 1; i <= 42; i++) lines.push(line(0x1000 + 0x100 * i, true));
      writeFileSync(join(dir, "trace.txt"), `${lines.join("\n")}\n`);
      writeFileSync(
        join(dir, "meta.json"),
        JSON.stringify({
          case: "register-order",
          cpus: [0],
          limit: null,
          pids: { [PID]: "t-0" },
          before: { parent: {}, "t-0": {} },
          after: { parent: {}, "t-0": {} },
        }),
      );
      let copies: string[] = [];
      let base = -1;
      let inCopy = -1;
      let registerCommands = -1;
      const r = await replayRecording(openRecording(dir), {
        models: ["rfc-2012"],
        inspect: (_m, inst) => {
          const cache = inst.slab.caches.get("dentry")!;
          copies = [...cache.children.values()].map((c) => c.displayName);
          base = cache.base.activeObjects;
          inCopy = cache.children.get(inst.lookup("/parent/t-0").id)!.activeObjects;
          registerCommands = inst.opCounts.get("registerCache") ?? 0;
        },
      });
      // both cgroups existed before the first accounted line: each has its copy, in creation order
      expect(copies).toEqual(["dentry-1", "dentry-2"]);
      expect([base, inCopy]).toEqual([1, 42]);
      expect(registerCommands).toBe(1);
      // the 42 accounted dentries: two 4 KiB slabs on the RFC's kmem counter
      expect(r.models["rfc-2012"].cgroups["t-0"].predicted[KMEM]).toBe(2 * 4096);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/errors.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { PAGE, Sim } from "./helpers.js";

/**
 * Fidelity-audit row 22 (kernel stacks): a task forked inside a cgroup (`spawnTask` with `fork`)
 * has its kernel stack charged there where the era accounts stacks, and given back at exit.
 * THREAD_SIZE: 8 KiB before 3.15, 16 KiB after (6538b8ea886e). Charges: 3.8 alloc_thread_info_node
 * (THREADINFO_GFP_ACCOUNTED, once kmem is active) → memcg_charge_kmem (kmem, then res with a
 * CHARGE_BATCH of 32); 4.5 THREADINFO_GFP = GFP_KERNEL_ACCOUNT → memcg_kmem_charge (try_charge,
 * batch 32); 5.9/6.18 memcg_charge_kernel_stack → memcg_kmem_charge_page (batch 32 / 64).
 * Uncharges: 3.8 memcg_uncharge_kmem and 4.5 memcg_kmem_uncharge take the pages off the counters at
 * once; 5.9+ __memcg_kmem_uncharge_page refills the CPU's page stock (usage stays).
 *
 * A fork also allocates the child's pgd (dup_mm → pgd_alloc), charged from 4.8 (3e79ec7ddcb2):
 * in v5.9 and v6.18 the v1 kmem counter and `kernel` hold the stack and an 8 KiB pgd (order 1 with
 * page table isolation), 24576 bytes; `kernel_stack` only the stack (test/engine/page-tables.test.ts).
 */

type Row = readonly [
  model: string,
  v: 1 | 2,
  activate: boolean,
  usage: number,
  kmem: number,
  usageAfter: number,
];

const fork = (s: Sim, cgroup: string, extra: { pid?: number; cpu?: number } = {}): number =>
  s.ex({ op: "spawnTask", cgroup, fork: true, ...extra }).pid;

const stat = (s: Sim, path: string, key: string) => s.stat(path, key);

describe("row 22: a forked task's kernel stack, per era", () => {
  it.each([
    // the seed charges nothing but registered slab caches
    ["rfc-2012", 1, false, 0, 0, 0],
    // 3.8: __GFP_KMEMCG pages only once kmem is active
    ["v3.8", 1, false, 0, 0, 0],
    ["v3.8", 1, true, 32 * PAGE, 8192, 30 * PAGE],
    // 4.5 on v1: only after a kmem.limit_in_bytes write
    ["v4.5", 1, false, 0, 0, 0],
    ["v4.5", 1, true, 32 * PAGE, 16384, 28 * PAGE],
    // 5.9+: the stack and the child's 8 KiB pgd
    ["v5.9", 1, false, 32 * PAGE, 24576, 32 * PAGE],
    ["v6.18", 1, false, 64 * PAGE, 24576, 64 * PAGE],
  ] as Row[])(
    "%s v%i (kmem activated: %s): usage %i, kmem %i; after exit usage %i, kmem 0",
    (model, v, act, usage, kmem, after) => {
      const s = new Sim({ model: model as "v3.8", cgroupVersion: v, cpuCount: 1 });
      s.mkdir("/a");
      if (act) s.write("/a", "memory.kmem.limit_in_bytes", "1G");
      const pid = fork(s, "/a");
      expect(s.num("/a", "memory.usage_in_bytes")).toBe(usage);
      expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(kmem);
      expect(checkInvariants(s.sim)).toEqual([]);
      s.ex({ op: "exitTask", pid });
      expect(s.num("/a", "memory.usage_in_bytes")).toBe(after);
      expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(0);
      expect(checkInvariants(s.sim)).toEqual([]);
    },
  );

  it.each([
    // 4.5 prints no kernel_stack (4.6: 12580e4b54ba) and no kernel (5.18)
    ["v4.5", 32 * PAGE, undefined, undefined, 28 * PAGE],
    // 5.9 prints kernel_stack, not kernel
    ["v5.9", 32 * PAGE, undefined, 16384, 32 * PAGE],
    // kernel: the stack and the pgd
    ["v6.18", 64 * PAGE, 24576, 16384, 64 * PAGE],
  ] as const)(
    "%s cgroup v2: memory.current %i, kernel %s, kernel_stack %s",
    (model, current, kernel, stack, after) => {
      const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1 });
      s.mkdir("/a");
      const pid = fork(s, "/a");
      expect(s.num("/a", "memory.current")).toBe(current);
      expect(stat(s, "/a", "kernel")).toBe(kernel);
      expect(stat(s, "/a", "kernel_stack")).toBe(stack);
      s.ex({ op: "exitTask", pid });
      expect(s.num("/a", "memory.current")).toBe(after);
      if (kernel !== undefined) expect(stat(s, "/a", "kernel")).toBe(0);
      if (stack !== undefined) expect(stat(s, "/a", "kernel_stack")).toBe(0);
    },
  );

  it("a task placed without fork charges nothing (its stack stays where it was forked)", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1 });
    s.mkdir("/a");
    s.spawn("/a");
    expect(s.num("/a", "memory.current")).toBe(0);
    expect(stat(s, "/a", "kernel_stack")).toBe(0);
  });

  it("the stack stays charged where it was forked when the task moves, and leaves from there at exit", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1 });
    s.mkdir("/a", "/b");
    const pid = fork(s, "/a");
    s.ex({ op: "moveTask", pid, cgroup: "/b" });
    expect(stat(s, "/a", "kernel_stack")).toBe(16384);
    expect(stat(s, "/b", "kernel_stack")).toBe(0);
    s.ex({ op: "exitTask", pid });
    expect(stat(s, "/a", "kernel_stack")).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("6.18: the stack of a removed cgroup's task follows its objcg to the parent (memcg_reparent_objcgs)", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1 });
    s.mkdir("/p", "/p/c");
    const pid = fork(s, "/p/c");
    s.ex({ op: "moveTask", pid, cgroup: "/p" });
    s.rmdir("/p/c");
    expect(stat(s, "/p", "kernel_stack")).toBe(16384);
    // the stack's 4 pages and the pgd's 2, and the 3 pages /p pays for /p/c's statistics (freed a
    // grace period after /p/c's release); the CPU's stocked batches were drained at offline
    expect(s.num("/p", "memory.current")).toBe(9 * PAGE);
    s.ex({ op: "exitTask", pid });
    expect(stat(s, "/p", "kernel_stack")).toBe(0);
    expect(stat(s, "/p", "kernel")).toBe(3 * PAGE);
    s.ex({ op: "advanceClock", ms: 10 });
    // freed: percpu and slab drop to 0; the 8392 B go back through CPU 0's obj stock, which ends
    // holding exactly a page (not more than PAGE_SIZE: refill_obj_stock keeps it) — the page the
    // recorded 6.18 host too kept charged after its children were removed
    expect([stat(s, "/p", "kernel"), stat(s, "/p", "percpu"), stat(s, "/p", "slab_unreclaimable")]).toEqual([
      PAGE,
      0,
      0,
    ]);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("4.5: the stack's pages pin the removed cgroup until the task exits (css reference of memcg_kmem_charge)", () => {
    const s = new Sim({ model: "v4.5", cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/p", "/p/c");
    const pid = fork(s, "/p/c");
    s.ex({ op: "moveTask", pid, cgroup: "/p" });
    s.rmdir("/p/c");
    expect(s.cg("/p").dyingChildren.length).toBe(1);
    s.ex({ op: "exitTask", pid });
    expect(s.cg("/p").dyingChildren.length).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("an OOM-killed task gives its stack back", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.max", String(64 * PAGE));
    const victim = fork(s, "/a");
    s.pages(victim, "anon", 40 * PAGE);
    const other = s.spawn("/a");
    const r = s.pages(other, "anon", 40 * PAGE);
    expect(r.oomKilledPids).toEqual([victim]);
    expect(stat(s, "/a", "kernel_stack")).toBe(0);
    expect(s.num("/a", "memory.current")).toBe(40 * PAGE);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("a fork whose stack cannot be charged fails with ENOMEM and creates no task", () => {
    const s = new Sim({ model: "v6.18", cpuCount: 1, chargeBatchPages: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.max", String(2 * PAGE));
    let err: unknown;
    try {
      fork(s, "/a", { pid: 500 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe("ENOMEM");
    expect(s.sim.tasks.has(500)).toBe(false);
    expect(s.num("/a", "memory.current")).toBe(0);
    // try_charge_memcg: a `max` event per pass — the first, the one after drain_all_stock, 16
    // MAX_RECLAIM_RETRIES — then one OOM with no victim (mem_cgroup_oom false → nomem, 5.16+)
    expect(s.read("/a", "memory.events")).toBe(
      "low 0\nhigh 0\nmax 18\noom 1\noom_kill 0\noom_group_kill 0\n",
    );
    expect(checkInvariants(s.sim)).toEqual([]);
  });
});

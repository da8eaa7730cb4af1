import { describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/errors.js";
import { checkInvariants } from "../../src/engine/invariants.js";
import { PAGE, Sim } from "./helpers.js";

/**
 * Fidelity-audit row 23: socket buffer memory, per era (src/engine/sock-mem.ts, docs/MODELS.md).
 * v2: mem_cgroup_charge_skmem charges `memory` through try-charge (the page stock's batch: 32
 * pages up to 6.0, 64 from 6.1), counts MEMCG_SOCK (`sock`), not `kernel`; uncharge: 4.5
 * page_counter_uncharge, 5.9/6.18 refill_stock. v1: the cgroup's own tcp counter only, once the
 * era's activation happened (3.3 any cgroup's limit, 3.5+ its own limit below max, 4.5+ any write).
 */

const stat = (s: Sim, path: string, key: string) => s.stat(path, key);
const charge = (s: Sim, pid: number, pages: number, extra: { softirq?: boolean; nofail?: boolean } = {}) =>
  s.ex({ op: "chargeSocketPages", pid, pages, ...extra });
const uncharge = (s: Sim, pid: number, pages: number, cpu?: number) =>
  s.ex({ op: "unchargeSocketPages", pid, pages, cpu });

describe("row 23: v2 socket memory charges memory.current and `sock`", () => {
  it.each([
    // model, current after 10 pages (the batch), current after the uncharge
    ["v4.5", 32 * PAGE, 22 * PAGE], // 4.5 mem_cgroup_uncharge_skmem: page_counter_uncharge
    ["v5.9", 32 * PAGE, 32 * PAGE], // refill_stock: 22 + 10 stocked pages ≤ 32, kept
    ["v6.18", 64 * PAGE, 64 * PAGE], // batch 64, refill_stock
  ] as const)("%s: 10 pages, one CPU", (model, current, after) => {
    const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    const r = charge(s, pid, 10);
    expect(r).toMatchObject({
      charged: true,
      accounted: true,
      cgroup: "/a",
      chargedBytes: 40960,
      socketBytes: 40960,
    });
    expect(stat(s, "/a", "sock")).toBe(40960);
    expect(s.num("/a", "memory.current")).toBe(current);
    if (model !== "v4.5") expect(stat(s, "/a", "kernel") ?? 0).toBe(0);
    expect(stat(s, "/", "sock")).toBe(40960);
    expect(uncharge(s, pid, 10)).toEqual({ unchargedBytes: 40960, socketBytes: 0 });
    expect(stat(s, "/a", "sock")).toBe(0);
    expect(s.num("/a", "memory.current")).toBe(after);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("the root cgroup's sockets are not accounted (mem_cgroup_sk_alloc: root)", () => {
    const s = new Sim({ model: "v6.18", cgroupVersion: 2, cpuCount: 1 });
    const pid = s.spawn("/");
    expect(charge(s, pid, 3)).toMatchObject({
      charged: true,
      accounted: false,
      cgroup: null,
      socketBytes: 12288,
    });
    expect(stat(s, "/", "sock")).toBe(0);
  });

  it("v5.9 over memory.max from softirq: GFP_NOWAIT fails, forced with __GFP_NOFAIL, false (pressure)", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.max", String(8 * PAGE));
    const pid = s.spawn("/a");
    const r = charge(s, pid, 10, { softirq: true });
    expect(r).toMatchObject({ charged: false, chargedBytes: 40960, socketBytes: 40960 });
    // 4.5–5.14: MEMCG_SOCK counted before the charge; the forced pages are in memory.current
    expect(stat(s, "/a", "sock")).toBe(40960);
    expect(s.num("/a", "memory.current")).toBe(40960);
    // the caller (__sk_mem_raise_allocated suppress_allocation) gives them back: to the stock
    uncharge(s, pid, 10);
    expect(s.num("/a", "memory.current")).toBe(40960);
    expect(stat(s, "/a", "sock")).toBe(0);
  });

  it("v6.18 over memory.max from softirq: GFP_ATOMIC is forced by try_charge_memcg, true, MEMCG_MAX", () => {
    const s = new Sim({ model: "v6.18", cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.max", String(8 * PAGE));
    const pid = s.spawn("/a");
    expect(charge(s, pid, 10, { softirq: true })).toMatchObject({ charged: true, chargedBytes: 40960 });
    expect(s.num("/a", "memory.current")).toBe(40960);
    expect(s.read("/a", "memory.events")).toContain("max 1\n");
    // 6.18 has no sock_throttled event (it came after 6.18-rc1)
    expect(s.read("/a", "memory.events")).not.toContain("sock_throttled");
  });

  it("exit gives the socket's pages back; a moved task's socket stays charged to its cgroup", () => {
    const s = new Sim({ model: "v4.5", cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/a", "/b");
    const pid = s.spawn("/a");
    charge(s, pid, 40); // above the batch: exactly 40 pages
    expect(s.num("/a", "memory.current")).toBe(40 * PAGE);
    s.ex({ op: "moveTask", pid, cgroup: "/b" });
    expect(charge(s, pid, 40)).toMatchObject({ cgroup: "/a" });
    expect(s.num("/b", "memory.current")).toBe(0);
    s.ex({ op: "exitTask", pid });
    expect(s.num("/a", "memory.current")).toBe(0);
    expect(stat(s, "/a", "sock")).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });
});

describe("row 23: v1 socket memory goes to memory.kmem.tcp.* only", () => {
  const tcp = (s: Sim, p: string) => ({
    usage: s.num(p, "memory.kmem.tcp.usage_in_bytes"),
    max: s.num(p, "memory.kmem.tcp.max_usage_in_bytes"),
    failcnt: s.num(p, "memory.kmem.tcp.failcnt"),
  });

  it.each([
    // model, activating write, over-limit: charged / bytes left charged / tcp usage after
    ["v6.18", "-1", false, 0, 10 * PAGE], // 5.15+ memcg1_charge_skmem: nothing charged
    ["v5.9", "-1", false, 10 * PAGE, 20 * PAGE], // 4.5–5.14: page_counter_charge anyway, false
    ["v4.5", "-1", false, 10 * PAGE, 20 * PAGE],
    ["v3.8", String(16 * PAGE), false, 10 * PAGE, 20 * PAGE], // res_counter_charge_nofail
  ] as const)("%s", (model, activate, ok, left, usage) => {
    const s = new Sim({ model, cgroupVersion: 1, cpuCount: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.use_hierarchy", "1");
    const pid = s.spawn("/a");
    // no tcp limit written: the socket is not accounted
    expect(charge(s, pid, 10)).toMatchObject({ charged: true, accounted: false });
    expect(tcp(s, "/a").usage).toBe(0);
    uncharge(s, pid, 10);
    s.write("/a", "memory.kmem.tcp.limit_in_bytes", activate);
    if (model === "v3.8") {
      // 3.5+: only a limit below the maximum activates (MEMCG_SOCK_ACTIVE)
    } else expect(s.num("/a", "memory.kmem.tcp.limit_in_bytes")).toBeGreaterThan(1 << 40);
    s.write("/a", "memory.kmem.tcp.limit_in_bytes", String(16 * PAGE));
    expect(charge(s, pid, 10)).toMatchObject({ charged: true, accounted: true, chargedBytes: 40960 });
    expect(tcp(s, "/a")).toEqual({ usage: 40960, max: 40960, failcnt: 0 });
    // not the memory or kmem counters
    expect(s.num("/a", "memory.usage_in_bytes")).toBe(0);
    expect(s.num("/a", "memory.kmem.usage_in_bytes")).toBe(0);
    // over the tcp limit
    expect(charge(s, pid, 10)).toMatchObject({ charged: ok, chargedBytes: left });
    expect(tcp(s, "/a").usage).toBe(usage);
    expect(tcp(s, "/a").failcnt).toBe(1);
    expect(tcp(s, "/a").max).toBe(usage);
    // EBUSY below usage
    expect(() => s.write("/a", "memory.kmem.tcp.limit_in_bytes", String(PAGE))).toThrow(EngineError);
    if (model === "v6.18") {
      // __GFP_NOFAIL (a stream send under its sndbuf): charged anyway, true
      expect(charge(s, pid, 10, { nofail: true })).toMatchObject({ charged: true, chargedBytes: 40960 });
      expect(tcp(s, "/a").usage).toBe(20 * PAGE);
      // the hierarchical tcpmem counter of the root
      expect(tcp(s, "/").usage).toBe(20 * PAGE);
    }
    s.ex({ op: "exitTask", pid });
    expect(tcp(s, "/a").usage).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v3.8: writing the maximum does not activate (MEMCG_SOCK_ACTIVE needs a limit below it)", () => {
    const s = new Sim({ model: "v3.8", cgroupVersion: 1, cpuCount: 1 });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.write("/a", "memory.kmem.tcp.limit_in_bytes", "-1");
    expect(charge(s, pid, 2)).toMatchObject({ accounted: false });
  });

  it("v4.5: any write activates, the maximum included (memcg_update_tcp_limit)", () => {
    const s = new Sim({ model: "v4.5", cgroupVersion: 1, cpuCount: 1 });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.write("/a", "memory.kmem.tcp.limit_in_bytes", "-1");
    expect(charge(s, pid, 2)).toMatchObject({ accounted: true, charged: true });
    expect(s.num("/a", "memory.kmem.tcp.usage_in_bytes")).toBe(8192);
  });

  it("rfc-2012 (3.3): one cgroup's limit turns tcp accounting on for every non-root cgroup; the root shows the global count", () => {
    const s = new Sim({ model: "rfc-2012", cgroupVersion: 1, cpuCount: 1 });
    s.mkdir("/a", "/b");
    const a = s.spawn("/a");
    const r = s.spawn("/");
    expect(charge(s, a, 3)).toMatchObject({ accounted: false });
    uncharge(s, a, 3);
    s.write("/b", "memory.kmem.tcp.limit_in_bytes", String(16 * PAGE));
    expect(charge(s, a, 3)).toMatchObject({ accounted: true, cgroup: "/a" });
    expect(charge(s, r, 2)).toMatchObject({ accounted: false });
    expect(s.num("/a", "memory.kmem.tcp.usage_in_bytes")).toBe(3 * PAGE);
    // tcp_read_usage(root): atomic_long_read(&tcp_memory_allocated), every socket's pages
    expect(s.num("/", "memory.kmem.tcp.usage_in_bytes")).toBe(5 * PAGE);
    expect(s.num("/", "memory.kmem.tcp.max_usage_in_bytes")).toBe(0);
    expect(() => s.write("/", "memory.kmem.tcp.limit_in_bytes", "4096")).toThrow(EngineError);
  });

  it("uncharging more than the socket holds is refused", () => {
    const s = new Sim({ model: "v6.18", cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    charge(s, pid, 2);
    expect(() => uncharge(s, pid, 3)).toThrow(EngineError);
  });
});

describe("row 23: invariants after every step of random socket traffic", () => {
  it.each([
    ["rfc-2012", 1],
    ["v3.8", 1],
    ["v4.5", 1],
    ["v4.5", 2],
    ["v5.9", 1],
    ["v5.9", 2],
    ["v6.18", 1],
    ["v6.18", 2],
  ] as const)(
    "%s cgroup v%i: charges, uncharges, moves, exits, limit writes and rmdirs",
    (model, cgroupVersion) => {
      const s = new Sim({ model, cgroupVersion, cpuCount: 2 });
      let x = 12345;
      const next = (k: number) => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return (x >>> 8) % k;
      };
      s.mkdir("/a", "/a/b", "/c");
      const cgs = ["/a", "/a/b", "/c"];
      if (cgroupVersion === 1) s.write("/a/b", "memory.kmem.tcp.limit_in_bytes", String(64 * PAGE));
      else s.write("/a/b", "memory.max", String(256 * PAGE));
      const pids: number[] = [];
      for (let step = 0; step < 400; step++) {
        const r = next(10);
        try {
          if (r < 2 || pids.length === 0) pids.push(s.spawn(cgs[next(cgs.length)]));
          else {
            const pid = pids[next(pids.length)];
            if (!s.sim.tasks.has(pid)) pids.splice(pids.indexOf(pid), 1);
            else if (r < 6) charge(s, pid, 1 + next(40), next(4) === 0 ? { softirq: true } : {});
            else if (r < 8) {
              const held = s.sim.tasks.get(pid)!.sockPages;
              if (held > 0) uncharge(s, pid, 1 + next(held), next(2));
            } else if (r === 8) {
              const k = next(4);
              if (k === 0) s.ex({ op: "moveTask", pid, cgroup: cgs[next(cgs.length)] });
              else if (k === 1) {
                // a cgroup removed under its bound sockets (its tasks moved out first), made again
                const victim = cgs[1 + next(cgs.length - 1)];
                if (s.sim.lookup(victim).children.size === 0) {
                  for (const p of [...s.sim.lookup(victim).tasks])
                    s.ex({ op: "moveTask", pid: p, cgroup: "/" });
                  s.rmdir(victim);
                  s.mkdir(victim);
                }
              } else if (cgroupVersion === 1)
                s.write("/a", "memory.kmem.tcp.limit_in_bytes", String((8 + next(64)) * PAGE));
              else s.write("/a", "memory.max", String((32 + next(256)) * PAGE));
            } else {
              s.ex({ op: "exitTask", pid });
              pids.splice(pids.indexOf(pid), 1);
            }
          }
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
        }
        expect(checkInvariants(s.sim), `${model} v${cgroupVersion} step ${step}`).toEqual([]);
      }
      for (const pid of pids) if (s.sim.tasks.has(pid)) s.ex({ op: "exitTask", pid });
      s.rmdir("/a/b");
      s.rmdir("/c");
      expect(checkInvariants(s.sim)).toEqual([]);
      expect(s.sim.root.sockPagesHier).toBe(0);
    },
  );
});

describe("row 23: a removed cgroup a socket is bound to", () => {
  it.each(["v4.5", "v6.18"] as const)(
    "%s: stays dying while the socket holds pages, and its socket may still charge it",
    (model) => {
      const s = new Sim({ model, cgroupVersion: 2, cpuCount: 1 });
      s.mkdir("/a");
      const pid = s.spawn("/a");
      charge(s, pid, 1);
      s.ex({ op: "moveTask", pid, cgroup: "/" });
      s.rmdir("/a");
      expect(s.cg("/a").state).toBe("dying");
      expect(checkInvariants(s.sim)).toEqual([]);
      // sk->sk_memcg keeps the removed cgroup: mem_cgroup_charge_skmem charges it, not the new one
      expect(charge(s, pid, 5)).toMatchObject({ charged: true, cgroup: "/a", socketBytes: 6 * PAGE });
      expect(checkInvariants(s.sim)).toEqual([]);
      s.ex({ op: "exitTask", pid });
      expect(checkInvariants(s.sim)).toEqual([]);
    },
  );

  it("v5.9: the uncharge refills the removed cgroup's page stock; it is released when the next charge on that CPU drains it", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/a", "/b");
    const pid = s.spawn("/a");
    charge(s, pid, 3);
    s.ex({ op: "moveTask", pid, cgroup: "/b" });
    s.rmdir("/a");
    uncharge(s, pid, 3); // refill_stock(/a): the CPU's single slot now holds /a's pages
    expect(s.cg("/a").stockPages).toBeGreaterThan(0);
    expect(checkInvariants(s.sim)).toEqual([]);
    s.pages(pid, "anon", PAGE); // /b's charge takes the slot: drain_stock(/a)
    expect(s.sim.dyingCount).toBe(0);
    expect(() => s.cg("/a")).toThrow(/not found/);
    expect(checkInvariants(s.sim)).toEqual([]);
  });

  it("v6.18: the removed cgroup keeps its slot among the CPU's seven until a drain, then is released", () => {
    const s = new Sim({ model: "v6.18", cgroupVersion: 2, cpuCount: 1 });
    s.mkdir("/a", "/b");
    const pid = s.spawn("/a");
    charge(s, pid, 3);
    s.ex({ op: "moveTask", pid, cgroup: "/b" });
    s.rmdir("/a");
    uncharge(s, pid, 3);
    s.pages(pid, "anon", PAGE); // /b gets a slot of its own: /a's stays
    expect(s.cg("/a").state).toBe("dying");
    expect(checkInvariants(s.sim)).toEqual([]);
    // a memory.max write below /b's usage (its 64-page batch) drains the CPUs caching /b first
    // (memory_max_write → drain_all_stock); 6.16+ drains the CPU's whole stock, /a's slot included
    expect(s.num("/b", "memory.current")).toBe(64 * PAGE);
    s.write("/b", "memory.max", String(32 * PAGE));
    expect(s.num("/b", "memory.current")).toBe(PAGE);
    expect(s.sim.dyingCount).toBe(0);
    expect(checkInvariants(s.sim)).toEqual([]);
  });
});

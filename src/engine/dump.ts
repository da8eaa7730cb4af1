import type { Sim } from "./sim.js";
import type { V59Model } from "./models/v5-9.js";

/** FNV-1a over the bytes of a typed array prefix: a compact fingerprint of the slab arrays. */
function fnv(a: ArrayLike<number>, n: number, h = 0x811c9dc5): number {
  for (let i = 0; i < n; i++) {
    let x = a[i] | 0;
    for (let b = 0; b < 4; b++) {
      h ^= x & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      x >>>= 8;
    }
  }
  return h >>> 0;
}

/**
 * A complete, JSON-serialisable picture of an instance's state (cgroups with counters, stats and
 * events; tasks; caches and their copies; stocks; a fingerprint of the slab typed arrays; the PRNG,
 * the clock and the event log). Two instances that took the same config and the same commands give
 * deep-equal dumps (docs/API.md §3); nothing in it depends on object identity or insertion accidents.
 */
export function dumpState(sim: Sim) {
  const counter = (c: { usage: number; max: number; watermark: number; failcnt: number }) => ({
    usage: c.usage,
    max: c.max === Number.POSITIVE_INFINITY ? null : c.max,
    watermark: c.watermark,
    failcnt: c.failcnt,
  });
  const slab = sim.slab;
  const n = slab.slotCapacity;
  const m = slab.slabIdTop;
  return {
    config: { ...sim.config },
    clockMs: sim.clockMs,
    commandCount: sim.commandCount,
    prng: sim.prng.state,
    usedPages: sim.usedPages,
    dyingCount: sim.dyingCount,
    oomKillCount: sim.oomKillCount,
    cgroups: sim.allCgroups().map((cg) => ({
      id: cg.id,
      path: cg.path,
      state: cg.state,
      memory: counter(cg.memory),
      kmem: counter(cg.kmem),
      protection: [cg.minPages, cg.lowPages, cg.highPages === Number.POSITIVE_INFINITY ? null : cg.highPages],
      flags: [
        cg.useHierarchy,
        cg.oomGroup,
        cg.oomKillDisable,
        cg.moveChargeAtImmigrate,
        cg.kmemActive,
        cg.kmemcgId,
      ],
      statLocal: [...cg.statLocal],
      statHier: [...cg.statHier],
      events: [...cg.events],
      eventsLocal: [...cg.eventsLocal],
      tasks: [...cg.tasks].sort((a, b) => a - b),
      stockPages: cg.stockPages,
      objcgPages: cg.objcgPages,
    })),
    tasks: [...sim.tasks.values()]
      .sort((a, b) => a.pid - b.pid)
      .map((t) => ({
        pid: t.pid,
        cgroup: t.cgroup.path,
        cpu: t.cpu,
        adj: t.oomScoreAdj,
        anon: [...t.anon].map(([c, k]) => [c.id, k]),
      })),
    caches: [...slab.caches.values()].map((c) => ({
      name: c.name,
      accounted: c.accounted,
      instances: [c.base, ...c.children.values()].map((i) => ({
        name: i.displayName,
        state: i.state,
        slabs: i.slabCount,
        active: i.activeObjects,
        partial: i.nrPartial,
        minPartial: i.minPartial,
        cpuSlab: [...i.cpuSlab],
        cpuPartial: [...i.cpuPartialHead].map((h) => slab.cpuPartialLength(h)),
      })),
      deferred: [...c.nrDeferred].sort((a, b) => a[0] - b[0]),
    })),
    pageStocks: sim.pageStocks.map((s) => [s.memcg?.id ?? 0, s.pages]),
    objStocks: sim.model.objectCharging ? (sim.model as V59Model).stocks.map((s) => [s.objcg, s.bytes]) : [],
    objcgs: slab.objcgMemcg.map((c, i) => [c.id, slab.objcgChargedBytes[i]]),
    slabArrays: [
      fnv(slab.lru.next, n),
      fnv(slab.objCtx, n),
      fnv(slab.ctxObjcg, slab.ctxObjcg.length),
      fnv(slab.objNext, n),
      fnv(slab.ctxPid, slab.ctxPid.length),
      fnv(slab.objGen, n),
      fnv(slab.slabInuse, m),
      fnv(slab.slabFree, m),
      fnv(slab.slabState, m),
    ],
    liveObjects: slab.liveObjects,
    events: sim.events.since(0, sim.events.capacity),
    nextEventSeq: sim.events.nextSeq,
  };
}

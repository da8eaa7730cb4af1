import {
  type Cgroup,
  EVENT_KEYS,
  STAT_ANON_PAGES,
  STAT_COUNT,
  STAT_FILE_PAGES,
  STAT_KERNEL_PAGES,
  STAT_PGPGIN,
  STAT_PGPGOUT,
  STAT_SLAB_RECLAIMABLE_BYTES,
  STAT_SLAB_UNRECLAIMABLE_BYTES,
} from "./cgroup.js";
import { memcgAllocHeld } from "./memcg-alloc.js";
import type { V59Model } from "./models/v5-9.js";
import { PAGE_SIZE as PAGE } from "./page.js";
import type { PageCounter } from "./page-counter.js";
import type { Sim } from "./sim.js";
import { CTX_COUNT, CTX_NEWEST, CTX_OLDEST, CTX_STRIDE } from "./slab/cache.js";

const SLAB_PARTIAL = 2;
const SLAB_CPU = 1;
const SLAB_CPU_PARTIAL = 4;

/** Charges seen on each dying cgroup at the previous check (docs/DOMAIN.md §12 invariant 6). */
const chargedWhenDying = new WeakMap<Cgroup, number>();

/**
 * Checks docs/DOMAIN.md §12 invariants 1–6 and the structural bookkeeping of an instance; returns one
 * message per violation (empty when all hold). O(cgroups + slabs + object slots): for tests and
 * debugging, not for the hot path. Invariant 6 compares each dying cgroup's charge total with the
 * previous call's, so call it after every step to check it.
 */
export function checkInvariants(sim: Sim): string[] {
  const out: string[] = [];
  const bad = (msg: string) => out.push(msg);
  const kmemCounter = sim.era.kmemCounter;
  const all = sim.allCgroups();
  // cgroups a live task's socket holding pages is bound to (sock-mem.ts): they pin a removed one
  const socketBound = new Set<Cgroup>();
  for (const t of sim.tasks.values())
    if (t.sockPages > 0 && t.sockMemcg !== null) socketBound.add(t.sockMemcg);
  const indep = kmemCounter === "seed" && sim.config.kmemIndependentAccounting;

  // --- 1. counter levels ------------------------------------------------------------------------
  const counterOk = (cg: Cgroup, name: string, c: PageCounter) => {
    if (c.usage < 0) bad(`${cg.path} ${name}.usage ${c.usage} < 0`);
    if (c.watermark < c.usage) bad(`${cg.path} ${name}.watermark ${c.watermark} < usage ${c.usage}`);
    if (c.usage > c.max && c.forcedTotal === 0 && !c.maxSetBelowUsage)
      bad(`${cg.path} ${name}.usage ${c.usage} > max ${c.max} without a forced charge`);
    if (!Number.isInteger(c.usage) || c.failcnt < 0)
      bad(`${cg.path} ${name} non-integer usage or negative failcnt`);
    // page_counter_cancel's WARN_ONCE: every underflow is a bookkeeping bug
    if (c.underflows !== 0) bad(`${cg.path} ${name} underflowed ${c.underflows} time(s)`);
  };

  let dying = 0;
  for (const cg of all) {
    counterOk(cg, "memory", cg.memory);
    counterOk(cg, "kmem", cg.kmem);
    if (cg.state === "dying") dying++;
    if (cg.state === "released") bad(`${cg.path} released but still in the tree`);

    // --- 2. hierarchy: usage = local charges + Σ hierarchical children ---------------------------
    const kids = [...cg.children.values(), ...cg.dyingChildren];
    let memKids = 0;
    let kmemKids = 0;
    for (const k of kids) {
      if (k.parent !== cg) bad(`${k.path} parent link broken`);
      if (k.memory.parent === cg.memory) memKids += k.memory.usage;
      if (k.kmem.parent === cg.kmem) kmemKids += k.kmem.usage;
    }
    const kernelLocal = cg.statLocal[STAT_KERNEL_PAGES];
    // on cgroup v2 the pages of the sockets bound here are on the memory counter (sock-mem.ts)
    const sockLocal = sim.config.cgroupVersion === 2 ? cg.sockPagesLocal : 0;
    const memLocal = cg.isRoot ? 0 : cg.lruPages + (indep ? 0 : kernelLocal) + cg.stockPages + sockLocal;
    const kmemLocal = cg.isRoot || (kmemCounter === "seed" && !indep) ? 0 : kernelLocal;
    if (cg.memory.usage !== memLocal + memKids)
      bad(`${cg.path} memory.usage ${cg.memory.usage} ≠ local ${memLocal} + children ${memKids}`);
    if (cg.kmem.usage !== kmemLocal + kmemKids)
      bad(`${cg.path} kmem.usage ${cg.kmem.usage} ≠ local ${kmemLocal} + children ${kmemKids}`);
    if (
      kmemCounter === "subset" &&
      cg.kmem.usage > cg.memory.usage &&
      (cg.kmem.parent === null) === (cg.memory.parent === null)
    )
      bad(`${cg.path} kmem.usage ${cg.kmem.usage} > memory.usage ${cg.memory.usage}`);

    // statistics: hierarchical = local + Σ children's hierarchical; event counters (pgpgin/pgpgout)
    // keep what released children contributed (rstat flushed it up before they were freed), so ≥
    for (let i = 0; i < STAT_COUNT; i++) {
      let sum = cg.statLocal[i];
      for (const k of kids) sum += k.statHier[i];
      const isEvent = i === STAT_PGPGIN || i === STAT_PGPGOUT;
      if (isEvent ? cg.statHier[i] < sum : cg.statHier[i] !== sum)
        bad(`${cg.path} stat[${i}] hierarchical ${cg.statHier[i]} ≠ ${sum}`);
      if (cg.statLocal[i] < 0) bad(`${cg.path} stat[${i}] local ${cg.statLocal[i]} < 0`);
    }
    let sockSum = cg.sockPagesLocal;
    for (const k of kids) sockSum += k.sockPagesHier;
    if (cg.sockPagesHier !== sockSum) bad(`${cg.path} sock hierarchical ${cg.sockPagesHier} ≠ ${sockSum}`);
    if (cg.tcpUsagePages < 0) bad(`${cg.path} tcp usage ${cg.tcpUsagePages} < 0`);
    let percpuSum = cg.percpuBytes;
    for (const k of kids) percpuSum += k.percpuBytesHier;
    if (cg.percpuBytesHier !== percpuSum)
      bad(`${cg.path} percpu hierarchical ${cg.percpuBytesHier} ≠ ${percpuSum}`);
    if (cg.percpuBytes < 0) bad(`${cg.path} percpu local ${cg.percpuBytes} < 0`);
    // events: hierarchical counts include the local ones and every remaining child's
    if (!cg.isRoot)
      for (let i = 0; i < EVENT_KEYS.length; i++) {
        let sum = cg.eventsLocal[i];
        for (const k of kids) sum += k.events[i];
        if (cg.events[i] < sum)
          bad(`${cg.path} events.${EVENT_KEYS[i]} ${cg.events[i]} < local + children ${sum}`);
      }

    // dying bookkeeping: a dying cgroup is pinned by something; copies counted
    let copies = 0;
    for (const cache of sim.slab.caches.values()) {
      const inst = cache.children.get(cg.id);
      if (inst !== undefined) {
        copies++;
        if (inst.memcg !== cg) bad(`${cg.path} copy ${inst.displayName} charges another cgroup`);
      }
    }
    if (copies !== cg.liveCacheCount)
      bad(`${cg.path} liveCacheCount ${cg.liveCacheCount} ≠ copies ${copies}`);
    if (
      cg.state === "dying" &&
      cg.lruPages === 0 &&
      cg.liveCacheCount === 0 &&
      cg.stockPages === 0 &&
      cg.dyingChildren.length === 0 &&
      sim.kernelPages.pinnedPages(cg) === 0 &&
      !socketBound.has(cg)
    )
      bad(`${cg.path} dying but pinned by nothing`);
    if (cg.state === "online" && cg.parent !== null && cg.parent.children.get(cg.name) !== cg)
      bad(`${cg.path} online but not its parent's child`);

    // --- 6. no charge lands on a removed cgroup -------------------------------------------------
    // (but a socket's: it charges its own sk_memcg, removed or not — mem_cgroup_charge_skmem)
    if (cg.state === "dying") {
      const total = cg.memory.chargedTotal - cg.sockChargedPagesTotal;
      const prev = chargedWhenDying.get(cg);
      if (prev !== undefined && total > prev) bad(`${cg.path} charged ${total - prev} pages after rmdir`);
      chargedWhenDying.set(cg, total);
    }
  }
  if (dying !== sim.dyingCount) bad(`dyingCount ${sim.dyingCount} ≠ dying cgroups ${dying}`);

  // --- tasks: anon pages charged per cgroup ------------------------------------------------------
  const anonByCg = new Map<Cgroup, number>();
  for (const t of sim.tasks.values()) {
    if (!t.cgroup.tasks.has(t.pid)) bad(`task ${t.pid} missing from ${t.cgroup.path}`);
    let n = 0;
    for (const [cg, k] of t.anon) {
      n += k;
      anonByCg.set(cg, (anonByCg.get(cg) ?? 0) + k);
    }
    if (n !== t.anonPages) bad(`task ${t.pid} anonPages ${t.anonPages} ≠ ${n}`);
  }
  for (const cg of all)
    if ((anonByCg.get(cg) ?? 0) !== cg.statLocal[STAT_ANON_PAGES])
      bad(`${cg.path} anon stat ${cg.statLocal[STAT_ANON_PAGES]} ≠ tasks' anon ${anonByCg.get(cg) ?? 0}`);

  // --- 5. slabs against the typed arrays ---------------------------------------------------------
  const slab = sim.slab;
  let slabPages = 0;
  let reclaimablePages = 0;
  let live = 0;
  const pagesByCg = new Map<Cgroup, number>();
  const recBytesByCg = new Map<Cgroup, number>();
  for (const cache of slab.caches.values()) {
    const g = cache.geometry;
    for (const inst of [cache.base, ...cache.children.values()]) {
      let slabs = 0;
      let active = 0;
      let partial = 0;
      let partialFree = 0;
      let cpuPartial = 0;
      for (const s of slab.slabsOf(inst)) {
        slabs++;
        const free = slab.freeCountOfSlab(s);
        if (free + slab.slabInuse[s] !== g.objectsPerSlab)
          bad(
            `${inst.displayName} slab ${s} inuse ${slab.slabInuse[s]} + free ${free} ≠ ${g.objectsPerSlab}`,
          );
        const st = slab.slabState[s];
        if (slab.slabInuse[s] === 0 && st !== SLAB_PARTIAL && st !== SLAB_CPU && st !== SLAB_CPU_PARTIAL)
          bad(`${inst.displayName} slab ${s} is empty off the lists (should have been freed)`);
        if (st === SLAB_CPU_PARTIAL) {
          cpuPartial++;
          if (free === 0) bad(`${inst.displayName} slab ${s} is full on a per-CPU partial list`);
        }
        active += slab.slabInuse[s];
        if (slab.slabState[s] === SLAB_PARTIAL) {
          partial++;
          partialFree += free;
        }
      }
      if (slabs !== inst.slabCount) bad(`${inst.displayName} slabCount ${inst.slabCount} ≠ ${slabs}`);
      if (active !== inst.activeObjects)
        bad(`${inst.displayName} activeObjects ${inst.activeObjects} ≠ ${active}`);
      if (partial !== inst.nrPartial) bad(`${inst.displayName} nrPartial ${inst.nrPartial} ≠ ${partial}`);
      // per-CPU partial lists (slab/cpu-partial.ts): each list holds only its own copy's parked
      // slabs, once; `slabs` (5.16+) counts the list from each slab down, `pobjects` (≤ 5.15)
      // falls strictly along it; a list never passes its bound by more than one put; a copy
      // whose bound is 0 (deactivated) parks nothing
      let onLists = 0;
      const seen = new Set<number>();
      const bySlabs = sim.era.cpuPartial === "slabs";
      for (let cpu = 0; cpu < inst.cpuPartialHead.length; cpu++) {
        let len = 0;
        let prevAcc = Infinity;
        const head = inst.cpuPartialHead[cpu];
        const listLen = slab.cpuPartialLength(head);
        for (let s = head; s >= 0; s = slab.slabNext[s]) {
          if (seen.has(s) || len > slab.slabIdTop) {
            bad(`${inst.displayName} CPU ${cpu} partial list loops at slab ${s}`);
            break;
          }
          seen.add(s);
          if (slab.slabState[s] !== SLAB_CPU_PARTIAL || slab.slabInst[s] !== inst.id)
            bad(`${inst.displayName} CPU ${cpu} partial list holds slab ${s} (state ${slab.slabState[s]})`);
          const acc = slab.slabCpuPartialAcc[s];
          if (bySlabs ? acc !== listLen - len : acc >= prevAcc || acc < 1)
            bad(`${inst.displayName} CPU ${cpu} partial slab ${s} records ${acc}`);
          prevAcc = acc;
          len++;
        }
        onLists += len;
        const limit = inst.cpuPartialLimit;
        if (head >= 0) {
          if (limit === 0) bad(`${inst.displayName} parks slabs with a per-CPU partial bound of 0`);
          else if (bySlabs ? listLen > limit : slab.slabCpuPartialAcc[head] > limit + g.objectsPerSlab)
            bad(`${inst.displayName} CPU ${cpu} partial list past its bound ${limit}`);
        }
      }
      if (onLists !== cpuPartial || inst.nrCpuPartial !== cpuPartial)
        bad(
          `${inst.displayName} nrCpuPartial ${inst.nrCpuPartial}, on lists ${onLists} ≠ parked ${cpuPartial}`,
        );
      if (partialFree !== inst.partialFreeObjects)
        bad(`${inst.displayName} partialFreeObjects ${inst.partialFreeObjects} ≠ ${partialFree}`);
      // pages of discarded SLAB_TYPESAFE_BY_RCU slabs count until their grace period ends
      const pages = slabs * g.pagesPerSlab + inst.rcuPages;
      if (inst.rcuPages < 0 || (inst.rcuPages > 0 && !cache.flags.typesafeByRcu))
        bad(`${inst.displayName} rcuPages ${inst.rcuPages}`);
      slabPages += pages;
      if (cache.flags.reclaimAccount) reclaimablePages += pages;
      live += active;
      if (inst.memcg !== null && !sim.model.objectCharging) {
        pagesByCg.set(inst.memcg, (pagesByCg.get(inst.memcg) ?? 0) + pages);
        if (cache.flags.reclaimAccount)
          recBytesByCg.set(inst.memcg, (recBytesByCg.get(inst.memcg) ?? 0) + pages * PAGE);
      }
    }
  }
  if (slabPages !== slab.reclaimablePages + slab.unreclaimablePages)
    bad(
      `slab pages ${slabPages} ≠ reclaimable ${slab.reclaimablePages} + unreclaimable ${slab.unreclaimablePages}`,
    );
  if (reclaimablePages !== slab.reclaimablePages)
    bad(`reclaimable slab pages ${slab.reclaimablePages} ≠ ${reclaimablePages}`);
  if (live !== slab.liveObjects) bad(`liveObjects ${slab.liveObjects} ≠ Σ active ${live}`);

  // --- 3. page-charged models: kmem = Σ copies' slab pages ----------------------------------------
  // whole-page kernel allocations (kernel-pages.ts) count in `kernel` next to slab pages
  const kernelPagesByCg = sim.kernelPages.chargedPagesByCgroup();
  if (!sim.model.objectCharging)
    for (const cg of all) {
      if (cg.isRoot) continue;
      const p = (pagesByCg.get(cg) ?? 0) + (kernelPagesByCg.get(cg) ?? 0);
      if (cg.statLocal[STAT_KERNEL_PAGES] !== p)
        bad(`${cg.path} kernel pages ${cg.statLocal[STAT_KERNEL_PAGES]} ≠ copies' slab pages ${p}`);
      const rb = recBytesByCg.get(cg) ?? 0;
      if (cg.statLocal[STAT_SLAB_RECLAIMABLE_BYTES] !== rb)
        bad(`${cg.path} slab_reclaimable ${cg.statLocal[STAT_SLAB_RECLAIMABLE_BYTES]} ≠ ${rb}`);
    }

  // --- 4. model C: charged pages = live objects' bytes + stocks + parked leftovers -----------------
  let liveFlags = 0;
  let liveCharged = 0;
  for (let slot = 0; slot < slab.slotCapacity; slot++) {
    if (!slab.isLive(slot)) continue;
    liveFlags++;
    if (!sim.model.objectCharging) continue;
    const owner = slab.objcgOf(slot);
    const cg = slab.objcgMemcg[owner];
    const inst = slab.instances[slab.slabInst[slab.objSlab[slot]]]!;
    if (owner > 0 && !cg.isRoot && owner !== cg.objcgId) {
      // an inherited objcg (reparented): fine as long as it points at an online or dying cgroup
    }
    if (!cg.isRoot && cg.objcgId !== -1 && owner > 0) liveCharged += inst.root.geometry.sizeBytes + 8;
  }
  if (liveFlags !== slab.liveObjects) bad(`live object flags ${liveFlags} ≠ liveObjects ${slab.liveObjects}`);

  // --- object lists: every live object on its owner list (and its list_lru when flagged), lengths exact
  let onOwned = 0;
  let onLruFlag = 0;
  let onLru = 0;
  for (let slot = 0; slot < slab.slotCapacity; slot++) if (slab.isLive(slot) && slab.onLru(slot)) onLruFlag++;
  for (const cache of slab.caches.values()) {
    // the per-context index (count, oldest, newest) as the owner lists say it must be
    const seen = new Map<number, { n: number; first: number; last: number; list: number }>();
    for (const [cgId, s] of cache.ownerLists) {
      let n = 0;
      for (let x = slab.owned.next[s]; x !== s && n <= slab.liveObjects; x = slab.owned.next[x]) {
        n++;
        const c = slab.objCtx[x];
        const e = seen.get(c);
        if (e === undefined) seen.set(c, { n: 1, first: x, last: x, list: s });
        else {
          if (e.list !== s) bad(`${cache.name}: allocation context ${c} has objects on two owner lists`);
          e.n++;
          e.last = x;
        }
        if (!slab.isLive(x)) bad(`${cache.name} owner list of cgroup ${cgId} holds a free slot ${x}`);
        else if (slab.objcgMemcg[slab.objcgOf(x)].id !== cgId)
          bad(`${cache.name} slot ${x} on the owner list of cgroup ${cgId}, charged elsewhere`);
        else if (slab.instances[slab.slabInst[slab.objSlab[x]]]?.root !== cache)
          bad(`slot ${x} on a list of ${cache.name} but in another cache`);
      }
      if (n !== slab.owned.length(s))
        bad(`${cache.name} owner list of cgroup ${cgId}: length ${slab.owned.length(s)} ≠ ${n} linked`);
      onOwned += n;
    }
    const indexed = cache.ctxIndex.length / CTX_STRIDE;
    for (let c = 0; c < indexed; c++) {
      const e = seen.get(c) ?? { n: 0, first: -1, last: -1 };
      const got = [CTX_COUNT, CTX_OLDEST, CTX_NEWEST].map((f) => cache.ctxIndex[CTX_STRIDE * c + f]);
      if (got[0] !== e.n || got[1] !== e.first || got[2] !== e.last)
        bad(
          `${cache.name}: allocation context ${c} indexed as ${got.join("/")}, lists say ${e.n}/${e.first}/${e.last}`,
        );
    }
    for (const c of seen.keys())
      if (c >= indexed) bad(`${cache.name}: allocation context ${c} has objects but no index entry`);
    for (const [key, s] of cache.lruLists) {
      let n = 0;
      for (let x = slab.lru.next[s]; x !== s && n <= slab.liveObjects; x = slab.lru.next[x]) {
        n++;
        if (!slab.isLive(x)) bad(`${cache.name} list_lru ${key} holds a free slot ${x}`);
      }
      if (n !== slab.lru.length(s))
        bad(`${cache.name} list_lru ${key}: length ${slab.lru.length(s)} ≠ ${n} linked`);
      onLru += n;
    }
  }
  const perCtx = new Map<number, number>();
  for (let slot = 0; slot < slab.slotCapacity; slot++)
    if (slab.isLive(slot)) perCtx.set(slab.objCtx[slot], (perCtx.get(slab.objCtx[slot]) ?? 0) + 1);
  for (let c = 0; c < slab.ctxLive.length; c++)
    if (slab.ctxLive[c] !== (perCtx.get(c) ?? 0))
      bad(`allocation context ${c}: ctxLive ${slab.ctxLive[c]} ≠ ${perCtx.get(c) ?? 0} live objects`);
  // recycled contexts hold nothing; an exited task's contexts wait only while they hold objects;
  // a live task's memo names a context in use for its (objcg, pid)
  const recycled = new Set(slab.freeCtxIds);
  for (const c of recycled)
    if (slab.ctxLive[c] !== 0 || slab.exitedCtxs.has(c)) bad(`recycled allocation context ${c} still in use`);
  for (const c of slab.exitedCtxs)
    if (slab.ctxLive[c] === 0)
      bad(`allocation context ${c} of an exited task holds no object but was not recycled`);
  for (const t of sim.tasks.values())
    if (
      t.allocCtxId >= 0 &&
      (recycled.has(t.allocCtxId) ||
        slab.ctxObjcg[t.allocCtxId] !== t.allocCtxObjcg ||
        slab.ctxPid[t.allocCtxId] !== t.pid)
    )
      bad(`task ${t.pid}: its allocation-context memo ${t.allocCtxId} names another context`);
  if (onOwned !== slab.liveObjects)
    bad(`objects on owner lists ${onOwned} ≠ liveObjects ${slab.liveObjects}`);
  if (onLru !== onLruFlag) bad(`objects on list_lrus ${onLru} ≠ objects flagged on one ${onLruFlag}`);
  if (sim.model.objectCharging) {
    const m = sim.model as V59Model;
    let kernelBytes = 0;
    let slabBytes = 0;
    for (const cg of all) {
      if (cg.isRoot) continue;
      kernelBytes += cg.statLocal[STAT_KERNEL_PAGES] * PAGE;
      slabBytes += cg.statLocal[STAT_SLAB_RECLAIMABLE_BYTES] + cg.statLocal[STAT_SLAB_UNRECLAIMABLE_BYTES];
    }
    let stocked = 0;
    for (const s of m.stocks) if (s.objcg >= 0 && !slab.objcgMemcg[s.objcg].isRoot) stocked += s.bytes;
    let parked = 0;
    for (let i = 1; i < slab.objcgChargedBytes.length; i++)
      if (!slab.objcgMemcg[i].isRoot) parked += slab.objcgChargedBytes[i];
    let wholePages = 0;
    for (const n of kernelPagesByCg.values()) wholePages += n;
    // the cgroups' own statistics structures, charged to their parents at mkdir (memcg-alloc.ts)
    const held = memcgAllocHeld(sim, all);
    if (kernelBytes !== liveCharged + stocked + parked + wholePages * PAGE + held.slab + held.percpu)
      bad(
        `kernel bytes ${kernelBytes} ≠ live objects ${liveCharged} + stocks ${stocked} + parked ${parked} + kernel pages ${wholePages * PAGE} + cgroup structures ${held.slab + held.percpu}`,
      );
    if (slabBytes !== liveCharged + held.slab)
      bad(
        `slab_* bytes ${slabBytes} ≠ live charged object bytes ${liveCharged} + cgroup structures ${held.slab}`,
      );
    let percpuBytes = 0;
    for (const cg of all) if (!cg.isRoot) percpuBytes += cg.percpuBytes;
    if (percpuBytes !== held.percpu)
      bad(`percpu bytes ${percpuBytes} ≠ cgroup per-CPU areas held ${held.percpu}`);
  }

  // --- socket memory: each v2 cgroup's sock statistic is the pages its bound sockets hold -----------
  if (sim.config.cgroupVersion === 2) {
    const bySock = new Map<Cgroup, number>();
    for (const t of sim.tasks.values())
      if (t.sockMemcg !== null && t.sockPages > 0)
        bySock.set(t.sockMemcg, (bySock.get(t.sockMemcg) ?? 0) + t.sockPages);
    for (const cg of all)
      if (cg.sockPagesLocal !== (bySock.get(cg) ?? 0))
        bad(`${cg.path} sock pages ${cg.sockPagesLocal} ≠ its sockets' ${bySock.get(cg) ?? 0}`);
  }

  // --- physical memory -----------------------------------------------------------------------------
  let userPages = 0;
  for (const cg of all) userPages += cg.lruPages;
  const kpages = sim.kernelPages.totalPages;
  if (sim.usedPages !== userPages + slabPages + kpages)
    bad(`usedPages ${sim.usedPages} ≠ user ${userPages} + slab ${slabPages} + kernel pages ${kpages}`);
  if (sim.usedPages > sim.totalPages) bad(`usedPages ${sim.usedPages} > total ${sim.totalPages}`);
  let stockPages = 0;
  for (const s of sim.pageStocks) if (s.memcg !== null) stockPages += s.pages;
  let cgStock = 0;
  for (const cg of all) cgStock += cg.stockPages;
  if (stockPages !== cgStock) bad(`page stocks ${stockPages} ≠ Σ cgroup stockPages ${cgStock}`);
  void STAT_FILE_PAGES;
  return out;
}

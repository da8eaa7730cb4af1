import { Cgroup, type CgroupState, modStat, STAT_ANON_PAGES, STAT_FILE_PAGES } from "./cgroup.js";
import { writeCgroupFile } from "./cgroupfs/files.js";
import { drainAllStock } from "./charge.js";
import type * as C from "./commands.js";
import { assert, fail } from "./errors.js";
import type { Ida } from "./kernel.js";
import { chargeMemcgAlloc, queueMemcgFree } from "./memcg-alloc.js";
import { subtree } from "./reclaim.js";
import type { Sim } from "./sim.js";

// The cgroup tree's verbs (mm/memcontrol.c css callbacks, kernel/cgroup/cgroup.c mkdir/rmdir):
// path lookup, create (`mem_cgroup_css_alloc` + `mem_cgroup_css_online`), update (cgroupfs writes),
// remove (`cgroup_rmdir` → `mem_cgroup_css_offline`), LRU reparenting, and the release of a dying
// cgroup once nothing pins it (`css_release` → `mem_cgroup_css_free`). Their bookkeeping (ids,
// idas, the cgroup being offlined) is `sim.idr` (kernel.ts CgroupIdr).

const SEGMENT = /^[A-Za-z0-9_@+-][A-Za-z0-9_.:@+-]{0,254}$/;

/** Splits and validates a cgroup path (docs/API.md §2). */
export function parsePath(path: string): string[] {
  if (typeof path !== "string" || !path.startsWith("/"))
    fail("INVALID_ARGUMENT", `cgroup path "${path}" must start with /`);
  if (path === "/") return [];
  const segs = path.split("/").slice(1);
  for (const s of segs)
    if (!SEGMENT.test(s) || s.startsWith("memory.") || s.startsWith("cgroup."))
      fail("INVALID_ARGUMENT", `invalid cgroup path segment "${s}" in "${path}"`, {
        issues: [{ path: "path", message: "invalid segment" }],
      });
  return segs;
}

/** The cgroup at `path`: the online one, else (allowDying) the newest dying one there. */
export function lookupCgroup(sim: Sim, path: string, allowDying = false): Cgroup {
  const segs = parsePath(path);
  let cg = sim.root;
  for (let i = 0; i < segs.length; i++) {
    const next = cg.children.get(segs[i]);
    if (next !== undefined) {
      cg = next;
      continue;
    }
    if (allowDying && i === segs.length - 1) {
      for (let j = cg.dyingChildren.length - 1; j >= 0; j--)
        if (cg.dyingChildren[j].name === segs[i]) return cg.dyingChildren[j];
    }
    fail("CGROUP_NOT_FOUND", `cgroup ${path} not found`, { path });
  }
  return cg;
}

/** Every online cgroup in pre-order, root first. */
export function onlineCgroups(sim: Sim): Cgroup[] {
  const out: Cgroup[] = [];
  const walk = (c: Cgroup) => {
    out.push(c);
    for (const k of c.children.values()) walk(k);
  };
  walk(sim.root);
  return out;
}

/** Every cgroup not yet released (online and dying) in pre-order. */
export function allCgroups(sim: Sim): Cgroup[] {
  return subtree(sim.root);
}

/** `ida_alloc_min`: the smallest free id ≥ `from` (amortised O(1) for the usual create-mostly sequence). */
function idaAlloc(ida: Ida, from: number): number {
  let i = Math.max(from, ida.low);
  while (ida.used.has(i)) i++;
  ida.used.add(i);
  ida.low = i + 1;
  return i;
}

/** `ida_free`. */
function idaFree(ida: Ida, i: number): void {
  const inUse = ida.used.delete(i);
  assert(inUse, "ida: freeing an id that is not in use");
  if (i < ida.low) ida.low = i;
}

/** mkdir: `mem_cgroup_css_alloc` + `mem_cgroup_css_online`. */
export function createCgroup(sim: Sim, path: string): Cgroup {
  const segs = parsePath(path);
  if (segs.length === 0) fail("CGROUP_EXISTS", "the root cgroup always exists", { path });
  const parent = lookupCgroup(sim, `/${segs.slice(0, -1).join("/")}`);
  const name = segs[segs.length - 1];
  if (parent.children.has(name)) fail("CGROUP_EXISTS", `cgroup ${path} already exists`, { path });
  const limits = sim.limits;
  if (segs.length > limits.maxDepth)
    fail("LIMIT_EXCEEDED", `cgroup depth limit ${limits.maxDepth} reached`, {
      limit: "maxDepth",
      value: limits.maxDepth,
    });
  if (sim.idr.byId.size >= limits.maxCgroups)
    fail("LIMIT_EXCEEDED", `cgroup limit ${limits.maxCgroups} reached`, {
      limit: "maxCgroups",
      value: limits.maxCgroups,
    });
  // mem_cgroup_alloc's accounted structures are charged to the parent before the cgroup exists
  // (a failure creates nothing)
  const allocObjcg = chargeMemcgAlloc(sim, parent, path);
  const v2 = sim.config.cgroupVersion === 2;
  const cg = new Cgroup(sim.idr.nextId++, name, parent, v2 || parent.useHierarchy);
  cg.memcgAllocObjcg = allocObjcg;
  parent.children.set(name, cg);
  sim.idr.byId.set(cg.id, cg);
  cg.objcgId = sim.slab.newObjcg(cg);
  cg.memcgIndex = idaAlloc(sim.idr.memcgIndex, 1);
  // a child of a kmem-active cgroup is born active only under use_hierarchy: 3.8 mem_cgroup_create
  // calls memcg_propagate_kmem inside `if (parent && parent->use_hierarchy)`; 4.5
  // memcg_propagate_kmem finds no parent_mem_cgroup without it (memory.parent is NULL)
  if (parent.kmemActive && parent.useHierarchy) activateKmem(sim, cg);
  sim.events.emit(sim.clockMs, "cgroup_created", { cgroup: cg.path });
  sim.model.onCgroupCreated(sim.slab, cg);
  return cg;
}

/** 3.8 `memcg_activate_kmem`: accounting on from now, with a kmemcg_id from the ida. */
export function activateKmem(sim: Sim, cg: Cgroup): void {
  if (cg.kmemActive) return;
  cg.kmemActive = true;
  cg.kmemcgId = idaAlloc(sim.idr.kmemcgId, 0);
}

/** A PATCH of a cgroup: the cgroupfs writes it stands for, validated all before any is applied. */
export function updateCgroup(sim: Sim, cmd: C.UpdateCgroupCmd): Cgroup {
  const cg = lookupCgroup(sim, cmd.path);
  const v2 = sim.config.cgroupVersion === 2;
  const size = (b: number | null | undefined) => (b === null ? (v2 ? "max" : "-1") : String(b));
  const writes: [string, string][] = [];
  if (cmd.useHierarchy !== undefined) writes.push(["memory.use_hierarchy", cmd.useHierarchy ? "1" : "0"]);
  if (cmd.moveChargeAtImmigrate !== undefined)
    writes.push(["memory.move_charge_at_immigrate", String(cmd.moveChargeAtImmigrate)]);
  if (cmd.oomGroup !== undefined) writes.push(["memory.oom.group", cmd.oomGroup ? "1" : "0"]);
  if (cmd.oomKillDisable !== undefined) writes.push(["memory.oom_control", cmd.oomKillDisable ? "1" : "0"]);
  if (cmd.memoryMinBytes !== undefined) writes.push(["memory.min", size(cmd.memoryMinBytes)]);
  if (cmd.memoryLowBytes !== undefined) writes.push(["memory.low", size(cmd.memoryLowBytes)]);
  if (cmd.kmemMaxBytes !== undefined) writes.push(["memory.kmem.limit_in_bytes", size(cmd.kmemMaxBytes)]);
  if (cmd.memoryHighBytes !== undefined) writes.push(["memory.high", size(cmd.memoryHighBytes)]);
  if (cmd.memoryMaxBytes !== undefined)
    writes.push([v2 ? "memory.max" : "memory.limit_in_bytes", size(cmd.memoryMaxBytes)]);
  // validate every write (file exists here, value parses) before applying any: the PATCH is atomic
  for (const [file, value] of writes) writeCgroupFile(sim, cg, file, value, true);
  for (const [file, value] of writes) writeCgroupFile(sim, cg, file, value, false);
  return cg;
}

/** rmdir (`cgroup_rmdir`): refused while the cgroup has children or tasks. */
export function removeCgroup(sim: Sim, path: string): void {
  const segs = parsePath(path);
  if (segs.length === 0) fail("INVALID_ARGUMENT", "the root cgroup cannot be removed", { path });
  const cg = lookupCgroup(sim, path);
  if (cg.children.size > 0) fail("CGROUP_BUSY", `cgroup ${path} has children`, { path });
  if (cg.tasks.size > 0) fail("CGROUP_BUSY", `cgroup ${path} has tasks`, { path });
  offlineCgroup(sim, cg);
}

/** rmdir → offline (docs/DOMAIN.md §10): no new tasks or charges; the cgroup lingers while pinned. */
function offlineCgroup(sim: Sim, cg: Cgroup): void {
  assert(cg.state === "online", "offlining a cgroup that is not online");
  const parent = cg.parent!;
  parent.children.delete(cg.name);
  parent.dyingChildren.push(cg);
  cg.state = "dying";
  sim.dyingCount++;
  cg.minPages = 0;
  cg.lowPages = 0;
  // the slab system forgets a released cgroup's lists only once its offline work (list splices,
  // nr_deferred moved to the parent) is done, even when an uncharge releases it midway
  sim.idr.offlining = cg;
  drainAllStock(sim, cg);
  for (const t of sim.tasks.values()) t.fileMapped.delete(cg);
  sim.model.onCgroupOffline(sim.slab, cg);
  if (sim.model.reparentsLruChargesOnOffline) reparentLruCharges(sim, cg, parent);
  sim.idr.offlining = null;
  if ((cg.state as CgroupState) === "released") sim.slab.cgroupReleased(cg);
  sim.events.emit(sim.clockMs, "cgroup_removed", { cgroup: cg.path });
  maybeRelease(sim, cg);
}

/** 3.x `mem_cgroup_reparent_charges`: the LRU (user) charges move to the parent; kmem stays. */
function reparentLruCharges(sim: Sim, cg: Cgroup, parent: Cgroup): void {
  const file = cg.statLocal[STAT_FILE_PAGES];
  const anon = cg.statLocal[STAT_ANON_PAGES];
  const n = file + anon;
  if (n === 0) return;
  modStat(cg, STAT_FILE_PAGES, -file);
  modStat(parent, STAT_FILE_PAGES, file);
  modStat(cg, STAT_ANON_PAGES, -anon);
  modStat(parent, STAT_ANON_PAGES, anon);
  for (const t of sim.tasks.values()) {
    const a = t.anon.get(cg);
    if (a !== undefined) {
      t.anon.delete(cg);
      t.anon.set(parent, (t.anon.get(parent) ?? 0) + a);
    }
  }
  if (cg.memory.parent === parent.memory) cg.memory.cancelLocal(n);
  else {
    cg.memory.cancelLocal(n);
    if (!parent.isRoot) parent.memory.charge(n);
  }
}

/** Releases a dying cgroup once nothing pins it: no LRU pages, no per-cgroup cache copy. */
export function maybeRelease(sim: Sim, cg: Cgroup): void {
  if (cg.state !== "dying" || cg.lruPages > 0 || cg.liveCacheCount > 0 || cg.stockPages > 0) return;
  // charged kernel pages of a page-charged era hold a css reference (kernel-pages.ts)
  if (sim.kernelPages.pinnedPages(cg) > 0) return;
  // a socket holding pages keeps its memcg's css reference (mem_cgroup_sk_alloc css_tryget; 3.x mem_cgroup_get)
  if (socketPinned(sim, cg)) return;
  // a child css holds a reference on its parent (css_release → css_put(parent)): a removed cgroup
  // with a dying child still pinned stays dying until that child is released
  if (cg.dyingChildren.length > 0) return;
  cg.state = "released";
  const parent = cg.parent!;
  // splice(-1, 1) would drop another cgroup: a dying cgroup is on its parent's list until released
  const at = parent.dyingChildren.indexOf(cg);
  assert(at >= 0, "released cgroup not on its parent's dying list");
  parent.dyingChildren.splice(at, 1);
  sim.idr.byId.delete(cg.id);
  idaFree(sim.idr.memcgIndex, cg.memcgIndex);
  if (cg.kmemcgId >= 0) idaFree(sim.idr.kmemcgId, cg.kmemcgId);
  sim.dyingCount--;
  assert(sim.dyingCount >= 0, "more cgroups released than taken offline");
  if (cg !== sim.idr.offlining) sim.slab.cgroupReleased(cg);
  sim.events.emit(sim.clockMs, "cgroup_released", { cgroup: cg.path });
  // mem_cgroup_free, a grace period later: the structures its creation charged go back (memcg-alloc.ts)
  queueMemcgFree(sim, cg);
  maybeRelease(sim, parent);
}

/** Online cgroup for a charge on behalf of `cg`: a dying one charges its nearest online ancestor (docs/DOMAIN.md §12 (invariant 6)). */
export function onlineAncestor(cg: Cgroup): Cgroup {
  let c = cg;
  while (c.state !== "online") c = c.parent!;
  return c;
}

export function isDescendant(c: Cgroup, root: Cgroup): boolean {
  for (let x: Cgroup | null = c; x !== null; x = x.parent) if (x === root) return true;
  return false;
}

/** Moves a local statistic of a dying cgroup into its parent (objcg reparenting). */
export function moveLocalStat(cg: Cgroup, parent: Cgroup, stat: number): void {
  const v = cg.statLocal[stat];
  if (v === 0) return;
  cg.statLocal[stat] = 0;
  cg.statHier[stat] -= v;
  parent.statLocal[stat] += v;
}

/** A live task's socket holding pages is bound to `cg` (sock-mem.ts). */
function socketPinned(sim: Sim, cg: Cgroup): boolean {
  for (const t of sim.tasks.values()) if (t.sockPages > 0 && t.sockMemcg === cg) return true;
  return false;
}

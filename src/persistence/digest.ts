import { createHash } from "node:crypto";
import {
  cacheView,
  cgroupView,
  type Simulation,
  instanceView,
  procMeminfo,
  procSlabinfo,
  taskView,
} from "../engine/index.js";

/**
 * A sha256 over everything a client can observe of an instance: the Simulation, every cgroup
 * (online and dying), cache and task view, /proc/slabinfo, /proc/meminfo, the event sequence and
 * the PRNG state. Two instances with equal digests answer every read identically (up to the
 * event ring's contents), which is what a snapshot records and what restore checks after replay:
 * a mismatch means the engine no longer reproduces what clients saw (an engine change between
 * the run that wrote the journal and the one replaying it).
 */
export function stateDigest(sim: Simulation): string {
  const h = createHash("sha256");
  h.update(JSON.stringify(instanceView(sim)));
  h.update(`\0events:${sim.events.nextSeq}\0prng:${sim.prng.state}\0`);
  for (const cg of sim.allCgroups()) h.update(JSON.stringify(cgroupView(sim, cg)));
  for (const cache of sim.slab.caches.values()) h.update(JSON.stringify(cacheView(sim, cache)));
  for (const t of sim.tasks.values()) h.update(JSON.stringify(taskView(t)));
  h.update(procSlabinfo(sim));
  h.update(procMeminfo(sim));
  return h.digest("hex");
}

/**
 * RSS per live object, measured in a fresh process (`node --expose-gc --import tsx bench/rss.ts
 * MODEL COUNT`): RSS after setting up the instance, then after allocating COUNT objects (in
 * commands of 1M), garbage collected both times. Prints one JSON line.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { setup } from "./engine.js";

const model = (process.argv[2] ?? "v5.9") as "v5.9";
const count = Number(process.argv[3] ?? 10_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const { sim, pids } = setup(model, 1);
/** Full GC, then a pause: V8 frees array-buffer memory on a background thread. */
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(100);
  }
};
await settle();
const before = process.memoryUsage().rss;
for (let left = count; left > 0; left -= 1_000_000)
  sim.execute({
    op: "allocObjects",
    cache: "dentry",
    pid: pids[0],
    count: Math.min(left, 1_000_000),
    returnObjectIds: false,
  });
await settle();
const after = process.memoryUsage().rss;
if (sim.slab.liveObjects < count) throw new Error("allocation fell short");
console.log(
  JSON.stringify({
    model,
    count,
    rssBefore: before,
    rssAfter: after,
    bytesPerObject: (after - before) / count,
    slots: sim.slab.slotCapacity,
  }),
);

/**
 * Event-loop delay while one long request runs (docs/RELIABILITY.md, "No request stalls the
 * server"): a 150-command batch of heavy commands (alternating allocObjects and freeObjects of
 * 100,000 objects) and a five-model comparison, each run unsliced (the batch as one registry call;
 * the comparison in one slice) and sliced (Service, 10 ms slices), and one allocObjects of 10,000,000
 * objects whole (a registry call) and in parts (Service.execute), and a freeObjects of those 10M in
 * random order likewise (the allocation before it is whole, in both). Prints the max and p99 delay of
 * perf_hooks.monitorEventLoopDelay (resolution 1 ms) during each run.
 *
 *   npx tsx bench/no-stall.ts
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseCommand } from "../src/commands/schemas.js";
import { Registry } from "../src/registry.js";
import { Service } from "../src/service/service.js";

const heavyBatch = () => [
  ...Array.from({ length: 150 }, (_, i) =>
    parseCommand(
      i % 2 === 0
        ? { op: "allocObjects", cache: "dentry", pid: 100, count: 100_000 }
        : { op: "freeObjects", cache: "dentry", pid: 100, count: 100_000, order: "random" },
    ),
  ),
];

function instance(): Registry {
  const r = new Registry();
  r.create("a", { memoryBytes: 16 * 1024 ** 3 });
  for (const c of [
    { op: "createCgroup", path: "/w" },
    {
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    },
    { op: "spawnTask", cgroup: "/w", pid: 100 },
  ])
    r.execute("a", parseCommand(c));
  return r;
}

const compareBody = {
  scenario: {
    config: { cpuCount: 2, memoryBytes: 1073741824 },
    commands: [
      {
        op: "createCache",
        name: "dentry",
        objectSizeBytes: 192,
        flags: { account: true, reclaimAccount: true },
      },
      {
        generate: "containerChurn",
        containers: 3000,
        tasksPerContainer: 2,
        objectsPerContainer: 200,
        mix: [{ cache: "dentry", count: 20 }],
        seed: 5,
      },
    ],
  },
};

async function measure(label: string, run: () => Promise<unknown>): Promise<void> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // the monitor measures from its previous tick: let it tick once before the run
  await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  // the monitor's timer records a block only when it fires again: give it that turn
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  console.log(
    `${label.padEnd(34)} total ${(ms / 1000).toFixed(2)} s  loop delay max ${(h.max / 1e6).toFixed(1)} ms  p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms`,
  );
}

// warm-up (JIT), not printed
await new Service({ registry: new Registry() }).compare(
  {
    ...compareBody,
    scenario: { ...compareBody.scenario, commands: compareBody.scenario.commands.slice(0, 1) },
  },
  { maxCommands: 1_000_000 },
);
await measure("batch, unsliced (registry call)", async () => {
  instance().executeBatch("a", heavyBatch());
});
await measure("batch, sliced (Service, 10 ms)", async () => {
  const r = instance();
  await new Service({ registry: r }).executeBatch("a", heavyBatch());
});
await measure("compare, one slice", async () => {
  await new Service({ registry: new Registry(), slice: { sliceMs: Number.POSITIVE_INFINITY } }).compare(
    compareBody,
    { maxCommands: 1_000_000 },
  );
});
await measure("compare, sliced (10 ms)", async () => {
  await new Service({ registry: new Registry() }).compare(compareBody, { maxCommands: 1_000_000 });
});
const bigAlloc = parseCommand({ op: "allocObjects", cache: "dentry", pid: 100, count: 10_000_000 });
await measure("allocObjects 10M, whole (registry)", async () => {
  instance().execute("a", bigAlloc);
});
await measure("allocObjects 10M, in parts (Service)", async () => {
  const r = instance();
  await new Service({ registry: r }).execute("a", bigAlloc);
});
const bigFree = parseCommand({ op: "freeObjects", cache: "dentry", pid: 100, count: 10_000_000, order: "random" });
const withObjects = () => {
  const r = instance();
  r.execute("a", bigAlloc);
  return r;
};
const w1 = withObjects();
await measure("freeObjects 10M random, whole", async () => {
  w1.execute("a", bigFree);
});
const w2 = withObjects();
await measure("freeObjects 10M random, in parts", async () => {
  await new Service({ registry: w2 }).execute("a", bigFree);
});

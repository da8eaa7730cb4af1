import { afterEach, describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { UNCAPPED_FAMILIES } from "../../src/metrics/families.js";
import { Registry } from "../../src/registry.js";
import { parseText } from "./helpers.js";

let open: Metrics[] = [];
afterEach(() => {
  for (const m of open) m.close();
  open = [];
});

/** Three simulations of 40 cgroups each, with a cache and objects charged to every cgroup. */
function busyRegistry(): Registry {
  const registry = new Registry();
  for (const name of ["a", "b", "c"]) {
    registry.create(name);
    registry.execute(name, {
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true },
    });
    for (let i = 0; i < 40; i++) {
      registry.execute(name, { op: "createCgroup", path: `/g${i}` });
      registry.execute(name, { op: "allocObjects", cache: "dentry", cgroup: `/g${i}`, count: 3 });
    }
  }
  return registry;
}

/** The series of the capped simulation families in a /metrics text, and the dropped gauge. */
async function scrape(registry: Registry, maxSeries?: number) {
  const m = createMetrics({ registry, defaultMetrics: false, maxSeries });
  open.push(m);
  const all = parseText(await m.scrape());
  const capped = all.filter(
    (x) =>
      x.name.startsWith("memcg_sim_") &&
      !UNCAPPED_FAMILIES.has(x.name) &&
      x.name !== "memcg_sim_failed_instances" &&
      !x.name.startsWith("memcg_sim_rest_") &&
      !x.name.startsWith("memcg_sim_grpc_"),
  );
  const dropped = all.filter((x) => x.name === "memcg_sim_metrics_series_dropped");
  return { capped, dropped };
}

describe("the per-scrape series cap (maxMetricsSeries)", () => {
  it("serves exactly maxSeries series of the simulation families and counts the rest as dropped", async () => {
    const registry = busyRegistry();
    const whole = await scrape(registry, Number.POSITIVE_INFINITY);
    const total = whole.capped.length;
    expect(whole.dropped).toEqual([{ name: "memcg_sim_metrics_series_dropped", labels: {}, value: 0 }]);
    // 3 × 41 cgroups: well over the cap below
    expect(total).toBeGreaterThan(1000);

    const cut = await scrape(registry, 1000);
    expect(cut.capped.length).toBe(1000);
    expect(cut.dropped).toEqual([
      { name: "memcg_sim_metrics_series_dropped", labels: {}, value: total - 1000 },
    ]);
    // the series kept are the first 1000 of the uncut scrape, in order
    expect(cut.capped).toEqual(whole.capped.slice(0, 1000));
    // the scrape-report families are not cut: one truncated-cgroups series per simulation
    const m = open.at(-1) as Metrics;
    const truncated = parseText(await m.scrape()).filter(
      (x) => x.name === "memcg_sim_metrics_truncated_cgroups",
    );
    expect(truncated.map((x) => x.labels.simulation)).toEqual(["a", "b", "c"]);
  });

  it("at exactly the number of series nothing is dropped; one fewer drops one", async () => {
    const registry = busyRegistry();
    const total = (await scrape(registry, Number.POSITIVE_INFINITY)).capped.length;
    const exact = await scrape(registry, total);
    expect(exact.capped.length).toBe(total);
    expect(exact.dropped[0].value).toBe(0);
    const less = await scrape(registry, total - 1);
    expect(less.capped.length).toBe(total - 1);
    expect(less.dropped[0].value).toBe(1);
  });

  it("defaults to the registry's maxMetricsSeries", async () => {
    const registry = new Registry({ ...new Registry().limits, maxMetricsSeries: 7 });
    registry.create("a");
    const r = await scrape(registry);
    expect(r.capped.length).toBe(7);
    expect(r.dropped[0].value).toBeGreaterThan(0);
  });
});

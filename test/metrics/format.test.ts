import { Registry as PromRegistry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  type Family,
  formatFamilies,
  labelSet,
  labelsObject,
  valueText,
} from "../../src/metrics/families.js";
import { createMetrics } from "../../src/metrics/index.js";
import type { Snapshot } from "../../src/metrics/snapshot.js";
import { newSim } from "./helpers.js";

// /metrics builds the text of the memcg_sim_* families itself (formatFamilies) instead of through
// prom-client's formatter, for speed (issue "Performance"). The text must be prom-client's, byte
// for byte: these tests print the same families both ways.

/** prom-client's text for plain metric objects built from `fams` over snapshot `s`. */
async function viaPromClient(fams: Family[], s: Snapshot): Promise<string> {
  const reg = new PromRegistry();
  for (const f of fams)
    reg.registerMetric({
      name: f.name,
      help: f.help,
      type: f.type,
      labelNames: [],
      aggregator: "sum",
      async get() {
        const values: { labels: Record<string, string>; value: number }[] = [];
        f.fill(s, (labels, value, key, keyValue) =>
          values.push({ labels: labelsObject(labels, key, keyValue), value }),
        );
        return { name: f.name, help: f.help, type: f.type, values, aggregator: "sum" };
      },
      reset() {},
    } as unknown as Parameters<PromRegistry["registerMetric"]>[0]);
  return reg.metrics();
}

describe("formatFamilies", () => {
  it("escapes help and label values and prints special numbers exactly as prom-client", async () => {
    const s = {} as Snapshot;
    const fams: Family[] = [
      {
        name: "t_gauge",
        help: 'a help with a backslash \\ and a\nnewline and "quotes"',
        type: "gauge",
        fill: (_s, emit) => {
          emit({ simulation: "plain", cgroup: "/a" }, 1);
          emit({ simulation: 'q"uote', cgroup: "back\\slash" }, -2.5);
          emit({ simulation: "new\nline", cgroup: '/x"\\\n' }, 0.1 + 0.2);
          emit({ simulation: "nan", cgroup: "/" }, Number.NaN);
          emit({ simulation: "inf", cgroup: "/" }, Number.POSITIVE_INFINITY);
          emit({ simulation: "-inf", cgroup: "/" }, Number.NEGATIVE_INFINITY);
          emit({ simulation: "big", cgroup: "/" }, 2 ** 53 - 1);
          emit({}, 7);
          const set = labelSet({ simulation: "s\\", cgroup: '/q"' });
          emit(set, 3);
          emit(set, 4, "event", 'max"\n');
          emit({}, 5, "only", "one");
        },
      },
      { name: "t_empty_total", help: "no series", type: "counter", fill: () => {} },
      {
        name: "t_counter_total",
        help: "plain",
        type: "counter",
        fill: (_s, emit) => emit({ simulation: "s", op: "allocObjects" }, 12345678901),
      },
    ];
    const ours = `${formatFamilies(fams, s)}\n`;
    expect(ours).toBe(await viaPromClient(fams, s));
    expect(ours).toContain('t_gauge{simulation="q\\"uote",cgroup="back\\\\slash"} -2.5');
    expect(ours).toContain("t_gauge 7\n");
  });

  it("prints integers above 2^53 - 1 with their exact digits (JavaScript's text rounds them)", () => {
    expect(valueText(Number(200376420520689664n))).toBe("200376420520689664");
    expect(`${Number(200376420520689664n)}`).toBe("200376420520689660");
    expect(valueText(2 ** 63 - 4096)).toBe("9223372036854771712");
    expect(valueText(2 ** 60 + 4096)).toBe("1152921504606851072");
    expect(valueText(2 ** 53)).toBe("9007199254740992");
    expect(valueText(1e21)).toBe("1000000000000000000000");
    // the same float64 for Prometheus: both texts parse to the engine's double
    expect(Number("200376420520689664")).toBe(Number("200376420520689660"));
  });

  it("prints integers up to 2^53 - 1 with the same digits as JavaScript's own number text", () => {
    const edges = [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 1e9, 1e9 - 1, 3e9, 3e9 + 7, 1e15, 2 ** 53 - 1, 1.5e10, 4096.5];
    for (const v of edges) expect(valueText(v)).toBe(`${v}`);
    // just below a multiple of 1e9, where v / 1e9 can round up to the multiple
    for (let k = 3; k < 9007199; k += 7919)
      for (const d of [-1, 0, 1]) expect(valueText(k * 1e9 + d)).toBe(`${k * 1e9 + d}`);
    for (let k = 9007100; k <= 9007199; k++) expect(valueText(k * 1e9 - 1)).toBe(`${k * 1e9 - 1}`);
    let x = 12345;
    for (let i = 0; i < 20000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const v = Math.floor((x / 2 ** 32) * 2 ** (31 + (i % 23)));
      expect(valueText(v)).toBe(`${v}`);
      const w = v * 4096;
      expect(valueText(w)).toBe(w > Number.MAX_SAFE_INTEGER ? BigInt(w).toString() : `${w}`);
    }
  });

  it("a whole /metrics and /metrics/cadvisor equal prom-client's own text of the same registry", async () => {
    const { registry, ex } = newSim("fmt", { model: "v5.9" });
    ex({
      op: "createCache",
      name: "dentry",
      objectSizeBytes: 192,
      flags: { account: true, reclaimAccount: true },
    });
    for (const p of ["/a", "/a/b", "/c"]) ex({ op: "createCgroup", path: p });
    const { pid } = ex({ op: "spawnTask", cgroup: "/a/b" }) as { pid: number };
    ex({ op: "allocObjects", cache: "dentry", pid, count: 500, returnObjectIds: false });
    ex({ op: "writeFile", cgroup: "/c", file: "memory.max", value: "8192" });
    const c = ex({ op: "spawnTask", cgroup: "/c" }) as { pid: number };
    ex({ op: "allocPages", pid: c.pid, kind: "anon", bytes: 16384 });
    ex({ op: "exitTask", pid });
    ex({ op: "removeCgroup", path: "/a/b" });
    const metrics = createMetrics({ registry, defaultMetrics: false });
    try {
      metrics.observeRest("/v1/instances", "GET", 200, 0.002);
      const ours = await metrics.scrape();
      expect(ours).toBe(await metrics.promRegistry.metrics());
      expect(ours).toContain('memcg_sim_memory_events_total{simulation="fmt",cgroup="/c",event="max"}');
      expect(ours).toContain("memcg_sim_rest_request_duration_seconds_bucket{");
    } finally {
      metrics.close();
    }
  });
});

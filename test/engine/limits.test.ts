import { describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/errors.js";
import { MiB, Sim } from "./helpers.js";

function errno(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof EngineError) return e.code;
    throw e;
  }
  return "ok";
}

// docs/DOMAIN.md §2.1 (res_counter write strategy: PAGE_ALIGN rounds up) vs §2.2 (page_counter_memparse
// rounds down), §3 file formats and root restrictions.
describe("v1 limit parsing per era", () => {
  it.each([
    ["rfc-2012", "4096", "9223372036854775807"],
    ["v3.8", "4096", "9223372036854775807"],
    ["v4.5", "0", "9223372036854771712"],
    ["v5.9", "0", "9223372036854771712"],
  ] as const)("%s: `echo 1` reads back %s; unlimited prints %s", (model, one, unlimited) => {
    const s = new Sim({ model, cgroupVersion: 1 });
    s.mkdir("/a");
    expect(s.read("/a", "memory.limit_in_bytes")).toBe(`${unlimited}\n`);
    expect(s.read("/a", "memory.kmem.limit_in_bytes")).toBe(`${unlimited}\n`);
    expect(s.read("/a", "memory.soft_limit_in_bytes")).toBe(`${unlimited}\n`);
    s.write("/a", "memory.limit_in_bytes", "1");
    expect(s.read("/a", "memory.limit_in_bytes")).toBe(`${one}\n`);
    s.write("/a", "memory.limit_in_bytes", "-1");
    expect(s.read("/a", "memory.limit_in_bytes")).toBe(`${unlimited}\n`);
  });

  it.each(["rfc-2012", "v3.8"] as const)("%s rounds 4097 up to 8192", (model) => {
    const s = new Sim({ model });
    s.mkdir("/a");
    s.write("/a", "memory.limit_in_bytes", "4097");
    expect(s.read("/a", "memory.limit_in_bytes")).toBe("8192\n");
  });

  it.each(["v4.5", "v5.9"] as const)("%s rounds 8191 down to 4096", (model) => {
    const s = new Sim({ model, cgroupVersion: 1 });
    s.mkdir("/a");
    s.write("/a", "memory.limit_in_bytes", "8191");
    expect(s.read("/a", "memory.limit_in_bytes")).toBe("4096\n");
  });

  it("takes k/K, m/M, g/G suffixes as binary multiples, hex and octal like memparse", () => {
    const s = new Sim({ model: "v4.5" });
    s.mkdir("/a");
    const cases: [string, string][] = [
      ["4k", "4096"],
      ["8K", "8192"],
      ["100M", "104857600"],
      ["1m", "1048576"],
      ["2G", "2147483648"],
      ["1g", "1073741824"],
      ["0x2000", "8192"],
      ["020000", "8192"],
      ["  12288\n", "12288"],
    ];
    for (const [v, out] of cases) {
      s.write("/a", "memory.limit_in_bytes", v);
      expect(s.read("/a", "memory.limit_in_bytes")).toBe(`${out}\n`);
    }
  });

  it.each(["abc", "", "12Q", "1.5M", "-2", "M", "max"])("answers EINVAL to %j in v1", (v) => {
    const s = new Sim({ model: "v4.5" });
    s.mkdir("/a");
    expect(errno(() => s.write("/a", "memory.limit_in_bytes", v))).toBe("EINVAL");
    expect(s.read("/a", "memory.limit_in_bytes")).toBe("9223372036854771712\n");
  });

  it("refuses limits on the root with EINVAL", () => {
    const s = new Sim({ model: "v3.8" });
    expect(errno(() => s.write("/", "memory.limit_in_bytes", "1M"))).toBe("EINVAL");
    expect(errno(() => s.write("/", "memory.kmem.limit_in_bytes", "1M"))).toBe("EINVAL");
    expect(errno(() => s.write("/", "memory.force_empty", "0"))).toBe("EINVAL");
    expect(errno(() => s.write("/", "memory.oom_control", "1"))).toBe("EINVAL");
  });

  it("refuses a v1 limit below unreclaimable usage with EBUSY and keeps the old one", () => {
    const s = new Sim({ model: "v4.5" });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.pages(pid, "anon", 8 * 4096);
    expect(errno(() => s.write("/a", "memory.limit_in_bytes", "16K"))).toBe("EBUSY");
    expect(s.read("/a", "memory.limit_in_bytes")).toBe("9223372036854771712\n");
  });

  it("shrinks page cache to honour a lower v1 limit", () => {
    const s = new Sim({ model: "v3.8" });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.pages(pid, "file", 64 * 4096);
    s.write("/a", "memory.limit_in_bytes", "128K");
    expect(s.num("/a", "memory.usage_in_bytes")).toBeLessThanOrEqual(32 * 4096);
    expect(s.read("/a", "memory.limit_in_bytes")).toBe("131072\n");
  });

  it("resets max_usage to the current usage and failcnt to 0 on any write", () => {
    // exact accounting: a failed 32-page batch would bump failcnt on its own
    const s = new Sim({ model: "v4.5", chargeBatchPages: 1 });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.write("/a", "memory.limit_in_bytes", "8K");
    s.pages(pid, "anon", 4096);
    const r = s.pages(pid, "anon", 2 * 4096, "GFP_NOWAIT");
    expect(r.error).toBe("ENOMEM");
    expect(s.read("/a", "memory.failcnt")).toBe("1\n");
    expect(s.read("/a", "memory.max_usage_in_bytes")).toBe("8192\n");
    s.ex({ op: "freePages", pid, kind: "anon", bytes: 4096 });
    s.write("/a", "memory.max_usage_in_bytes", "0");
    s.write("/a", "memory.failcnt", "0");
    expect(s.read("/a", "memory.max_usage_in_bytes")).toBe("4096\n");
    expect(s.read("/a", "memory.failcnt")).toBe("0\n");
  });
});

describe("v2 limits", () => {
  it("prints max for unlimited and takes max, sizes and suffixes, rounding down", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    for (const f of ["memory.max", "memory.high"]) expect(s.read("/a", f)).toBe("max\n");
    for (const f of ["memory.min", "memory.low"]) expect(s.read("/a", f)).toBe("0\n");
    s.write("/a", "memory.max", "1");
    expect(s.read("/a", "memory.max")).toBe("0\n");
    s.write("/a", "memory.max", "10M");
    expect(s.read("/a", "memory.max")).toBe("10485760\n");
    s.write("/a", "memory.max", "max");
    expect(s.read("/a", "memory.max")).toBe("max\n");
    s.write("/a", "memory.low", "5000");
    expect(s.read("/a", "memory.low")).toBe("4096\n");
  });

  it.each(["-1", "MAX", "1.0", "10X", ""])("answers EINVAL to %j in memory.max", (v) => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    expect(errno(() => s.write("/a", "memory.max", v))).toBe("EINVAL");
  });

  it("has no memory.max, memory.current or memory.events on the root (ENOENT)", () => {
    const s = new Sim({ model: "v5.9" });
    for (const f of ["memory.max", "memory.current", "memory.events", "memory.low", "memory.oom.group"])
      expect(errno(() => s.read("/", f))).toBe("ENOENT");
    expect(errno(() => s.write("/", "memory.max", "1M"))).toBe("ENOENT");
    expect(s.read("/", "memory.stat").startsWith("anon 0\n")).toBe(true);
  });

  it("keeps each version's files apart (ENOENT across versions)", () => {
    const v2 = new Sim({ model: "v5.9" });
    v2.mkdir("/a");
    expect(errno(() => v2.read("/a", "memory.limit_in_bytes"))).toBe("ENOENT");
    const v1 = new Sim({ model: "v4.5" });
    v1.mkdir("/a");
    expect(errno(() => v1.read("/a", "memory.max"))).toBe("ENOENT");
  });

  it("installs memory.max below usage at once and reclaims page cache down to it", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.pages(pid, "file", 10 * MiB);
    s.write("/a", "memory.max", "4M");
    expect(s.read("/a", "memory.max")).toBe("4194304\n");
    expect(s.num("/a", "memory.current")).toBeLessThanOrEqual(4 * MiB);
    expect(s.read("/a", "memory.events")).toContain("oom 0\n");
  });

  it("takes memory.oom.group 0/1 only", () => {
    const s = new Sim({ model: "v5.9" });
    s.mkdir("/a");
    s.write("/a", "memory.oom.group", "1");
    expect(s.read("/a", "memory.oom.group")).toBe("1\n");
    expect(errno(() => s.write("/a", "memory.oom.group", "2"))).toBe("EINVAL");
  });
});

describe("v1 control files", () => {
  it("changes use_hierarchy only without children and under a non-hierarchical parent", () => {
    const s = new Sim({ model: "v3.8" });
    s.mkdir("/a", "/a/b");
    expect(s.read("/a", "memory.use_hierarchy")).toBe("0\n");
    expect(errno(() => s.write("/a", "memory.use_hierarchy", "1"))).toBe("EBUSY");
    s.mkdir("/c");
    s.write("/c", "memory.use_hierarchy", "1");
    s.mkdir("/c/d");
    expect(s.read("/c/d", "memory.use_hierarchy")).toBe("1\n");
    expect(errno(() => s.write("/c/d", "memory.use_hierarchy", "0"))).toBe("EINVAL");
    expect(errno(() => s.write("/c", "memory.use_hierarchy", "2"))).toBe("EINVAL");
  });

  it("refuses use_hierarchy=0 from 5.11 on (v5.9 model)", () => {
    const s = new Sim({ model: "v5.9", cgroupVersion: 1 });
    s.mkdir("/a");
    expect(s.read("/a", "memory.use_hierarchy")).toBe("1\n");
    expect(errno(() => s.write("/a", "memory.use_hierarchy", "0"))).toBe("EINVAL");
    s.write("/a", "memory.use_hierarchy", "1");
  });

  it("takes move_charge_at_immigrate below 4 only", () => {
    const s = new Sim({ model: "v4.5" });
    s.mkdir("/a");
    s.write("/a", "memory.move_charge_at_immigrate", "3");
    expect(s.read("/a", "memory.move_charge_at_immigrate")).toBe("3\n");
    expect(errno(() => s.write("/a", "memory.move_charge_at_immigrate", "4"))).toBe("EINVAL");
  });

  it("refuses force_empty with tasks in 3.x and empties page cache otherwise", () => {
    const s = new Sim({ model: "v3.8" });
    s.mkdir("/a");
    const pid = s.spawn("/a");
    s.pages(pid, "file", 5 * 4096);
    expect(errno(() => s.write("/a", "memory.force_empty", "0"))).toBe("EBUSY");
    s.ex({ op: "moveTask", pid, cgroup: "/" });
    s.write("/a", "memory.force_empty", "0");
    expect(s.read("/a", "memory.usage_in_bytes")).toBe("0\n");
  });
});

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Simulation } from "../../src/engine/simulation.js";

// The v6.18 model against the real kernel this runs on (root, a cgroup v1 memory controller at
// /sys/fs/cgroup/memory): a new cgroup's statistics charged to its parent (memcg-alloc.ts) and v1
// socket memory (sock-mem.ts). Creates and removes its own cgroups only; moves only the processes
// it starts. Run with MEMCG_SIM_KERNEL_TESTS=1.

const ROOT = "/sys/fs/cgroup/memory";
const PAGE = 4096;
const read = (cg: string, f: string) => Number(readFileSync(`${cg}/${f}`, "utf8").trim());
/** num_possible_cpus(): the percpu charge is per possible CPU (/sys/devices/system/cpu/possible, e.g. "0-1"). */
function possibleCpus(): number {
  let n = 0;
  for (const part of readFileSync("/sys/devices/system/cpu/possible", "utf8").trim().split(",")) {
    const [a, b] = part.split("-").map(Number);
    n += (b ?? a) - a + 1;
  }
  return n;
}
function removeTree(cg: string, children: string[]): void {
  for (const c of children) if (existsSync(`${cg}/${c}`)) rmdirSync(`${cg}/${c}`);
  for (let i = 0; i < 50 && existsSync(cg); i++)
    try {
      rmdirSync(cg);
    } catch {
      spawnSync("sleep", ["0.1"]);
    }
}

describe.runIf(process.env.MEMCG_SIM_KERNEL_TESTS === "1")("v6.18 against this kernel (cgroup v1)", () => {
  it("a child cgroup's statistics are charged to its parent: the parent's kmem after 1 and 11 children, as the model says", () => {
    const cpus = possibleCpus();
    const cg = `${ROOT}/memcg-sim-test-percpu-${process.pid}`;
    const kids = Array.from({ length: 11 }, (_, i) => `c${i + 1}`);
    const sim = new Simulation({ model: "v6.18", cgroupVersion: 1, cpuCount: cpus });
    sim.execute({ op: "createCgroup", path: "/p" });
    mkdirSync(cg);
    try {
      const real: number[] = [];
      const model: number[] = [];
      for (const [i, k] of kids.entries()) {
        mkdirSync(`${cg}/${k}`);
        sim.execute({ op: "createCgroup", path: `/p/${k}` });
        if (i === 0 || i === kids.length - 1) {
          real.push(read(cg, "memory.kmem.usage_in_bytes"));
          model.push(Number(sim.readFile("/p", "memory.kmem.usage_in_bytes")));
        }
      }
      // each CPU's obj stock may hold a page's worth of spare bytes where the mkdirs ran
      for (const [i, r] of real.entries())
        expect(Math.abs(r - model[i]), `${r} vs ${model[i]}`).toBeLessThanOrEqual(cpus * PAGE);
      // the bytes themselves: 11 children's statistics in whole pages
      expect(real[1] - real[0]).toBeGreaterThanOrEqual(model[1] - model[0] - cpus * PAGE);
    } finally {
      removeTree(cg, kids);
    }
  });

  it("v1 socket memory: no tcp accounting until memory.kmem.tcp.limit_in_bytes is written (-1 too), then only the tcp counter", () => {
    const cg = `${ROOT}/memcg-sim-test-tcp-${process.pid}`;
    // a child joins the cgroup, queues ~2 MiB on a loopback TCP connection nobody reads, prints
    // the bytes sent and the cgroup's files, and exits
    const child = `
      const fs = require("node:fs"), net = require("node:net");
      fs.writeFileSync(process.argv[1] + "/cgroup.procs", String(process.pid));
      const srv = net.createServer((s) => s.pause()).listen(0, "127.0.0.1", () => {
        const c = net.connect(srv.address().port, "127.0.0.1", () => {
          let sent = 0;
          const buf = Buffer.alloc(65536, 120);
          const more = () => { while (sent < 2 << 20) { sent += buf.length; if (!c.write(buf)) break; } };
          more();
          setTimeout(() => {
            const r = (f) => Number(fs.readFileSync(process.argv[1] + "/" + f, "utf8"));
            console.log(JSON.stringify({ tcp: r("memory.kmem.tcp.usage_in_bytes"), usage: r("memory.usage_in_bytes") }));
            process.exit(0);
          }, 700);
        });
      });`;
    const run = (activate: boolean) => {
      mkdirSync(cg);
      try {
        if (activate) writeFileSync(`${cg}/memory.kmem.tcp.limit_in_bytes`, "-1");
        const r = spawnSync(process.execPath, ["-e", child, cg], { encoding: "utf8", timeout: 20_000 });
        expect(r.status, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { tcp: number; usage: number };
        return {
          ...out,
          tcpAfter: read(cg, "memory.kmem.tcp.usage_in_bytes"),
          max: read(cg, "memory.kmem.tcp.max_usage_in_bytes"),
        };
      } finally {
        removeTree(cg, []);
      }
    };
    const off = run(false);
    const on = run(true);
    expect(off.tcp).toBe(0);
    expect(on.tcp).toBeGreaterThan(0);
    // not on the memory counter: the socket pages are not in memory.usage_in_bytes
    expect(on.usage).toBeLessThan(on.tcp);
    expect([on.tcpAfter, on.max]).toEqual([0, on.max]);
    // the model: the same writes, the same outcome
    const sim = new Simulation({ model: "v6.18", cgroupVersion: 1, cpuCount: 1, chargeBatchPages: 1 });
    sim.execute({ op: "createCgroup", path: "/a" });
    const pid = (sim.execute({ op: "spawnTask", cgroup: "/a" }) as { pid: number }).pid;
    const pages = Math.ceil(on.tcp / PAGE);
    sim.execute({ op: "chargeSocketPages", pid, pages });
    expect(sim.readFile("/a", "memory.kmem.tcp.usage_in_bytes")).toBe("0\n");
    sim.execute({ op: "unchargeSocketPages", pid, pages });
    sim.execute({ op: "writeFile", cgroup: "/a", file: "memory.kmem.tcp.limit_in_bytes", value: "-1" });
    sim.execute({ op: "chargeSocketPages", pid, pages });
    expect(sim.readFile("/a", "memory.kmem.tcp.usage_in_bytes")).toBe(`${pages * PAGE}\n`);
    expect(sim.readFile("/a", "memory.usage_in_bytes")).toBe("0\n");
  });
});

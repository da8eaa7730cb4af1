import { describe, expect, it } from "vitest";
import { build, expectProblem, json } from "./helpers.js";

/** chargeSocketPages / unchargeSocketPages over REST (docs/API.md §6, audit row 23). */
describe("socket memory routes", () => {
  it("charges and gives back a task's socket pages (v6.18, cgroup v2, one CPU)", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", {
      name: "t",
      config: { model: "v6.18", cgroupVersion: 2, cpuCount: 1 },
    });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    const pid = json(await call("POST", "/v1/instances/t/tasks", { cgroup: "/a" })).pid;
    const r = await call("POST", "/v1/instances/t/sockets/charge", { pid, pages: 10 });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toEqual({
      charged: true,
      accounted: true,
      cgroup: "/a",
      chargedBytes: 40960,
      socketBytes: 40960,
      reclaimedBytes: 0,
      oomKilledPids: [],
    });
    const st = (await call("GET", "/v1/instances/t/fs/a/memory.stat")).body;
    expect(st).toContain("\nsock 40960\n");
    // MEMCG_CHARGE_BATCH 64: the rest of the batch sits in the CPU's stock
    expect((await call("GET", "/v1/instances/t/fs/a/memory.current")).body).toBe("262144\n");
    const u = await call("POST", "/v1/instances/t/sockets/uncharge", { pid, pages: 10 });
    expect(json(u)).toEqual({ unchargedBytes: 40960, socketBytes: 0 });
    expect((await call("GET", "/v1/instances/t/fs/a/memory.current")).body).toBe("262144\n");
  });

  it("refuses malformed requests with 400 problem+json", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "v6.18" } });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    const pid = json(await call("POST", "/v1/instances/t/tasks", { cgroup: "/a" })).pid;
    expectProblem(
      await call("POST", "/v1/instances/t/sockets/charge", { pid, pages: 0 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/sockets/charge", { pid, pages: 1, gfp: "GFP_KERNEL" }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/sockets/uncharge", { pid, pages: 1 }),
      400,
      "INVALID_ARGUMENT",
    );
    expectProblem(
      await call("POST", "/v1/instances/t/sockets/charge", { pid: 999, pages: 1 }),
      404,
      "TASK_NOT_FOUND",
    );
  });

  it("runs in a batch", async () => {
    const { call } = await build();
    await call("POST", "/v1/instances", { name: "t", config: { model: "v4.5", cgroupVersion: 1 } });
    await call("POST", "/v1/instances/t/cgroups", { path: "/a" });
    const pid = json(await call("POST", "/v1/instances/t/tasks", { cgroup: "/a" })).pid;
    const r = json(
      await call("POST", "/v1/instances/t/batch", {
        commands: [
          { op: "writeFile", cgroup: "/a", file: "memory.kmem.tcp.limit_in_bytes", value: "8192" },
          { op: "chargeSocketPages", pid, pages: 3 },
          { op: "unchargeSocketPages", pid, pages: 3 },
        ],
      }),
    );
    expect(r.results[1].result).toMatchObject({ charged: false, chargedBytes: 12288 });
    expect((await call("GET", "/v1/instances/t/fs/a/memory.kmem.tcp.failcnt")).body).toBe("1\n");
    expect((await call("GET", "/v1/instances/t/fs/a/memory.kmem.tcp.max_usage_in_bytes")).body).toBe(
      "12288\n",
    );
    expect((await call("GET", "/v1/instances/t/fs/a/memory.kmem.tcp.usage_in_bytes")).body).toBe("0\n");
  });
});

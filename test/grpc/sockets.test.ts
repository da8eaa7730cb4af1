import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Obj, plain, startTestServer, type TestServer } from "./helpers.js";

/** ChargeSocketPages / UnchargeSocketPages over gRPC (audit row 23). */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe("socket memory RPCs", () => {
  it("round-trips a charge and an uncharge (v4.5, cgroup v2, one CPU)", async () => {
    await t.rpc("CreateInstance", { name: "s", config: { model: "v4.5", cgroupVersion: 2, cpuCount: 1 } });
    await t.rpc("CreateCgroup", { instance: "s", path: "/a" });
    const task = plain((await t.rpc("SpawnTask", { instance: "s", cgroup: "/a" })).task) as Obj;
    const pid = task.pid as number;
    const r = plain(await t.rpc("ChargeSocketPages", { instance: "s", pid, pages: 10 })) as Obj;
    expect(r).toMatchObject({
      charged: true,
      accounted: true,
      cgroup: "/a",
      chargedBytes: 40960,
      socketBytes: 40960,
    });
    const read = async () =>
      (plain(await t.rpc("ReadFile", { instance: "s", cgroup: "/a", file: "memory.current" })) as Obj).value;
    // MEMCG_CHARGE_BATCH 32: the rest of the batch is stocked
    expect(await read()).toBe("131072\n");
    const u = plain(await t.rpc("UnchargeSocketPages", { instance: "s", pid, pages: 10 })) as Obj;
    expect(u).toMatchObject({ unchargedBytes: 40960 });
    // 4.5 mem_cgroup_uncharge_skmem: page_counter_uncharge, the stock keeps its 22 pages
    expect(await read()).toBe("90112\n");
    const e = await t.rpcError("ChargeSocketPages", { instance: "s", pid, pages: 0 });
    expect(e).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, errorCode: "INVALID_ARGUMENT" });
  });
});

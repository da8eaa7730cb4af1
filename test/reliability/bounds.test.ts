import { connect, type Socket } from "node:net";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { DEFAULT_SERVER_LIMITS, Registry } from "../../src/registry.js";
import { parseServerConfig } from "../../src/server-config.js";
import { startServer } from "../../src/server.js";

// Issue "Durable and bounded" §5: per-instance limits answered 429, but nothing bounded the total
// (64 × 20k cgroups took 3.35 GB) or the connections (~20k idle ones exhausted the fds).
describe("server-wide budgets", () => {
  it("answers 429 naming the budget once all instances together would pass it, and changes nothing", () => {
    const registry = new Registry({
      ...DEFAULT_SERVER_LIMITS,
      maxTotalCgroups: 5,
      maxTotalLiveObjects: 1000,
    });
    registry.create("a");
    registry.create("b");
    // each instance has its root: 2 cgroups
    registry.execute("a", { op: "createCgroup", path: "/x" });
    registry.execute("b", { op: "createCgroup", path: "/y" });
    registry.execute("b", { op: "createCgroup", path: "/z" });
    let err: { code?: string; details?: unknown; message?: string } = {};
    try {
      registry.execute("a", { op: "createCgroup", path: "/w" });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe("LIMIT_EXCEEDED");
    expect(err.details).toEqual({ limit: "maxTotalCgroups", value: 5 });
    expect(err.message).toBe("the server holds 5 cgroups in all instances, the budget is 5");
    expect(registry.get("a").instance.cgroupCount).toBe(2);

    registry.execute("a", { op: "createCache", name: "c", objectSizeBytes: 64 });
    registry.execute("b", { op: "createCache", name: "c", objectSizeBytes: 64 });
    registry.execute("a", { op: "allocObjects", cgroup: "/x", cache: "c", count: 600 });
    expect(() => registry.execute("b", { op: "allocObjects", cgroup: "/y", cache: "c", count: 401 })).toThrow(
      "the server holds 600 live objects in all instances; 401 more would pass the budget of 1000",
    );
    expect(registry.get("b").instance.slab.liveObjects).toBe(0);
    registry.execute("b", { op: "allocObjects", cgroup: "/y", cache: "c", count: 400 });
    expect(registry.get("b").instance.slab.liveObjects).toBe(400);
  });
});

describe("HTTP connection bounds", () => {
  it("closes connections beyond maxConnections at once, and serves again when they go", async () => {
    const config = parseServerConfig({
      MEMCG_SIM_HTTP_PORT: "0",
      MEMCG_SIM_GRPC_PORT: "0",
      MEMCG_SIM_DATA_DIR: "none",
      MEMCG_SIM_DEMO: "0",
      MEMCG_SIM_MAX_CONNECTIONS: "8",
    });
    const server = await startServer(config, pino({ level: "silent" }));
    const sockets: Socket[] = [];
    try {
      const open = () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(server.httpPort, "127.0.0.1", () => resolve(s));
          s.on("error", reject);
        });
      for (let i = 0; i < 8; i++) sockets.push(await open());
      // the 9th is accepted by the kernel and closed by the server without an answer
      const extra = await open();
      let received = "";
      extra.on("data", (b) => {
        received += b.toString();
      });
      await new Promise<void>((resolve) => {
        extra.on("close", () => resolve());
        extra.write("GET /livez HTTP/1.1\r\nhost: x\r\n\r\n");
      });
      expect(received).toBe("");
      for (const s of sockets.splice(0)) s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const ok = await fetch(`http://127.0.0.1:${server.httpPort}/livez`);
      expect(ok.status).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });
});

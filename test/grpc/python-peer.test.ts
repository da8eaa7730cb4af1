import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers.js";

const PYTHON = "/usr/bin/python3";
const CLIENT = join(import.meta.dirname, "py", "client.py");

/**
 * Debian's python3-grpcio / python3-grpc-tools install for /usr/bin/python3 only (not for a pyenv or
 * venv python3 earlier on PATH).
 * CI installs them; without them this peer cannot run, and the test says so instead of failing.
 */
const probe = spawnSync(PYTHON, ["-c", "import grpc, grpc_tools"], { encoding: "utf8", timeout: 30_000 });
const hasPythonGrpc = probe.status === 0;
const SKIP_REASON = `skipped: ${PYTHON} cannot import grpc/grpc_tools (apt-get install python3-grpcio python3-grpc-tools)`;
if (!hasPythonGrpc) console.warn(`python-peer.test.ts ${SKIP_REASON}`);

describe.skipIf(!hasPythonGrpc)(
  `an independent Python grpcio client${hasPythonGrpc ? "" : ` (${SKIP_REASON})`}`,
  () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer();
    });
    afterAll(async () => {
      await t.close();
    });

    it("checks health, creates an instance, allocates objects and reads a cgroupfs file", async () => {
      // async: the server answering the peer runs in this process, so its event loop must stay free
      const { stdout } = await promisify(execFile)(PYTHON, [CLIENT, "--address", t.address], {
        timeout: 60_000,
      });
      const out = JSON.parse(stdout);
      expect(out.health).toBe("SERVING");
      expect(out.health_service).toBe("SERVING");
      expect(out.instance).toMatchObject({
        name: "py",
        config: { model: "v5.9", cgroup_version: 2, memory_bytes: "17179869184", seed: "7" },
        cgroup_count: "1",
      });
      expect(out.refused).toEqual({
        code: "NOT_FOUND",
        details: "cache nope not found",
        error_code: "CACHE_NOT_FOUND",
      });
      expect(out.alloc).toMatchObject({ allocated_count: "100" });
      expect(out.alloc.object_ids).toHaveLength(100);
      expect(out.error_present).toBe(false);
      // the Python peer's view equals the server's own state, byte for byte
      const file = t.registry.get("py").instance.readFile("/app", "memory.current");
      expect(out.memory_current).toBe(file);
      expect(out.memory_current).toMatch(/^[1-9]\d*\n$/);
    });
  },
);

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

/**
 * `npm start` as the README runs it (issue #18, item 7): SIGTERM to the pid npm start owns (npm's
 * own) must reach the server, which drains and exits, freeing both ports. With a start script that
 * ran the server under a shell or a loader (`tsx src/main.ts`), npm exited and the server kept
 * both ports. Builds dist/ first (`npm run build`, as the README does).
 */
const ROOT = new URL("../../", import.meta.url).pathname;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let npm: ChildProcess | null = null;
let serverPid = 0;
afterAll(() => {
  // only if the test failed midway: end what it started, by pid
  if (npm?.exitCode === null) npm.kill("SIGKILL");
  if (serverPid > 0 && alive(serverPid)) process.kill(serverPid, "SIGKILL");
});

describe("npm start", () => {
  it("drains and frees both ports when npm's own pid gets SIGTERM", async () => {
    await promisify(execFile)("npm", ["run", "--silent", "build"], { cwd: ROOT, timeout: 120_000 });
    const child = spawn("npm", ["start"], {
      cwd: ROOT,
      env: {
        ...process.env,
        MEMCG_SIM_HTTP_PORT: "0",
        MEMCG_SIM_GRPC_PORT: "0",
        MEMCG_SIM_DATA_DIR: "none",
        MEMCG_SIM_DEMO: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    npm = child;
    let out = "";
    child.stderr?.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const listening = await new Promise<{ pid: number; httpPort: number; grpcPort: number }>(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start-up line within 60 s:\n${out}`)), 60_000);
        child.stdout?.on("data", (d) => {
          out += d;
          for (const line of out.split("\n")) {
            if (!line.includes('"httpPort"')) continue;
            clearTimeout(timer);
            resolve(JSON.parse(line));
          }
        });
      },
    );
    serverPid = listening.pid;
    expect(serverPid).not.toBe(child.pid);
    expect((await fetch(`http://127.0.0.1:${listening.httpPort}/readyz`)).status).toBe(200);
    expect(await portIsFree(listening.httpPort)).toBe(false);
    expect(await portIsFree(listening.grpcPort)).toBe(false);

    const t0 = Date.now();
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    // docs/API.md §1 and the README: drained within the 10 s shutdown bound
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(alive(serverPid)).toBe(false);
    expect(await portIsFree(listening.httpPort)).toBe(true);
    expect(await portIsFree(listening.grpcPort)).toBe(true);
    expect(out).toContain('"signal":"SIGTERM"');
    expect(out).toContain('"msg":"stopped"');
  }, 180_000);
});

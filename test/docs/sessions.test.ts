import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { parseServerConfig } from "../../src/server-config.js";
import { startServer } from "../../src/server.js";

/**
 * The curl sessions of the README and docs/REST.md run verbatim (issue #18, item 6 and "Done
 * when"): every `$ ` line of a session block goes to bash, against a real server started as
 * `npm start` starts it (fresh, in memory, no demo), and prints exactly what the document shows.
 * The only change is the port: `127.0.0.1:8080` / `:18080` become the test server's port.
 */
const ROOT = join(import.meta.dirname, "..", "..");

interface Step {
  command: string;
  output: string;
}

/** The `$ ` commands of a document's code blocks and the lines each printed. */
function sessionSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  for (const block of markdown.matchAll(/^```\n([\s\S]*?)^```$/gm)) {
    let current: Step | null = null;
    for (const line of block[1].split("\n")) {
      if (line.startsWith("$ ")) {
        current = { command: line.slice(2), output: "" };
        steps.push(current);
      } else if (current !== null) current.output += `${line}\n`;
    }
  }
  // blank lines between steps are layout, not output
  for (const s of steps) s.output = s.output.replace(/\n+$/, "");
  return steps;
}

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

async function runSession(
  doc: string,
  env: Record<string, string>,
): Promise<{ steps: Step[]; got: string[] }> {
  const config = parseServerConfig(
    { MEMCG_SIM_HTTP_PORT: "0", MEMCG_SIM_GRPC_PORT: "0", MEMCG_SIM_DATA_DIR: "none", MEMCG_SIM_DEMO: "0" },
    [],
  );
  const server = await startServer(config, pino({ level: "silent" }));
  running.push(server);
  const steps = sessionSteps(readFileSync(join(ROOT, doc), "utf8"));
  const port = String(server.httpPort);
  const script = steps
    .map(
      (s, i) =>
        `printf '\\n@@STEP ${i}@@\\n'\n${s.command.replace(/127\.0\.0\.1:1?8080/g, `127.0.0.1:${port}`)}`,
    )
    .join("\n");
  const vars = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace("PORT", port)]));
  const { stdout } = await promisify(execFile)("bash", ["-c", script], {
    env: { ...process.env, ...vars },
    timeout: 60_000,
    maxBuffer: 4 * 1024 * 1024,
  });
  const got = stdout
    .split(/\n@@STEP \d+@@\n/)
    .slice(1)
    .map((o) => o.replace(/\n+$/, ""));
  return { steps, got };
}

describe("documented sessions, run verbatim", () => {
  it("README.md: every curl line prints what the README shows", async () => {
    const { steps, got } = await runSession("README.md", {});
    expect(steps.length).toBeGreaterThanOrEqual(20);
    expect(steps[0].command).toMatch(/^B=http:\/\/127\.0\.0\.1:8080\/v1\/instances; J=/);
    for (const [i, s] of steps.entries())
      expect(`$ ${s.command}\n${got[i]}`).toBe(`$ ${s.command}\n${s.output}`);
  }, 90_000);

  it("docs/REST.md: every curl line prints what the page shows", async () => {
    const { steps, got } = await runSession("docs/REST.md", { B: "http://127.0.0.1:PORT/v1/instances" });
    expect(steps.length).toBeGreaterThanOrEqual(15);
    for (const [i, s] of steps.entries())
      expect(`$ ${s.command}\n${got[i]}`).toBe(`$ ${s.command}\n${s.output}`);
  }, 90_000);

  it("reads a session as commands and their output lines", () => {
    const md = "text\n```\n$ echo a\na\n\n$ printf 'x\\ny\\n'\nx\ny\n```\n```\nnot a session\n```\n";
    expect(sessionSteps(md)).toEqual([
      { command: "echo a", output: "a" },
      { command: "printf 'x\\ny\\n'", output: "x\ny" },
    ]);
  });
});

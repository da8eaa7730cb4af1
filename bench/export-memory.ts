/**
 * `npx tsx bench/export-memory.ts [--sizes 1000000,3000000] [--compact on|off|both]` (issue #20 §4,
 * "exports stream with flat memory"): a data directory holding one instance with N journaled
 * commands (bench/journal-fixture.ts: cheap commands, a state every 10,000 commands), the server
 * started on it (`node dist/src/main.js`; run `npm run build` first), then one
 * `GET /v1/instances/bench/export` read to its end. Prints the export's size and time, and the
 * server's RSS before it and its peak (VmHWM of /proc/PID/status) after it.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildJournal, kill, startServerOn, untilReady } from "./journal-fixture.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const sizes = (arg("--sizes") ?? "1000000,3000000").split(",").map(Number);
const modes = { on: [true], off: [false], both: [true, false] }[arg("--compact") ?? "both"];
if (modes === undefined) throw new Error("--compact must be on, off or both");

function memKiB(pid: number, key: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no ${key} for ${pid}`);
  return Number(m[1]);
}

async function exportOnce(dir: string, compact: boolean) {
  const { child, port } = startServerOn(dir, compact);
  try {
    await untilReady(child, port);
    await new Promise((r) => setTimeout(r, 500));
    const rssBefore = memKiB(child.pid!, "VmRSS");
    const hwmBefore = memKiB(child.pid!, "VmHWM");
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/instances/bench/export`);
    if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    let head = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (head.length < 200) head += Buffer.from(chunk).toString("utf8", 0, Math.min(chunk.length, 200));
      bytes += chunk.length;
    }
    const ms = performance.now() - t0;
    const version = /"version":\s*(\d+)/.exec(head)?.[1] ?? "?";
    return { bytes, ms, version, rssBefore, hwmBefore, hwmAfter: memKiB(child.pid!, "VmHWM") };
  } finally {
    await kill(child);
  }
}

const MiB = (kib: number) => (kib / 1024).toFixed(0);
console.log(
  "N commands | compact | export version | export MB | export s | RSS before MiB | peak before MiB | peak after MiB",
);
for (const n of sizes)
  for (const compact of modes) {
    const dir = mkdtempSync(join(tmpdir(), "memcg-sim-export-"));
    try {
      buildJournal(dir, n, compact, "close");
      const r = await exportOnce(dir, compact);
      console.log(
        `${n} | ${compact ? "on" : "off"} | ${r.version} | ${(r.bytes / 1e6).toFixed(1)} | ${(r.ms / 1000).toFixed(2)} | ${MiB(r.rssBefore)} | ${MiB(r.hwmBefore)} | ${MiB(r.hwmAfter)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

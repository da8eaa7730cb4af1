import type { Command } from "../../src/engine/commands.js";
import type { InstanceConfigInput } from "../../src/engine/config.js";
import { Simulation } from "../../src/engine/simulation.js";

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const PAGE = 4096;

/** A small driver over Simulation.execute with typed shortcuts; every call goes through the command path. */
export class Sim {
  readonly sim: Simulation;
  constructor(config?: InstanceConfigInput) {
    this.sim = new Simulation(config);
  }
  // biome-ignore lint/suspicious/noExplicitAny: results are heterogenous JSON
  ex(cmd: Command): any {
    return this.sim.execute(cmd);
  }
  mkdir(...paths: string[]): void {
    for (const p of paths) this.ex({ op: "createCgroup", path: p });
  }
  rmdir(path: string): void {
    this.ex({ op: "removeCgroup", path });
  }
  spawn(cgroup: string, extra: { pid?: number; cpu?: number; oomScoreAdj?: number } = {}): number {
    return this.ex({ op: "spawnTask", cgroup, ...extra }).pid;
  }
  write(cgroup: string, file: string, value: string): void {
    this.ex({ op: "writeFile", cgroup, file, value });
  }
  read(cgroup: string, file: string): string {
    return this.sim.readFile(cgroup, file);
  }
  num(cgroup: string, file: string): number {
    return Number(this.read(cgroup, file).trim());
  }
  /** One `memory.stat` key's value; undefined when the era's file has no such key. */
  stat(cgroup: string, key: string): number | undefined {
    const line = this.read(cgroup, "memory.stat")
      .split("\n")
      .find((l) => l.startsWith(`${key} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  }
  cache(
    name: string,
    objectSizeBytes: number,
    extra: Partial<Extract<Command, { op: "createCache" }>> = {},
  ): void {
    this.ex({ op: "createCache", name, objectSizeBytes, ...extra });
  }
  dentry(extra: Partial<Extract<Command, { op: "createCache" }>> = {}): void {
    this.cache("dentry", 192, { flags: { account: true, reclaimAccount: true }, ...extra });
  }
  alloc(cache: string, who: { pid: number } | { cgroup: string }, count = 1, gfp?: string) {
    return this.ex({ op: "allocObjects", cache, ...who, count, gfp, returnObjectIds: true });
  }
  pages(pid: number, kind: "anon" | "file", bytes: number, gfp?: string) {
    return this.ex({ op: "allocPages", pid, kind, bytes, gfp });
  }
  cg(path: string) {
    return this.sim.lookup(path, true);
  }
}

/** `values_close` of tools/testing/selftests/cgroup/cgroup_util.h: |a − b| ≤ (a + b) / 100 × err. */
export function valuesClose(a: number, b: number, err: number): boolean {
  return Math.abs(a - b) <= Math.floor((a + b) / 100) * err;
}

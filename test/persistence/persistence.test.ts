import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/engine/commands.js";
import type { InstanceConfigInput } from "../../src/engine/config.js";
import { Simulation } from "../../src/engine/simulation.js";
import { DB_FILE, dataDirFromEnv, Persistence, stateDigest } from "../../src/persistence/index.js";
import { commandCrc } from "../../src/persistence/store.js";
import { Registry } from "../../src/registry.js";
import { server, tempDirs } from "./helpers.js";
import { observe, randomCommands, setupCommands } from "./workload.js";

const dir = tempDirs();

const CONFIGS: [string, InstanceConfigInput, 1 | 2][] = [
  ["rfc-2012", { model: "rfc-2012", kmemIndependentAccounting: true, seed: 3 }, 1],
  ["v3.8", { model: "v3.8", cacheCreationDelayMs: 5 }, 1],
  ["v4.5", { model: "v4.5", cgroupVersion: 2, chargeBatchPages: 32 }, 2],
  ["v5.9", { model: "v5.9", memoryBytes: 256 * 1024 * 1024 }, 2],
];

describe("journal and restore", () => {
  it.each(CONFIGS)(
    "restores a %s instance to an identical state, which then answers identically",
    (_m, config, v) => {
      const d = dir();
      const a = server(d, { snapshotEveryCommands: 200 });
      a.registry.create("sim", config);
      a.registry.executeBatch("sim", setupCommands(v));
      const batch = a.registry.executeBatch("sim", randomCommands(1500, 42, v), false);
      a.persistence.flush();
      const before = observe(a.registry, "sim");
      const applied = a.registry.get("sim").instance.commandCount;
      expect(applied).toBe(10 + batch.executedCount);
      expect(batch.executedCount).toBeLessThan(1500); // some commands were refused: they must not be journaled
      a.persistence.close();

      const b = server(d, { snapshotEveryCommands: 200 });
      expect(b.report.instanceCount).toBe(1);
      expect(b.report.commandCount).toBe(applied);
      expect(b.report.failed).toEqual([]);
      expect(b.report.snapshotMismatches).toEqual([]);
      expect(b.report.snapshotsVerified).toBeGreaterThan(0);
      expect(observe(b.registry, "sim")).toEqual(before);

      // the restored instance continues exactly as the original (PRNG, pids, clocks, ids)
      const more = randomCommands(300, 43, v);
      expect(b.registry.executeBatch("sim", more, false)).toEqual(
        a.registry.executeBatch("sim", more, false),
      );
      expect(observe(b.registry, "sim")).toEqual(observe(a.registry, "sim"));
      b.persistence.close();
    },
  );

  // compaction off in the tests below that read the rows after a clean shutdown: its snapshot would
  // fold them into the state (compaction.test.ts covers what is kept with compaction on)
  it("journals only accepted commands, in the command language (compaction off: the rows stay after close)", () => {
    const d = dir();
    const a = server(d, { compact: false });
    a.registry.create("j");
    a.registry.execute("j", { op: "createCgroup", path: "/a" });
    expect(() => a.registry.execute("j", { op: "createCgroup", path: "/a" })).toThrow(/exists/);
    expect(() => a.registry.execute("j", { op: "exitTask", pid: 77 })).toThrow(/not found/);
    a.registry.execute("j", { op: "spawnTask", cgroup: "/a" });
    expect(a.persistence.commands("j")).toEqual([
      { op: "createCgroup", path: "/a" },
      { op: "spawnTask", cgroup: "/a" },
    ]);
    a.persistence.close();
    const raw = new Database(`${d}/${DB_FILE}`, { readonly: true });
    expect(raw.prepare("SELECT instance, seq, command FROM journal ORDER BY seq").all()).toEqual([
      { instance: "j", seq: 1, command: '{"op":"createCgroup","path":"/a"}' },
      { instance: "j", seq: 2, command: '{"op":"spawnTask","cgroup":"/a"}' },
    ]);
    raw.close();
  });

  it("commits a burst of one event-loop turn in one transaction without an explicit flush", async () => {
    const d = dir();
    const a = server(d);
    a.registry.create("g");
    a.registry.execute("g", { op: "createCache", name: "c", objectSizeBytes: 64 });
    await new Promise((r) => setImmediate(r));
    const commits = a.persistence.stats().commitCount;
    for (let i = 0; i < 1000; i++)
      a.registry.execute("g", { op: "allocObjects", cache: "c", cgroup: "/", count: 1 });
    expect(a.persistence.stats().pendingOpCount).toBe(1000);
    const durable = a.persistence.durable();
    await new Promise((r) => setImmediate(r));
    await durable;
    expect(a.persistence.stats()).toMatchObject({
      pendingOpCount: 0,
      commitCount: commits + 1,
      journaledCommandCount: 1001,
    });
    a.persistence.close();
  });

  it("truncates an instance's journal on reset (compaction off: the rows are read after the restart)", () => {
    const d = dir();
    const a = server(d, { compact: false });
    a.registry.create("r", { model: "v5.9", seed: 9 });
    a.registry.executeBatch("r", [...setupCommands(2), ...randomCommands(200, 1, 2)], false);
    a.persistence.flush();
    a.registry.reset("r");
    const after: Command[] = [
      { op: "createCgroup", path: "/z" },
      { op: "advanceClock", ms: 10 },
    ];
    for (const c of after) a.registry.execute("r", c);
    a.persistence.flush();
    const before = observe(a.registry, "r");
    a.persistence.close();

    const b = server(d, { compact: false });
    expect(b.report.commandCount).toBe(2);
    expect(b.persistence.commands("r")).toEqual(after);
    expect(observe(b.registry, "r")).toEqual(before);
    const fresh = new Simulation({ model: "v5.9", seed: 9 });
    for (const c of after) fresh.execute(c);
    expect(stateDigest(b.registry.get("r").instance)).toBe(stateDigest(fresh));
    b.persistence.close();
  });

  it("deletes an instance's rows on delete, and a recreated name starts from its new config (compaction off: the rows are read after the restart)", () => {
    const d = dir();
    const a = server(d, { compact: false });
    a.registry.create("gone", { model: "v3.8" });
    a.registry.create("kept", { model: "v4.5" });
    a.registry.execute("gone", { op: "createCgroup", path: "/old" });
    a.registry.execute("kept", { op: "createCgroup", path: "/k" });
    a.registry.create("again", { model: "rfc-2012" });
    a.registry.execute("again", { op: "createCgroup", path: "/first-life" });
    a.persistence.flush();
    a.registry.delete("gone");
    a.registry.delete("again");
    a.registry.create("again", { model: "v5.9" });
    a.registry.execute("again", { op: "createCgroup", path: "/second-life" });
    a.persistence.close();

    const raw = new Database(`${d}/${DB_FILE}`, { readonly: true });
    expect(raw.prepare("SELECT count(*) AS n FROM journal WHERE instance = 'gone'").get()).toEqual({ n: 0 });
    expect(raw.prepare("SELECT name FROM instances ORDER BY created_seq").pluck().all()).toEqual([
      "kept",
      "again",
    ]);
    raw.close();

    const b = server(d);
    expect(b.registry.list().map((e) => e.name)).toEqual(["again", "kept"]);
    expect(b.registry.get("again").instance.config.model).toBe("v5.9");
    expect(b.persistence.commands("again")).toEqual([{ op: "createCgroup", path: "/second-life" }]);
    expect(b.registry.get("kept").instance.readFile("/k", "memory.usage_in_bytes")).toBe("0\n");
    b.persistence.close();
  });

  it("reports a snapshot whose digest the replay no longer reproduces", () => {
    const d = dir();
    // digests only: with state files restore would start at the newest one and never replay past the older
    const a = server(d, { snapshotEveryCommands: 50, keepSnapshots: 2, saveState: false });
    a.registry.create("s", { model: "v5.9" });
    const cmds = [...setupCommands(2), ...randomCommands(400, 5, 2)];
    for (let i = 0; i < cmds.length; i += 20) {
      a.registry.executeBatch("s", cmds.slice(i, i + 20), false);
      a.persistence.flush();
    }
    a.persistence.close(); // close takes a final snapshot
    const raw = new Database(`${d}/${DB_FILE}`);
    const seqs = raw
      .prepare("SELECT seq FROM snapshots WHERE instance = 's' ORDER BY seq")
      .pluck()
      .all() as number[];
    expect(seqs.length).toBe(2); // pruned to keepSnapshots
    expect(seqs[1]).toBe(a.registry.get("s").instance.commandCount);
    raw.prepare("UPDATE snapshots SET digest = 'tampered' WHERE seq = ?").run(seqs[0]);
    raw.close();
    const b = server(d, { saveState: false });
    expect(b.report.snapshotsVerified).toBe(1);
    expect(b.report.snapshotMismatches).toEqual([{ name: "s", seq: seqs[0] }]);
    b.persistence.close();
  });

  it("leaves out an instance whose journal no longer replays, and loads the others (compaction off: the test appends to row 1)", () => {
    const d = dir();
    const a = server(d, { compact: false });
    a.registry.create("bad");
    a.registry.create("good");
    a.registry.execute("bad", { op: "createCgroup", path: "/a" });
    a.registry.execute("good", { op: "createCgroup", path: "/a" });
    a.persistence.close();
    // a row with a valid checksum that the engine refuses: what a behaviour change of the engine
    // would make of an old journal (corruption is caught by the checksums, integrity.test.ts)
    const raw = new Database(`${d}/${DB_FILE}`);
    const crc1 = raw
      .prepare("SELECT crc FROM journal WHERE instance = 'bad' AND seq = 1")
      .pluck()
      .get() as number;
    const cmd = '{"op":"removeCgroup","path":"/nope"}';
    raw
      .prepare("INSERT INTO journal (instance, seq, command, crc) VALUES ('bad', 2, ?, ?)")
      .run(cmd, commandCrc(crc1, 2, cmd));
    raw.close();
    const b = server(d);
    expect(b.report.instanceCount).toBe(1);
    expect(b.report.failed).toEqual([
      { name: "bad", seq: 2, error: expect.stringMatching(/cgroup \/nope not found/) },
    ]);
    expect(b.registry.list().map((e) => e.name)).toEqual(["good"]);
    b.persistence.close();
    // the rows of the instance that failed are kept for inspection
    const again = new Database(`${d}/${DB_FILE}`, { readonly: true });
    expect(again.prepare("SELECT count(*) FROM journal WHERE instance = 'bad'").pluck().get()).toBe(2);
    again.close();
  });

  it("keeps an instance the registry already holds and leaves the journaled one untouched (compaction off: its rows are read after the restart)", () => {
    const d = dir();
    const a = server(d, { compact: false });
    a.registry.create("demo");
    a.registry.execute("demo", { op: "createCgroup", path: "/journaled" });
    a.persistence.close();

    const registry = new Registry();
    registry.create("demo", { model: "v5.9" });
    const p = new Persistence({ dataDir: d, compact: false });
    const report = p.start(registry);
    expect(report.failed).toEqual([
      { name: "demo", seq: null, error: "an instance of that name already exists" },
    ]);
    expect(registry.get("demo").instance.config.model).toBe("v5.9");
    registry.execute("demo", { op: "createCgroup", path: "/live" });
    expect(p.stats().untrackedCommandCount).toBe(1);
    p.close();
    const b = server(d);
    expect(b.persistence.commands("demo")).toEqual([{ op: "createCgroup", path: "/journaled" }]);
    b.persistence.close();
  });

  // A v1 memory.limit_in_bytes write refused with EBUSY has reclaimed first, as
  // mem_cgroup_resize_limit does: the registry announces such historic refusals, the journal keeps
  // them and the replay applies them again, expecting the same refusal.
  it("reproduces the reclaim done by a v1 limit write that was refused with EBUSY (compaction off: export lists the rows, version 1)", () => {
    const d = dir();
    const a = server(d, { compact: false });
    a.registry.create("v1", { model: "v4.5" });
    a.registry.executeBatch("v1", [
      { op: "createCgroup", path: "/a" },
      {
        op: "createCache",
        name: "dentry",
        objectSizeBytes: 192,
        flags: { account: true, reclaimAccount: true },
      },
      { op: "allocObjects", cache: "dentry", cgroup: "/a", count: 50_000, reclaimable: true },
      { op: "spawnTask", cgroup: "/a", pid: 300 },
      { op: "allocPages", pid: 300, kind: "anon", bytes: 32 * 1024 * 1024 },
    ]);
    expect(() =>
      a.registry.execute("v1", {
        op: "writeFile",
        cgroup: "/a",
        file: "memory.limit_in_bytes",
        value: "16M",
      }),
    ).toThrow(/EBUSY|cannot be reclaimed/);
    a.persistence.flush();
    const before = observe(a.registry, "v1");
    a.persistence.close();
    const b = server(d);
    expect(observe(b.registry, "v1")).toEqual(before);
    // the refusal is history after the restart too: export lists it and the counts agree
    const doc = b.persistence.exportInstance(b.registry, "v1");
    expect(doc.commands.at(-1)).toEqual({
      op: "writeFile",
      cgroup: "/a",
      file: "memory.limit_in_bytes",
      value: "16M",
    });
    expect(doc.commands.length).toBe(b.registry.get("v1").instance.commandCount);
    b.persistence.close();
  });

  // A mkdir whose parent cannot pay for the new cgroup's statistics (v6.18) fails with ENOMEM after
  // the parent's charge ran reclaim and the OOM killer: the kill stays, as in the kernel, so the
  // refusal is history the restart must replay.
  it("reproduces the OOM kill of a mkdir refused with ENOMEM (the parent could not pay for the child's statistics; compaction off: the restart replays the rows)", () => {
    const d = dir();
    const a = server(d, { compact: false });
    a.registry.create("m", { model: "v6.18", cpuCount: 1, chargeBatchPages: 1 });
    a.registry.executeBatch("m", [
      { op: "createCgroup", path: "/p" },
      { op: "updateCgroup", path: "/p", memoryMaxBytes: 16 * 4096 },
      { op: "spawnTask", cgroup: "/p", pid: 300, oomScoreAdj: -1000 },
      { op: "allocPages", pid: 300, kind: "anon", bytes: 14 * 4096 },
      { op: "spawnTask", cgroup: "/p", pid: 301 },
      { op: "allocPages", pid: 301, kind: "anon", bytes: 2 * 4096 },
    ]);
    expect(() => a.registry.execute("m", { op: "createCgroup", path: "/p/c" })).toThrow(
      /ENOMEM|cannot charge/,
    );
    const sim = a.registry.get("m").instance;
    // the OOM killer took 301, the unkillable 300 kept its pages: 14 pages do not leave room for 3
    expect(sim.tasks.has(301)).toBe(false);
    expect(sim.readFile("/p", "memory.events")).toMatch(/^oom_kill 1$/m);
    a.persistence.flush();
    const before = observe(a.registry, "m");
    a.persistence.close();
    const b = server(d);
    expect(observe(b.registry, "m")).toEqual(before);
    expect(b.registry.get("m").instance.tasks.has(301)).toBe(false);
    // the refusal is history: export lists it, and its count is the instance's
    const doc = b.persistence.exportInstance(b.registry, "m");
    expect(doc.commands.at(-1)).toEqual({ op: "createCgroup", path: "/p/c" });
    expect(doc.commands.length).toBe(b.registry.get("m").instance.commandCount);
    b.persistence.close();
  });

  it("refuses a second server on the same data directory", () => {
    const d = dir();
    const a = server(d);
    a.registry.create("x");
    a.persistence.flush();
    expect(() => server(d, { busyTimeoutMs: 50 })).toThrow(/locked|busy/i);
    a.persistence.close();
  });

  it("touches no file with MEMCG_SIM_DATA_DIR=none", () => {
    expect(dataDirFromEnv("none")).toBeNull();
    expect(dataDirFromEnv(undefined)).toBe("./data");
    expect(dataDirFromEnv("/var/lib/memcg-sim")).toBe("/var/lib/memcg-sim");
    const a = server(null);
    expect(a.persistence.file).toBeNull();
    a.registry.create("m");
    a.registry.execute("m", { op: "createCgroup", path: "/a" });
    a.persistence.flush();
    expect(a.persistence.commands("m")).toEqual([{ op: "createCgroup", path: "/a" }]);
    a.registry.reset("m");
    expect(a.persistence.commands("m")).toEqual([]);
    a.registry.delete("m");
    expect(a.persistence.commands("m")).toBeUndefined();
    a.persistence.close();
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/errors.js";
import { EXPORT_FORMAT, exportInstance, importInstance } from "../../src/persistence/index.js";
import { Registry } from "../../src/registry.js";
import { server, tempDir } from "./helpers.js";
import { observe, randomCommands, setupCommands } from "./workload.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function thrown(f: () => unknown): EngineError {
  try {
    f();
  } catch (err) {
    if (err instanceof EngineError) return err;
    throw err;
  }
  throw new Error("expected an EngineError");
}

/** Everything observe() sees except the instance name. */
function unnamed(o: ReturnType<typeof observe>) {
  return { ...o, view: { ...o.view, name: "" } };
}

describe.each([
  ["with a data directory", true],
  ["with MEMCG_SIM_DATA_DIR=none", false],
])("export and import %s", (_label, withDir) => {
  function start() {
    let d: string | null = null;
    if (withDir) {
      const t = tempDir();
      cleanups.push(t.cleanup);
      d = t.dir;
    }
    const s = server(d);
    cleanups.push(() => s.persistence.close());
    return { ...s, dataDir: d };
  }

  it("round-trips an instance into one that answers identically", () => {
    const { registry, persistence } = start();
    registry.create("src", { model: "rfc-2012", kmemIndependentAccounting: true, seed: 5 });
    registry.executeBatch("src", [...setupCommands(1), ...randomCommands(800, 9, 1)], false);
    const doc = persistence.exportInstance(registry, "src");
    expect(doc).toMatchObject({ format: EXPORT_FORMAT, version: 1, name: "src" });
    expect(doc.config).toEqual(registry.get("src").instance.config); // resolved: defaults pinned
    expect(doc.commands.length).toBe(registry.get("src").instance.commandCount);

    const wire = JSON.parse(JSON.stringify(doc)); // as it crosses HTTP
    const entry = persistence.importInstance(registry, wire, { name: "copy" });
    expect(registry.view(entry).name).toBe("copy");
    expect(unnamed(observe(registry, "copy"))).toEqual(unnamed(observe(registry, "src")));
    const more = randomCommands(200, 10, 1);
    expect(registry.executeBatch("copy", more, false)).toEqual(registry.executeBatch("src", more, false));
    expect(unnamed(observe(registry, "copy"))).toEqual(unnamed(observe(registry, "src")));
    // an import is journaled like any instance: its export is the same log
    expect(persistence.exportInstance(registry, "copy").commands).toEqual(
      persistence.exportInstance(registry, "src").commands,
    );
  });

  it("imports into another server under the document's own name", () => {
    const a = start();
    a.registry.create("moving", { model: "v5.9" });
    a.registry.executeBatch("moving", [...setupCommands(2), ...randomCommands(300, 2, 2)], false);
    const doc = JSON.parse(JSON.stringify(a.persistence.exportInstance(a.registry, "moving")));
    const b = new Registry();
    importInstance(b, doc);
    expect(unnamed(observe(b, "moving"))).toEqual(unnamed(observe(a.registry, "moving")));
  });

  it("exports only the commands since the last reset", () => {
    const { registry, persistence } = start();
    registry.create("r");
    registry.execute("r", { op: "createCgroup", path: "/before" });
    registry.reset("r");
    registry.execute("r", { op: "createCgroup", path: "/after" });
    expect(exportInstance(registry, persistence, "r").commands).toEqual([
      { op: "createCgroup", path: "/after" },
    ]);
  });

  it("refuses a taken name, a wrong version, unknown keys and invalid commands, leaving nothing behind", () => {
    const { registry, persistence } = start();
    registry.create("x");
    registry.execute("x", { op: "createCgroup", path: "/a" });
    const doc = persistence.exportInstance(registry, "x");

    expect(thrown(() => importInstance(registry, doc)).code).toBe("INSTANCE_EXISTS");
    // version 2 is read since compaction (compaction.test.ts); 3 is not
    const v3 = thrown(() => importInstance(registry, { ...doc, version: 3 }, { name: "y" }));
    expect(v3.code).toBe("INVALID_ARGUMENT");
    expect(v3.message).toMatch(/unsupported export version; this server reads versions 1 and 2/);
    const v2 = thrown(() => importInstance(registry, { ...doc, version: 2 }, { name: "y" }));
    expect(v2.code).toBe("INVALID_ARGUMENT");
    expect(v2.message).toMatch(/base: Invalid input: expected object/);
    const extra = thrown(() => importInstance(registry, { ...doc, extra: 1 }, { name: "y" }));
    expect(extra.code).toBe("INVALID_ARGUMENT");
    const badCmd = thrown(() =>
      importInstance(
        registry,
        { ...doc, commands: [{ op: "createCgroup", path: "/a" }, { op: "fly" }] },
        { name: "y" },
      ),
    );
    expect(badCmd.details?.issues).toEqual([expect.objectContaining({ path: "commands.1.op" })]);
    const badConfig = thrown(() =>
      importInstance(registry, { ...doc, config: { model: "v9" } }, { name: "y" }),
    );
    expect(badConfig.code).toBe("INVALID_ARGUMENT");
    expect(thrown(() => importInstance(registry, doc, { name: "Bad Name" })).code).toBe("INVALID_ARGUMENT");
    expect(thrown(() => importInstance(registry, doc, { name: "y", maxCommands: 0 })).code).toBe(
      "LIMIT_EXCEEDED",
    );

    // a command the engine refuses: the document does not describe a reachable state
    const refused = thrown(() =>
      importInstance(
        registry,
        {
          ...doc,
          commands: [
            { op: "createCgroup", path: "/a" },
            { op: "removeCgroup", path: "/missing" },
          ],
        },
        { name: "y" },
      ),
    );
    expect(refused.code).toBe("INVALID_ARGUMENT");
    expect(refused.details).toMatchObject({
      index: 1,
      code: "CGROUP_NOT_FOUND",
      issues: [{ path: "commands.1" }],
    });
    expect(registry.list().map((e) => e.name)).toEqual(["x"]);
    expect(persistence.commands("y")).toBeUndefined();
  });

  it("answers INSTANCE_NOT_FOUND when exporting an unknown instance", () => {
    const { registry, persistence } = start();
    expect(thrown(() => persistence.exportInstance(registry, "nope")).code).toBe("INSTANCE_NOT_FOUND");
  });
});

describe("an imported instance after a restart", () => {
  it("is restored from the journal like any other", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const a = server(t.dir);
    a.registry.create("orig", { model: "v4.5", cgroupVersion: 2 });
    a.registry.executeBatch("orig", [...setupCommands(2), ...randomCommands(300, 4, 2)], false);
    a.persistence.importInstance(a.registry, a.persistence.exportInstance(a.registry, "orig"), {
      name: "imported",
    });
    a.persistence.flush();
    const before = observe(a.registry, "imported");
    a.persistence.close();
    const b = server(t.dir);
    expect(b.report.instanceCount).toBe(2);
    expect(observe(b.registry, "imported")).toEqual(before);
    b.persistence.close();
  });
});

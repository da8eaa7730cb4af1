import { cacheView, cgroupView, DEFAULT_LIMITS, Simulation, instanceView, taskView } from "../engine/index.js";
import { expandScenario, loadScenarioFile, runCommands } from "../scenarios/index.js";
import { renderTable } from "./table.js";

export const RUN_USAGE = `Usage: memcg-sim run FILE [--json]

Runs a scenario file (JSON or YAML: {"description"?, "config": {...}, "commands": [...]}, the
command language of docs/API.md §6 plus generator steps) against a fresh in-process instance and
prints the final state: tables, or one JSON document with --json. A command the engine refuses
is counted and listed; the run goes on.

  --json    print {instance, cgroups, caches, tasks, run} as JSON
  --help    this text
`;

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** Runs the scenario and returns the final state (what `--json` prints). */
export async function runScenarioFile(file: string) {
  const scenario = await loadScenarioFile(file);
  const sim = new Simulation(scenario.config, DEFAULT_LIMITS);
  const run = runCommands(sim, expandScenario(scenario, sim.config));
  return {
    description: scenario.description ?? null,
    instance: instanceView(sim),
    cgroups: sim.allCgroups().map((cg) => cgroupView(sim, cg)),
    caches: [...sim.slab.caches.values()].map((c) => cacheView(sim, c)),
    tasks: [...sim.tasks.values()].sort((a, b) => a.pid - b.pid).map(taskView),
    run,
  };
}

type State = Awaited<ReturnType<typeof runScenarioFile>>;

const KiB = (b: number | null) => (b === null ? "max" : `${Math.round(b / 1024)}K`);

export function renderState(s: State): string {
  const c = s.instance.config;
  let out = `model ${c.model}, cgroup v${c.cgroupVersion}, ${s.run.commandCount} commands (${s.run.errorCount} refused), clock ${s.instance.clockMs} ms\n\n`;
  out += renderTable(
    ["CGROUP", "STATE", "MEMORY", "MAX", "KMEM", "KMEM MAX", "SLAB", "FAILCNT", "KMEM FAILCNT", "OOM KILLS"],
    s.cgroups.map((g) => [
      g.path,
      g.state,
      KiB(g.memory.usageBytes),
      KiB(g.memory.maxBytes),
      KiB(g.kmem.usageBytes),
      KiB(g.kmem.maxBytes),
      KiB(g.stat.slabBytes),
      g.memory.failCount,
      g.kmem.failCount,
      g.events.oomKill,
    ]),
  );
  if (s.caches.length > 0) {
    out += "\n";
    out += renderTable(
      ["CACHE", "OBJSIZE", "ACTIVE", "OBJECTS", "SLABS", "OBJ/SLAB", "ORDER", "ACCOUNTED", "CHILDREN"],
      s.caches.map((k) => [
        k.name,
        k.objectSizeBytes,
        k.activeObjectCount,
        k.objectCount,
        k.slabCount,
        k.objectsPerSlab,
        k.order,
        k.accounted ? "yes" : "no",
        k.children.length,
      ]),
    );
  }
  if (s.run.errors.length > 0) {
    out += "\nrefused commands:\n";
    for (const e of s.run.errors) out += `  #${e.index} ${e.op}: ${e.code} ${e.detail}\n`;
  }
  return out;
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(RUN_USAGE);
    return 0;
  }
  const json = argv.includes("--json");
  const rest = argv.filter((a) => a !== "--json");
  const unknown = rest.find((a) => a.startsWith("-"));
  if (unknown !== undefined || rest.length !== 1) {
    io.stderr.write(unknown !== undefined ? `unknown flag ${unknown}\n\n${RUN_USAGE}` : RUN_USAGE);
    return 2;
  }
  const state = await runScenarioFile(rest[0]);
  io.stdout.write(json ? `${JSON.stringify(state, null, 2)}\n` : renderState(state));
  return 0;
}

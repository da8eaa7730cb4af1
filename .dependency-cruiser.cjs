// The import graph of src/ (issue #14, "Done when"), checked by `npm run lint`:
//   npx depcruise src --config .dependency-cruiser.cjs
//
// Type-only imports count: `import type` ties two files together as much as a value import does
// (a change of the header forces a change of its readers). TypeScript 7 (this project's tsc) has
// no JavaScript compiler API, so dependency-cruiser's `tsc` extractor cannot run; its `swc`
// extractor reads the TypeScript source before types are erased, so every `import type` is an
// edge — what `tsPreCompilationDeps: true` asks of the tsc extractor (set too, for a later tsc).
// The engine's layers, top to bottom (docs/ENGINE.md "The import graph"): the front door index.ts;
// the hub simulation.ts (wiring and the dispatch table); the verb files, in the order below (a verb
// file imports only verb files of earlier layers, and calls a later one through the up-call table
// kernel.ts KernelOps); the mechanisms (charge, reclaim, oom, kernel-pages, slab/, models/,
// cgroupfs/, views, dump, invariants), which see the simulation only as the type Sim; the headers
// kernel.ts and sim.ts, imported as types. (The swc extractor marks no import "type-only", so the
// header rule below names the files kernel.ts may import instead.)
const VERB_LAYERS = [["cgroup-tree"], ["task-lifecycle"], ["page-alloc"], ["slab-api", "memcg-files"]];
const VERBS = VERB_LAYERS.flat();
const file = (names) => `^src/engine/(${names.join("|")})\\.ts$`;
/** One rule per verb file: it imports no verb file of its own or a later layer. */
const verbLayerRules = VERB_LAYERS.flatMap((layer, i) =>
  layer.map((name) => ({
    name: "engine-verb-layers",
    comment:
      `${name}.ts imports only verb files of earlier layers (${VERB_LAYERS.slice(0, i).flat().join(", ") || "none"}); ` +
      "an up-call to a later one goes through sim.ops (kernel.ts KernelOps).",
    severity: "error",
    from: { path: file([name]) },
    to: { path: file(VERB_LAYERS.slice(i).flat().filter((n) => n !== name)) },
  })),
).filter((r) => r.to.path !== "^src/engine/()\\.ts$");

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "engine-hub-on-top",
      comment:
        "simulation.ts (wiring and the dispatch table) is imported by the front door index.ts only: a file " +
        "below it takes the type Sim (engine/sim.ts) or the up-call table KernelOps (engine/kernel.ts).",
      severity: "error",
      // snapshot.ts captures and restores a whole simulation: it sits beside the front door, above the hub
      from: { path: "^src/engine/", pathNot: file(["index", "simulation", "snapshot"]) },
      to: { path: file(["simulation"]) },
    },
    {
      name: "engine-verbs-above-mechanism",
      comment:
        "The verb files (cgroup-tree, task-lifecycle, page-alloc, slab-api, memcg-files) are called by " +
        "simulation.ts and each other only; a mechanism below them (charge, reclaim, oom, slab/, models/, " +
        "cgroupfs/, ...) reaches a verb through Sim or sim.ops.",
      severity: "error",
      from: { path: "^src/engine/", pathNot: file(["index", "simulation", ...VERBS]) },
      to: { path: file(VERBS) },
    },
    ...verbLayerRules,
    {
      name: "engine-header-leaf",
      comment:
        "The header kernel.ts (data and value types that cross modules) imports only the leaf data files " +
        "cgroup.ts, tasks.ts and slab/cache.ts (types only), so any engine file may import it without closing a circle.",
      severity: "error",
      from: { path: file(["kernel"]) },
      to: { pathNot: file(["cgroup", "tasks", "slab/cache"]) },
    },
    {
      name: "no-engine-circle",
      comment:
        "An import circle in src/engine (type-only imports included): break it with a type-only import of a " +
        "header (engine/kernel.ts: value types that cross modules; engine/sim.ts: the simulation as verb files " +
        "see it; slab/arena.ts SlabHost), never by merging files.",
      severity: "error",
      from: { path: "^src/engine/" },
      to: { circular: true },
    },
    {
      name: "engine-front-door",
      comment:
        "Outside src/engine, src/ imports the engine only through its front door src/engine/index.ts " +
        "(bench/ and test/ may import engine internals).",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/engine/" },
      to: { path: "^src/engine/", pathNot: "^src/engine/index\\.ts$" },
    },
    {
      name: "engine-imports-nothing-outside",
      comment: "src/engine is a pure library: it imports nothing outside itself (ARCHITECTURE.md §1).",
      severity: "error",
      from: { path: "^src/engine/" },
      to: { pathNot: "^src/engine/" },
    },
    {
      name: "not-to-unresolvable",
      comment: "An import that resolves to nothing (a typo, a removed file).",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: "swc",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
  },
};

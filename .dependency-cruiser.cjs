// The import graph of src/ (issue #14, "Done when"), checked by `npm run lint`:
//   npx depcruise src --config .dependency-cruiser.cjs
//
// Type-only imports count: `import type` ties two files together as much as a value import does
// (a change of the header forces a change of its readers). TypeScript 7 (this project's tsc) has
// no JavaScript compiler API, so dependency-cruiser's `tsc` extractor cannot run; its `swc`
// extractor reads the TypeScript source before types are erased, so every `import type` is an
// edge — what `tsPreCompilationDeps: true` asks of the tsc extractor (set too, for a later tsc).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
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
      name: "grpc-not-to-rest",
      comment:
        "The transports are siblings: what both need (group commit, auth, export/import, the event-log " +
        "follower, exact-integer JSON) lives in src/service, never in the other transport.",
      severity: "error",
      from: { path: "^src/grpc/" },
      to: { path: "^src/rest/" },
    },
    {
      name: "rest-not-to-grpc",
      comment: "The transports are siblings (see grpc-not-to-rest): REST imports nothing of src/grpc.",
      severity: "error",
      from: { path: "^src/rest/" },
      to: { path: "^src/grpc/" },
    },
    {
      name: "service-not-to-transports",
      comment: "src/service is below both transports: it imports neither.",
      severity: "error",
      from: { path: "^src/service/" },
      to: { path: "^src/(rest|grpc)/" },
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

// scratch: `node --cpu-prof --import tsx bench/prof-alloc.ts [model]` — allocation/free profile
import { allocFree } from "./engine.js";
for (let i = 0; i < 3; i++) console.log(allocFree((process.argv[2] ?? "v5.9") as "v5.9", 2_000_000));

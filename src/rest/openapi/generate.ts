import { writeFileSync } from "node:fs";
import { openapiPath } from "../openapi-file.js";
import { renderOpenapiYaml } from "./document.js";

// `npx tsx src/rest/openapi/generate.ts`: rewrites openapi.yaml at the project root.
const path = openapiPath();
writeFileSync(path, renderOpenapiYaml());
console.log(`wrote ${path}`);

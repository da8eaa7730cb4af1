// `npm run build` step: openapi.yaml as JSON in dist/openapi.json, with the sha256 of the YAML
// text it came from. The server reads it instead of parsing the YAML at every start (~0.3 s of the
// ~1.5 s start-up on this machine, docs/BENCHMARKS.md); a JSON whose hash does not match the YAML
// it is served beside is ignored (src/rest/routes/docs.ts), so it can never serve a stale document.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";

const text = readFileSync("openapi.yaml", "utf8");
mkdirSync("dist", { recursive: true });
writeFileSync(
  "dist/openapi.json",
  JSON.stringify({ sha256: createHash("sha256").update(text).digest("hex"), document: parse(text) }),
);
console.log("wrote dist/openapi.json");

// A model owns its era (docs/ENGINE.md "Where things go"): outside src/engine/models/ no code
// branches on a model's name. Ask the era (`sim.era.<field>`, `eraOf(name).<field>`) instead, and
// add the field to src/engine/models/era.ts. Fails on `model === "..."`, `model !== "..."`,
// `.model === ...`, `model.name === ...` and `case "v5.9":`-style switches over model names.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const src = join(repo, "src");
const allowed = join(src, "engine", "models");
const names = [...readFileSync(join(allowed, "index.ts"), "utf8").matchAll(/^\s+"([^"]+)": \{ era:/gm)].map(
  (m) => m[1],
);
if (names.length === 0) {
  console.error("check-model-branches: found no rows in src/engine/models/eras.ts ERAS");
  process.exit(1);
}
const quoted = names.map((n) => n.replace(/[.]/g, "\\.")).join("|");
const patterns = [
  /\bmodel(?:\.name)?\s*[!=]==?\s*["'`]/,
  /["'`][^"'`]*["'`]\s*[!=]==?\s*(?:\w+\.)*model(?:\.name)?\b/,
  new RegExp(`case\\s+["'](?:${quoted})["']\\s*:`),
];
const bad = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p !== allowed) walk(p);
    } else if (p.endsWith(".ts")) {
      readFileSync(p, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (patterns.some((re) => re.test(line))) bad.push(`${relative(repo, p)}:${i + 1}: ${line.trim()}`);
        });
    }
  }
};
walk(src);
if (bad.length) {
  console.error(
    "branches on a model name outside src/engine/models/ (ask the era instead):\n  " + bad.join("\n  "),
  );
  process.exit(1);
}
console.log(`model branches ok (${names.length} models: ${names.join(", ")})`);

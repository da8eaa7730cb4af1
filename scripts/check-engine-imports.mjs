// Layering rule (docs/ARCHITECTURE.md §1): src/engine/ is a pure library. Every import in it must be a
// relative path that stays inside src/engine/. No npm packages, no node:* modules.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..", "src", "engine");
const bad = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".ts")) check(p);
  }
};
const check = (file) => {
  const text = readFileSync(file, "utf8");
  const re = /(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const spec = m[1] ?? m[2];
    const target = spec.startsWith(".") ? resolve(dirname(file), spec) : null;
    if (!target || relative(root, target).startsWith("..")) bad.push(`${relative(process.cwd(), file)}: ${spec}`);
  }
  if (/\bDate\.now\(|\bMath\.random\(|\bprocess\./.test(text)) bad.push(`${relative(process.cwd(), file)}: uses Date.now/Math.random/process`);
};
walk(root);
if (bad.length) {
  console.error("src/engine must import only from src/engine and stay deterministic:\n  " + bad.join("\n  "));
  process.exit(1);
}
console.log("engine layering ok");

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The project root: the nearest folder above this file holding openapi.yaml. Walking up (not a
 * fixed `../..`) keeps it right both under tsx (src/rest/) and compiled (dist/src/rest/).
 */
export function projectRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "openapi.yaml")) && existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return process.cwd();
}

export function openapiPath(): string {
  return join(projectRoot(), "openapi.yaml");
}

export function readOpenapiText(path = openapiPath()): string {
  return readFileSync(path, "utf8");
}

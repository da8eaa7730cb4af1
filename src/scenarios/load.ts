import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { EngineError } from "../engine/index.js";
import { parseScenario, type Scenario } from "./schema.js";

/** Largest scenario file read (generators keep real scenarios small). */
export const MAX_SCENARIO_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Parses scenario text: JSON when `format` is "json" (or the text starts with `{`), else YAML
 * (a superset of JSON). Throws INVALID_ARGUMENT for a syntax error or an invalid scenario.
 */
export function parseScenarioText(text: string, format?: "json" | "yaml"): Scenario {
  let doc: unknown;
  const json = format === "json" || (format === undefined && text.trimStart().startsWith("{"));
  try {
    doc = json ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      `scenario is not valid ${json ? "JSON" : "YAML"}: ${(e as Error).message}`,
      {
        issues: [{ path: "", message: (e as Error).message }],
      },
    );
  }
  return parseScenario(doc);
}

/** Reads and validates a scenario file (`.json`, or `.yaml`/`.yml`/anything else as YAML). */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  const text = await readFile(path, "utf8");
  if (Buffer.byteLength(text) > MAX_SCENARIO_FILE_BYTES)
    throw new EngineError(
      "LIMIT_EXCEEDED",
      `scenario file ${path} is larger than ${MAX_SCENARIO_FILE_BYTES} bytes`,
      { limit: "scenarioFileBytes" },
    );
  return parseScenarioText(text, extname(path).toLowerCase() === ".json" ? "json" : undefined);
}

import type { Era } from "./era.js";
import { RFC_2012_ERA } from "./rfc-2012.era.js";
import { V3_8_ERA } from "./v3-8.era.js";
import { V4_5_ERA } from "./v4-5.era.js";
import { V5_9_ERA } from "./v5-9.era.js";
import { V6_18_ERA } from "./v6-18.era.js";

/**
 * The only list of models, oldest era first: each model's era data (models/<model>.era.ts).
 * Config validation, the REST/gRPC schemas, OpenAPI, `compare`, `replay` and the docs derive
 * from it; `MODELS` (models/index.ts) adds each model's accounting rules, with the compiler
 * checking it has exactly these rows. Data only, so config.ts can sit below the models in the
 * import graph. Adding a model: its era file, its model file, one row here and one in MODELS.
 */
export const ERAS = {
  "rfc-2012": RFC_2012_ERA,
  "v3.8": V3_8_ERA,
  "v4.5": V4_5_ERA,
  "v5.9": V5_9_ERA,
  "v6.18": V6_18_ERA,
} as const satisfies Record<string, Era>;

export type ModelName = keyof typeof ERAS;

/** The model names in table order (oldest era first), as a non-empty tuple for schema enums. */
export const MODEL_NAMES = Object.keys(ERAS) as [ModelName, ...ModelName[]];

/** The model new instances get when the config names none: today's kernel. */
export const DEFAULT_MODEL: ModelName = "v6.18";

export function isModelName(name: unknown): name is ModelName {
  return typeof name === "string" && Object.hasOwn(ERAS, name);
}

export function eraOf(name: ModelName): Era {
  return ERAS[name];
}

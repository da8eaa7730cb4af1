import type { Instance } from "../instance.js";
import type { Era } from "./era.js";
import type { AccountingModel } from "./model.js";
import { RFC_2012_ERA, Rfc2012Model } from "./rfc-2012.js";
import { V3_8_ERA, V38Model } from "./v3-8.js";
import { V4_5_ERA, V45Model } from "./v4-5.js";
import { V5_9_ERA, V59Model } from "./v5-9.js";
import { V6_18_ERA, V618Model } from "./v6-18.js";

/** One row per model: its era's data and how to build its accounting rules for a simulation. */
export interface ModelSpec {
  readonly era: Era;
  readonly create: (sim: Instance) => AccountingModel;
}

/**
 * The only list of models. Config validation, the REST/gRPC schemas, OpenAPI, `compare`,
 * `replay` and the docs derive from it. Adding a model = one model file + one row here.
 */
export const MODELS = {
  "rfc-2012": { era: RFC_2012_ERA, create: (sim) => new Rfc2012Model(sim) },
  "v3.8": { era: V3_8_ERA, create: (sim) => new V38Model(sim) },
  "v4.5": { era: V4_5_ERA, create: (sim) => new V45Model(sim) },
  "v5.9": { era: V5_9_ERA, create: (sim) => new V59Model(sim) },
  "v6.18": { era: V6_18_ERA, create: (sim) => new V618Model(sim) },
} as const satisfies Record<string, ModelSpec>;

export type ModelName = keyof typeof MODELS;

/** The model names in table order (oldest era first), as a non-empty tuple for schema enums. */
export const MODEL_NAMES = Object.keys(MODELS) as [ModelName, ...ModelName[]];

/** The model new instances get when the config names none. */
export const DEFAULT_MODEL: ModelName = "v6.18";

export function isModelName(name: unknown): name is ModelName {
  return typeof name === "string" && Object.hasOwn(MODELS, name);
}

export function eraOf(name: ModelName): Era {
  return MODELS[name].era;
}

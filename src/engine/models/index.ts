import type { Sim } from "../sim.js";
import type { Era } from "./era.js";
import { ERAS, type ModelName } from "./eras.js";
import type { AccountingModel } from "./model.js";
import { Rfc2012Model } from "./rfc-2012.js";
import { V38Model } from "./v3-8.js";
import { V45Model } from "./v4-5.js";
import { V59Model } from "./v5-9.js";
import { V618Model } from "./v6-18.js";

export { DEFAULT_MODEL, eraOf, isModelName, MODEL_NAMES, type ModelName } from "./eras.js";

/** One row per model: its era's data and how to build its accounting rules for a simulation. */
export interface ModelSpec {
  readonly era: Era;
  readonly create: (sim: Sim) => AccountingModel;
}

/** Every model of ERAS (models/eras.ts, the list) with its accounting rules; the compiler checks the rows match. */
export const MODELS: { readonly [M in ModelName]: ModelSpec } = {
  "rfc-2012": { era: ERAS["rfc-2012"], create: (sim) => new Rfc2012Model(sim) },
  "v3.8": { era: ERAS["v3.8"], create: (sim) => new V38Model(sim) },
  "v4.5": { era: ERAS["v4.5"], create: (sim) => new V45Model(sim) },
  "v5.9": { era: ERAS["v5.9"], create: (sim) => new V59Model(sim) },
  "v6.18": { era: ERAS["v6.18"], create: (sim) => new V618Model(sim) },
};

import { eraOf, type InstanceConfigInput, type ModelName } from "../engine/index.js";

/** The instance config one model runs a scenario with, and what was changed to get it. */
export interface ModelConfig {
  config: InstanceConfigInput;
  /** One sentence per key that was changed or dropped for this model (empty when none). */
  adjustments: string[];
}

/**
 * Derives the config `model` runs a scenario with from the scenario's own config, instead of
 * failing on keys that only some eras accept (docs/API.md §3):
 *
 * - `model` is replaced by `model` (docs/API.md §11: `--models` overrides `config.model`).
 * - `cgroupVersion: 2` becomes 1 for `rfc-2012` and `v3.8`, which predate the v2 memory
 *   controller (4.5). An unset `cgroupVersion` stays unset, so each model runs with its own
 *   default: v1, except v2 for `v5.9`. A scenario that sets `cgroupVersion: 1` runs `v5.9` on v1.
 * - `kmemIndependentAccounting` and `reclaimOnKmemFailure` are knobs of the seed patch only: they
 *   are dropped for the other models (which always charge kmem to the memory counter, with reclaim).
 *
 * Everything else (RAM, CPUs, SLUB knobs, batch, seed…) is kept as it is, so the models differ
 * only in their accounting design.
 */
export function deriveModelConfig(scenarioConfig: InstanceConfigInput, model: ModelName): ModelConfig {
  const config: InstanceConfigInput = { ...scenarioConfig, model };
  const adjustments: string[] = [];
  const preV2 = !eraOf(model).cgroupV2;
  if (preV2 && config.cgroupVersion === 2) {
    config.cgroupVersion = 1;
    adjustments.push(`cgroupVersion 2 → 1: ${model} predates the cgroup v2 memory controller`);
  }
  if (eraOf(model).kmemCounter !== "seed") {
    for (const key of ["kmemIndependentAccounting", "reclaimOnKmemFailure"] as const) {
      if (config[key] !== undefined) {
        if (config[key] === true) adjustments.push(`${key} dropped: a knob of the rfc-2012 patch only`);
        delete config[key];
      }
    }
  }
  if (scenarioConfig.model !== undefined && scenarioConfig.model !== model)
    adjustments.unshift(`model ${scenarioConfig.model} → ${model}`);
  return { config, adjustments };
}

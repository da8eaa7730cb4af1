import { z } from "zod";
import { EngineError, type EngineLimits, MODEL_NAMES } from "../engine/index.js";
import { issuesOf } from "../commands/schemas.js";
import { parseScenario } from "../scenarios/schema.js";
import { type CompareOptions, type CompareResult, compareScenario } from "./compare.js";

/** `POST /v1/compare` body: a scenario document (as a scenario file holds) and the models to run. */
export const compareRequestSchema = z
  .object({
    scenario: z.record(z.string(), z.unknown()),
    models: z.array(z.enum(MODEL_NAMES)).min(1).max(MODEL_NAMES.length).optional(),
    maxSamples: z.number().int().min(1).max(2000).optional(),
  })
  .strict();
export type CompareRequest = z.infer<typeof compareRequestSchema>;

/** Server-side bounds of one compare request (docs/ARCHITECTURE.md habit 4); each hit is LIMIT_EXCEEDED. */
export interface CompareRequestLimits {
  /** Most commands the scenario may expand to, per model. Default 1 000 000. */
  maxCommands: number;
  /** Engine limits of the instances the comparison creates (the server's). */
  engine?: EngineLimits;
}

export const DEFAULT_COMPARE_REQUEST_LIMITS: CompareRequestLimits = { maxCommands: 1_000_000 };

/**
 * The handler of `POST /v1/compare`: validates `body` (`{scenario: {description?, config?,
 * commands}, models?: [...], maxSamples?}`, unknown keys rejected), runs the comparison on fresh
 * in-process instances (not the registry's), and resolves to the same JSON as
 * `memcg-sim compare --json`. Rejects with EngineError: INVALID_ARGUMENT (400, `details.issues`
 * with paths like `scenario.commands.3.containers`) or LIMIT_EXCEEDED (429). It runs in slices that
 * yield to the event loop (`slices`, src/service/slices.ts); `signal` (e.g. the client went away)
 * aborts it at the next slice boundary.
 */
export async function handleCompareRequest(
  body: unknown,
  limits: CompareRequestLimits = DEFAULT_COMPARE_REQUEST_LIMITS,
  signal?: AbortSignal,
  slices: Pick<CompareOptions, "sliceMs" | "now" | "onSlice"> = {},
): Promise<CompareResult> {
  const req = compareRequestSchema.safeParse(body);
  if (!req.success) {
    const issues = issuesOf(req.error);
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid compare request: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
      { issues },
    );
  }
  let scenario: ReturnType<typeof parseScenario>;
  try {
    scenario = parseScenario(req.data.scenario);
  } catch (e) {
    if (e instanceof EngineError && Array.isArray(e.details?.issues)) {
      const issues = (e.details.issues as { path: string; message: string }[]).map((i) => ({
        path: `scenario.${i.path}`,
        message: i.message,
      }));
      throw new EngineError(e.code, e.message, { ...e.details, issues });
    }
    throw e;
  }
  return compareScenario(scenario, req.data.models ?? MODEL_NAMES, {
    maxCommands: limits.maxCommands,
    limits: limits.engine,
    maxSamples: req.data.maxSamples,
    signal,
    ...slices,
  });
}

import { z } from "zod";
import { type Command, EngineError, type InstanceConfigInput } from "../engine/index.js";
import { instanceConfigSchema, issuesOf, parseCommand } from "../commands/schemas.js";
import { containerChurnSchema } from "./generators/container-churn.js";
import { containerFleetSchema } from "./generators/container-fleet.js";
import { dentryStormSchema } from "./generators/dentry-storm.js";
import { fileServerSchema } from "./generators/file-server.js";

/** Generator names, each expanded into the command language by `expandScenario`. */
export const GENERATORS = [
  "containerChurn",
  "containerFleet",
  "dentryStormUnderHigh",
  "fileServerReclaimableSlab",
] as const;

const generatorSchemas = {
  containerChurn: containerChurnSchema,
  containerFleet: containerFleetSchema,
  dentryStormUnderHigh: dentryStormSchema,
  fileServerReclaimableSlab: fileServerSchema,
} as const;

export type GeneratorStep =
  | z.infer<typeof containerChurnSchema>
  | z.infer<typeof containerFleetSchema>
  | z.infer<typeof dentryStormSchema>
  | z.infer<typeof fileServerSchema>;

/** One entry of a scenario's `commands`: a command of docs/API.md §6 or a generator step. */
export type ScenarioStep = Command | GeneratorStep;

/** A validated scenario file (docs/API.md §11 plus `description` and generator steps). */
export interface Scenario {
  description?: string;
  config: InstanceConfigInput;
  commands: ScenarioStep[];
}

const MAX_STEPS = 1_000_000;

const fileSchema = z
  .object({
    description: z.string().max(10_000).optional(),
    config: z.unknown().optional(),
    commands: z.array(z.unknown()).max(MAX_STEPS),
  })
  .strict();

function invalid(raw: { path: string; message: string }[]): never {
  // an issue on the whole step (e.g. an unknown key) reads `commands.3`, not `commands.3.`
  const issues = raw.map((i) => ({ path: i.path.replace(/\.$/, ""), message: i.message }));
  throw new EngineError(
    "INVALID_ARGUMENT",
    `invalid scenario: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
    { issues },
  );
}

export function isGeneratorStep(step: ScenarioStep): step is GeneratorStep {
  return "generate" in step;
}

/**
 * Validates a parsed scenario document: `{description?, config?, commands}` with every command
 * checked against the command language's zod schema and every generator step against its own
 * (strict: unknown keys rejected). Throws INVALID_ARGUMENT with `details.issues` = [{path, message}],
 * paths such as `commands.3.containers`.
 */
export function parseScenario(input: unknown): Scenario {
  const top = fileSchema.safeParse(input);
  if (!top.success) invalid(issuesOf(top.error));
  const cfg = instanceConfigSchema.safeParse(top.data.config ?? {});
  if (!cfg.success) invalid(issuesOf(cfg.error, "config."));
  const issues: { path: string; message: string }[] = [];
  const commands: ScenarioStep[] = [];
  top.data.commands.forEach((raw, i) => {
    const prefix = `commands.${i}.`;
    if (raw !== null && typeof raw === "object" && !Array.isArray(raw) && "generate" in raw) {
      const name = (raw as { generate: unknown }).generate;
      const schema =
        typeof name === "string" ? generatorSchemas[name as keyof typeof generatorSchemas] : undefined;
      if (schema === undefined) {
        issues.push({
          path: `${prefix}generate`,
          message: `unknown generator ${JSON.stringify(name)}; expected one of ${GENERATORS.join(", ")}`,
        });
        return;
      }
      const r = schema.safeParse(raw);
      if (r.success) commands.push(r.data);
      else issues.push(...issuesOf(r.error, prefix));
      return;
    }
    try {
      commands.push(parseCommand(raw, prefix));
    } catch (e) {
      const d =
        e instanceof EngineError
          ? (e.details?.issues as { path: string; message: string }[] | undefined)
          : undefined;
      if (d === undefined) throw e;
      issues.push(...d);
    }
  });
  if (issues.length > 0) invalid(issues.slice(0, 50));
  const out: Scenario = { config: cfg.data as InstanceConfigInput, commands };
  if (top.data.description !== undefined) out.description = top.data.description;
  return out;
}

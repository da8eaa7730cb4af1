import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { issuesOf } from "../commands/schemas.js";
import { deriveModelConfig } from "../compare/model-config.js";
import { MODEL_NAMES, type ModelName, resolveConfig, EngineError } from "../engine/index.js";
import { MAX_SCENARIO_FILE_BYTES } from "../scenarios/load.js";
import { parseScenario, type Scenario } from "../scenarios/schema.js";

/** A value an axis takes: whatever a config field or generator parameter accepts. */
export type AxisValue = number | string | boolean;

/** Most points one sweep spec may name (the CLI's bound; the server has a lower one). */
export const MAX_SWEEP_POINTS = 1_000_000;

const axisValue = z.union([z.number(), z.string().max(1000), z.boolean()]);

const axisSchema = z
  .object({
    /** The coordinate's name in results.jsonl (`coords.<name>`). */
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be an identifier such as cpuCount"),
    /**
     * Where the value goes in the scenario document: dotted keys, array indices as numbers:
     * `config.cpuCount`, `config.seed`, `commands.4.containers`, `commands.4.workingSet.0.median`.
     */
    path: z
      .string()
      .regex(
        /^(config|commands)(\.[A-Za-z0-9_-]+)+$/,
        "must be a path such as config.cpuCount or commands.4.containers",
      ),
    values: z.array(axisValue).min(1).max(10_000),
  })
  .strict();

/** The sweep spec file (YAML or JSON): a scenario, the models, the axes of the grid. */
export const sweepSpecSchema = z
  .object({
    description: z.string().max(10_000).optional(),
    /** A scenario file (relative to the spec file) or the scenario document itself. */
    scenario: z.union([z.string().min(1).max(4096), z.record(z.string(), z.unknown())]),
    models: z.array(z.enum(MODEL_NAMES)).min(1).max(MODEL_NAMES.length).optional(),
    axes: z.array(axisSchema).max(8).default([]),
  })
  .strict();
export type SweepSpecInput = z.input<typeof sweepSpecSchema>;

export interface SweepAxis {
  name: string;
  path: string;
  values: AxisValue[];
}

/**
 * A checked, self-contained sweep: the scenario document inline (so a shard on another machine
 * runs exactly the same thing), the models in order, the axes. `digest` (sha256 of its canonical
 * JSON) identifies it: shards of one sweep carry the same digest, and merge refuses mixed ones.
 */
export interface SweepSpec {
  description?: string;
  scenario: Record<string, unknown>;
  models: ModelName[];
  axes: SweepAxis[];
  pointCount: number;
  digest: string;
}

/** One grid point: its index, the model, and the value of each axis. */
export interface SweepPoint {
  index: number;
  model: ModelName;
  coords: Record<string, AxisValue>;
}

function invalid(issues: { path: string; message: string }[], what = "sweep spec"): never {
  throw new EngineError(
    "INVALID_ARGUMENT",
    `invalid ${what}: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
    { issues: issues.slice(0, 50) },
  );
}

/**
 * Number of points = models × Π axis lengths. Points are numbered with the first axis slowest and
 * the model fastest, so the models of one grid cell are neighbours (and land on different shards).
 */
export function pointAt(spec: Pick<SweepSpec, "axes" | "models">, index: number): SweepPoint {
  let rest = index;
  const model = spec.models[rest % spec.models.length];
  rest = Math.floor(rest / spec.models.length);
  const coords: Record<string, AxisValue> = {};
  for (let a = spec.axes.length - 1; a >= 0; a--) {
    const axis = spec.axes[a];
    coords[axis.name] = axis.values[rest % axis.values.length];
    rest = Math.floor(rest / axis.values.length);
  }
  // coordinates in the spec's axis order (JSON key order is part of the bytes of results.jsonl)
  const ordered: Record<string, AxisValue> = {};
  for (const axis of spec.axes) ordered[axis.name] = coords[axis.name];
  return { index, model, coords: ordered };
}

/** The scenario document of one point: the spec's document with each axis value written in. */
export function pointDocument(spec: Pick<SweepSpec, "scenario" | "axes">, point: SweepPoint): unknown {
  const doc = structuredClone(spec.scenario) as Record<string, unknown>;
  for (const axis of spec.axes) setPath(doc, axis.path, point.coords[axis.name]);
  return doc;
}

/** Writes `value` at dotted `path`; every step but the last must exist (the last may be new). */
function setPath(doc: Record<string, unknown>, path: string, value: AxisValue): void {
  const keys = path.split(".");
  let at: unknown = doc;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i];
    const next = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[k] : undefined;
    if (next === undefined && k === "config" && i === 0) {
      (at as Record<string, unknown>)[k] = {};
      at = (at as Record<string, unknown>)[k];
      continue;
    }
    if (next === null || typeof next !== "object") {
      const where = keys.slice(0, i + 1).join(".");
      const what = next === undefined ? "does not exist in the scenario" : "is not an object or a list";
      throw new EngineError("INVALID_ARGUMENT", `axis path ${path}: ${where} ${what}`, {
        issues: [{ path: "axes", message: `${path}: ${where} ${what}` }],
      });
    }
    at = next;
  }
  const last = keys[keys.length - 1];
  if (Array.isArray(at) && !/^\d+$/.test(last))
    throw new EngineError("INVALID_ARGUMENT", `axis path ${path}: ${last} is not a list index`, {
      issues: [{ path: "axes", message: `${path}: ${last} is not a list index` }],
    });
  (at as Record<string, unknown>)[last] = value;
}

/** A point's scenario, parsed (the scenario's own validation: INVALID_ARGUMENT naming the point). */
export function pointScenario(spec: Pick<SweepSpec, "scenario" | "axes">, point: SweepPoint): Scenario {
  try {
    return parseScenario(pointDocument(spec, point));
  } catch (e) {
    if (e instanceof EngineError && e.code === "INVALID_ARGUMENT")
      throw new EngineError(
        "INVALID_ARGUMENT",
        `point ${point.index} ${JSON.stringify(point.coords)}: ${e.message}`,
        { ...e.details, point: point.index },
      );
    throw e;
  }
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/**
 * Checks a parsed spec document whose scenario is inline (`resolveScenario` reads a file name
 * first): schema, distinct axis names and paths, no repeated value on an axis, the point count
 * within `maxPoints` (LIMIT_EXCEEDED past it), and every distinct value of every axis accepted by
 * the scenario's own validation. Throws INVALID_ARGUMENT with `details.issues`.
 */
export function checkSweepSpec(input: unknown, maxPoints = MAX_SWEEP_POINTS): SweepSpec {
  const r = sweepSpecSchema.safeParse(input);
  if (!r.success) invalid(issuesOf(r.error));
  const s = r.data;
  if (typeof s.scenario === "string")
    invalid([
      {
        path: "scenario",
        message: "a scenario file name is resolved by the CLI; send the scenario document itself",
      },
    ]);
  const issues: { path: string; message: string }[] = [];
  const names = new Set<string>();
  const paths = new Set<string>();
  s.axes.forEach((a, i) => {
    if (a.name === "model" || a.name === "index")
      issues.push({ path: `axes.${i}.name`, message: `"${a.name}" is reserved` });
    if (names.has(a.name))
      issues.push({ path: `axes.${i}.name`, message: `axis "${a.name}" is named twice` });
    if (paths.has(a.path)) issues.push({ path: `axes.${i}.path`, message: `${a.path} is swept by two axes` });
    if (a.path === "config.model")
      issues.push({ path: `axes.${i}.path`, message: "sweep models with `models`, not an axis" });
    names.add(a.name);
    paths.add(a.path);
    const seen = new Set<string>();
    a.values.forEach((v, j) => {
      const key = JSON.stringify(v);
      if (seen.has(key))
        issues.push({ path: `axes.${i}.values.${j}`, message: `value ${key} is listed twice` });
      seen.add(key);
    });
  });
  if (issues.length > 0) invalid(issues);
  const models = (s.models ?? [...MODEL_NAMES]) as ModelName[];
  if (new Set(models).size !== models.length)
    invalid([{ path: "models", message: "a model is listed twice" }]);
  let pointCount = models.length;
  for (const a of s.axes) pointCount *= a.values.length;
  if (pointCount > maxPoints)
    throw new EngineError(
      "LIMIT_EXCEEDED",
      `the sweep has ${pointCount} points, more than the ${maxPoints} allowed`,
      {
        limit: "maxSweepPoints",
        value: maxPoints,
      },
    );
  const scenario = s.scenario as Record<string, unknown>;
  const spec: SweepSpec = { scenario, models, axes: s.axes, pointCount, digest: "" };
  if (s.description !== undefined) spec.description = s.description;
  // each value of each axis, the other axes at their first value: the scenario's own checks
  for (let a = 0; a < s.axes.length; a++)
    for (let v = 0; v < s.axes[a].values.length; v++) {
      const coords: Record<string, AxisValue> = {};
      s.axes.forEach((ax, i) => {
        coords[ax.name] = i === a ? ax.values[v] : ax.values[0];
      });
      try {
        const scenario = parseScenario(pointDocument(spec, { index: -1, model: models[0], coords }));
        // the config each model runs with must resolve (a CPU count of 0 passes the schema, not the engine)
        for (const model of models) resolveConfig(deriveModelConfig(scenario.config, model).config);
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
        invalid([
          {
            path: `axes.${a}.values.${v}`,
            message: `${s.axes[a].path} = ${JSON.stringify(s.axes[a].values[v])}: ${e.message}`,
          },
        ]);
      }
    }
  if (s.axes.length === 0) parseScenario(pointDocument(spec, { index: -1, model: models[0], coords: {} }));
  spec.digest = createHash("sha256")
    .update(canonical({ description: spec.description ?? null, scenario, models, axes: s.axes }))
    .digest("hex");
  return spec;
}

function parseText(text: string, where: string): unknown {
  try {
    return text.trimStart().startsWith("{") ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new EngineError("INVALID_ARGUMENT", `${where} is not valid YAML/JSON: ${(e as Error).message}`, {
      issues: [{ path: "", message: (e as Error).message }],
    });
  }
}

/** Reads a file for a sweep spec, refusing one larger than a scenario file may be. */
async function readBounded(path: string): Promise<string> {
  const text = await readFile(path, "utf8");
  if (Buffer.byteLength(text) > MAX_SCENARIO_FILE_BYTES)
    throw new EngineError("LIMIT_EXCEEDED", `${path} is larger than ${MAX_SCENARIO_FILE_BYTES} bytes`, {
      limit: "scenarioFileBytes",
    });
  return text;
}

/**
 * Reads a sweep spec file; a `scenario` that is a file name is read (relative to the spec file's
 * folder) and put inline, so the checked spec is self-contained.
 */
export async function loadSweepSpecFile(path: string, maxPoints = MAX_SWEEP_POINTS): Promise<SweepSpec> {
  const doc = parseText(await readBounded(path), path);
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    const d = doc as Record<string, unknown>;
    if (typeof d.scenario === "string") {
      const file = isAbsolute(d.scenario) ? d.scenario : resolve(dirname(path), d.scenario);
      const scenarioDoc = parseText(await readBounded(file), file);
      if (scenarioDoc === null || typeof scenarioDoc !== "object" || Array.isArray(scenarioDoc))
        invalid([{ path: "scenario", message: `${file} does not hold a scenario document` }]);
      d.scenario = scenarioDoc;
    }
  }
  return checkSweepSpec(doc, maxPoints);
}

/** The spec as a document again (what a ConfigMap or a shard carries): scenario inline. */
export function specDocument(spec: SweepSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (spec.description !== undefined) out.description = spec.description;
  out.scenario = spec.scenario;
  out.models = spec.models;
  out.axes = spec.axes;
  return out;
}

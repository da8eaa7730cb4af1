import type { Command } from "../../src/engine/commands.js";
import type { InstanceConfigInput } from "../../src/engine/config.js";
import { Registry } from "../../src/registry.js";

export const PAGE = 4096;
export const MiB = 1024 * 1024;

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format (0.0.4) into samples; comment lines are skipped. */
export function parseText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (m === null) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL))
      labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Samples of one family whose labels include every label in `match`. */
export function select(samples: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The one value of `name` with labels `match`; throws when there is not exactly one. */
export function value(samples: Sample[], name: string, match: Record<string, string>): number {
  const found = select(samples, name, match);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(match)}: ${found.length} samples`);
  return found[0].value;
}

/** A registry with one instance and a terse command driver. */
export function newSim(name: string, config?: InstanceConfigInput) {
  const registry = new Registry();
  registry.create(name, config);
  // biome-ignore lint/suspicious/noExplicitAny: results are heterogenous JSON
  const ex = (cmd: Command): any => registry.execute(name, cmd);
  return { registry, ex };
}

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { buildFileDescriptors } from "./descriptors.js";

/** The service's proto, relative to the proto root (its package path, as buf and protoc see it). */
export const SIMULATOR_PROTO = "memcg_sim/v1/simulator.proto";
export const SIMULATOR_SERVICE = "memcg_sim.v1.SimulatorService";

/**
 * The project's `proto/` folder. Found by walking up from this module until a folder holds
 * `proto/memcg_sim/v1/simulator.proto`, because this file runs both as `src/grpc/proto.ts` (tsx,
 * vitest) and as `dist/src/grpc/proto.js`; a fixed `../..` breaks one of them.
 */
export function findProtoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(dir, "proto");
    if (existsSync(join(candidate, SIMULATOR_PROTO))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find proto/${SIMULATOR_PROTO} above ${from}`);
}

/**
 * How messages become JS objects on the server:
 * - camelCase names, so a decoded request is the REST body (plus `instance`);
 * - int64 as Number: the engine's values are exact integers ≤ 2^53 − 1, and a larger request
 *   value decodes to an unsafe integer that the command schemas refuse (zod `int()` is safe-only);
 * - defaults, so a zero-valued required scalar (`ms: 0`, `value: ""`) is present as it would be in
 *   JSON, while `optional` fields stay absent when unset (proto3 presence); unset message fields
 *   decode as null and the mappers drop them;
 * - no virtual oneof-name properties, which strict schemas would refuse as unknown keys.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: false,
};

export function loadSimulatorPackage(protoRoot: string = findProtoRoot()): protoLoader.PackageDefinition {
  return protoLoader.loadSync(SIMULATOR_PROTO, { ...LOADER_OPTIONS, includeDirs: [protoRoot] });
}

/** grpc-health-check's proto folder: its file is `health/v1/health.proto` under it. */
const HEALTH_PROTO_FILE = "health/v1/health.proto";
export function healthProtoRoot(): string {
  return healthProtoPath.slice(0, healthProtoPath.length - HEALTH_PROTO_FILE.length - 1);
}

/** Encoded FileDescriptorProtos of the simulator and health protos and their imports (server reflection). */
export function reflectionDescriptors(protoRoot: string = findProtoRoot()): Uint8Array[] {
  return buildFileDescriptors({
    includeDirs: [protoRoot, healthProtoRoot()],
    files: [SIMULATOR_PROTO, HEALTH_PROTO_FILE],
  });
}

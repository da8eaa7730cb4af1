import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { statusOf } from "../commands/error-status.js";
import { EngineError } from "../engine/index.js";

/** Trailer carrying the problem `code` of docs/API.md §2 (docs/API.md §10). */
export const ERROR_CODE_TRAILER = "memcg-sim-error-code";
/** Trailer carrying the problem `details` (e.g. `issues`) as UTF-8 JSON; binary because details may hold non-ASCII text. */
export const ERROR_DETAILS_TRAILER = "memcg-sim-error-details-bin";

export type GrpcError = grpc.ServerErrorResponse & {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
};

/** A gRPC error for one of the catalogue's codes: status from the one table, detail as message, code as trailer. */
export function grpcErrorOf(err: EngineError): GrpcError {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_TRAILER, err.code);
  if (err.details !== undefined)
    metadata.set(ERROR_DETAILS_TRAILER, Buffer.from(JSON.stringify(err.details), "utf8"));
  return Object.assign(new Error(err.message), {
    code: statusOf(err.code).grpc as grpc.status,
    details: err.message,
    metadata,
  });
}

/**
 * Any thrown value as the error to send. An EngineError is a request error; anything else is a
 * bug: logged with its stack, answered INTERNAL with a fixed message so nothing internal leaks
 * (docs/API.md §2: "a bug's response never leaks a stack").
 */
export function toGrpcError(err: unknown, logger: Logger, method: string): GrpcError {
  if (err instanceof EngineError) return grpcErrorOf(err);
  logger.error({ err, method }, "gRPC handler failed");
  return grpcErrorOf(new EngineError("INTERNAL", "internal error"));
}

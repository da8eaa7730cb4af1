/**
 * The one closed catalogue of request-error codes (docs/ARCHITECTURE.md §1, habit 5). The engine
 * throws `EngineError` with one of these; transports map the code to an HTTP and a gRPC status
 * through `src/commands/error-status.ts`. Simulated kernel outcomes (ENOMEM, an OOM kill) are
 * never errors: they are data in results.
 */
export const ERROR_CODES = [
  "INVALID_ARGUMENT",
  "INSTANCE_NOT_FOUND",
  "CGROUP_NOT_FOUND",
  "CACHE_NOT_FOUND",
  "TASK_NOT_FOUND",
  "NOT_FOUND",
  "INSTANCE_EXISTS",
  "CGROUP_EXISTS",
  "CACHE_EXISTS",
  "TASK_EXISTS",
  "CGROUP_BUSY",
  "CACHE_BUSY",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "LIMIT_EXCEEDED",
  "UNAUTHENTICATED",
  "NOT_READY",
  "INSUFFICIENT_STORAGE",
  // errnos of the cgroupfs facade (docs/API.md §7)
  "ENOENT",
  "EINVAL",
  "EBUSY",
  "EAGAIN",
  "EOPNOTSUPP",
  "EIO",
  "ENOMEM",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail: string, details?: Record<string, unknown>) {
    super(detail);
    this.name = "EngineError";
    this.code = code;
    this.details = details;
  }
}

export function fail(code: ErrorCode, detail: string, details?: Record<string, unknown>): never {
  throw new EngineError(code, detail, details);
}

/** A broken engine invariant: a bug, never a client error (500/INTERNAL, never sent with its text). */
export function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`engine invariant broken: ${what}`);
}

import { ERROR_CODES, type ErrorCode } from "../engine/index.js";

/** gRPC status codes used (numeric values of grpc.status). */
export const GRPC = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNAUTHENTICATED: 16,
  UNAVAILABLE: 14,
  INTERNAL: 13,
} as const;

export interface ErrorStatus {
  http: number;
  grpc: number;
  title: string;
}

/**
 * The one table from error code to HTTP status, gRPC status and problem title (docs/API.md §2, §7,
 * §10; docs/ARCHITECTURE.md habit 5). A test fails when a code of the catalogue is missing here.
 */
export const ERROR_STATUS: Record<ErrorCode, ErrorStatus> = {
  INVALID_ARGUMENT: { http: 400, grpc: GRPC.INVALID_ARGUMENT, title: "Invalid argument" },
  INSTANCE_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND, title: "Instance not found" },
  CGROUP_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND, title: "Cgroup not found" },
  CACHE_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND, title: "Cache not found" },
  TASK_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND, title: "Task not found" },
  NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND, title: "Not found" },
  INSTANCE_EXISTS: { http: 409, grpc: GRPC.ALREADY_EXISTS, title: "Instance exists" },
  CGROUP_EXISTS: { http: 409, grpc: GRPC.ALREADY_EXISTS, title: "Cgroup exists" },
  CACHE_EXISTS: { http: 409, grpc: GRPC.ALREADY_EXISTS, title: "Cache exists" },
  TASK_EXISTS: { http: 409, grpc: GRPC.ALREADY_EXISTS, title: "Task exists" },
  CGROUP_BUSY: { http: 409, grpc: GRPC.FAILED_PRECONDITION, title: "Cgroup busy" },
  CACHE_BUSY: { http: 409, grpc: GRPC.FAILED_PRECONDITION, title: "Cache busy" },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: GRPC.RESOURCE_EXHAUSTED, title: "Payload too large" },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: GRPC.INVALID_ARGUMENT, title: "Unsupported media type" },
  LIMIT_EXCEEDED: { http: 429, grpc: GRPC.RESOURCE_EXHAUSTED, title: "Limit exceeded" },
  UNAUTHENTICATED: { http: 401, grpc: GRPC.UNAUTHENTICATED, title: "Unauthenticated" },
  NOT_READY: { http: 503, grpc: GRPC.UNAVAILABLE, title: "Not ready" },
  INSUFFICIENT_STORAGE: { http: 507, grpc: GRPC.RESOURCE_EXHAUSTED, title: "Insufficient storage" },
  ENOENT: { http: 404, grpc: GRPC.NOT_FOUND, title: "No such file" },
  EINVAL: { http: 400, grpc: GRPC.INVALID_ARGUMENT, title: "Invalid argument" },
  EBUSY: { http: 409, grpc: GRPC.FAILED_PRECONDITION, title: "Device or resource busy" },
  EAGAIN: { http: 409, grpc: GRPC.FAILED_PRECONDITION, title: "Try again" },
  EOPNOTSUPP: { http: 400, grpc: GRPC.INVALID_ARGUMENT, title: "Operation not supported" },
  EIO: { http: 409, grpc: GRPC.FAILED_PRECONDITION, title: "I/O error" },
  ENOMEM: { http: 409, grpc: GRPC.FAILED_PRECONDITION, title: "Out of memory" },
  INTERNAL: { http: 500, grpc: GRPC.INTERNAL, title: "Internal error" },
};

export function statusOf(code: string): ErrorStatus {
  return (ERROR_STATUS as Record<string, ErrorStatus>)[code] ?? ERROR_STATUS.INTERNAL;
}

export { ERROR_CODES };

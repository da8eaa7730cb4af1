import { z } from "zod";
import { instanceConfigSchema } from "./schemas.js";

/**
 * `POST /v1/instances` (docs/API.md §3): the name's pattern is checked by the registry (one place for
 * REST, gRPC and restore); here only the shape. Unknown keys are rejected, as everywhere.
 */
export const createInstanceBody = z
  .object({ name: z.string().min(1).max(63), config: instanceConfigSchema.optional() })
  .strict();

/** `GET .../events` query (docs/API.md §8). */
export const eventsQuery = z
  .object({
    sinceSeq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).optional(),
  })
  .strict();

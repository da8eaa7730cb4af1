import { z } from "zod";
import type { SweepService } from "../../sweep/service.js";
import type { ZodApp } from "../context.js";

const sweepParams = z.object({ id: z.string().max(64) }).strict();

/** The answer of the sweep routes (`SweepStatus`): progress while running, then done or failed. */
export const sweepStatusSchema = z
  .object({
    id: z.string(),
    state: z.enum(["running", "done", "failed"]),
    digest: z
      .string()
      .describe("sha256 of the spec's canonical JSON: the same as `memcg-sim sweep` writes in sweep.json"),
    pointCount: z.number().int().min(0),
    pointsDone: z.number().int().min(0),
    error: z.object({ code: z.string(), detail: z.string() }).nullable(),
  })
  .describe("A sweep run by the server (issue #21).");
export const sweepListSchema = z.object({ sweeps: z.array(sweepStatusSchema) });

/**
 * `POST /v1/sweeps` (202, the sweep runs on the server's worker threads), `GET /v1/sweeps`,
 * `GET /v1/sweeps/{id}` (progress), `GET /v1/sweeps/{id}/results` (results.jsonl once done, the
 * same bytes `memcg-sim sweep` writes; 409 EAGAIN while it runs). Bounded by the service's limits:
 * 429 LIMIT_EXCEEDED past them.
 */
export function sweepRoutes(app: ZodApp, sweeps: SweepService): void {
  app.post("/v1/sweeps", async (req, reply) => {
    const status = sweeps.start(req.body);
    return reply.code(202).header("location", `/v1/sweeps/${status.id}`).send(status);
  });
  app.get("/v1/sweeps", async () => ({ sweeps: sweeps.list() }));
  app.get("/v1/sweeps/:id", { schema: { params: sweepParams } }, async (req) => sweeps.status(req.params.id));
  app.get("/v1/sweeps/:id/results", { schema: { params: sweepParams } }, async (req, reply) =>
    reply.type("application/x-ndjson").send(sweeps.results(req.params.id)),
  );
}

import { eventsQuery } from "../../commands/instance-body.js";
import { listEvents } from "../../commands/queries.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";
import { resumeSeqOf, type SseHub, wantsEventStream } from "../sse.js";

/** API.md §8: the event log as a JSON page, or as SSE when the client accepts text/event-stream. */
export function eventRoutes(app: ZodApp, ctx: RouteContext, hub: SseHub): void {
  app.get(
    "/v1/instances/:name/events",
    { schema: { params: instanceParams, querystring: eventsQuery } },
    async (req, reply) => {
      if (wantsEventStream(req)) {
        // Last-Event-ID (a reconnecting EventSource) wins over the query it reconnects with.
        hub.open(req, reply, req.params.name, resumeSeqOf(req) ?? req.query.sinceSeq ?? 0);
        return reply;
      }
      return listEvents(ctx.registry, req.params.name, req.query.sinceSeq ?? 0, req.query.limit);
    },
  );
}

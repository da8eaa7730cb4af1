import { eventsQuery } from "../../commands/instance-body.js";
import { DEFAULT_EVENT_PAGE, listEvents } from "../../commands/queries.js";
import { limitExceeded } from "../../registry.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";
import { resumeSeqOf, type SseHub, wantsEventStream } from "../sse.js";

/** docs/API.md §8: the event log as a JSON page, or as SSE when the client accepts text/event-stream. */
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
      const limit = req.query.limit;
      const max = ctx.registry.limits.maxEventPage;
      if (limit !== undefined && limit > max) limitExceeded("maxEventPage", max, `events page limit ${max}`);
      return listEvents(
        ctx.registry,
        req.params.name,
        req.query.sinceSeq ?? 0,
        limit ?? Math.min(DEFAULT_EVENT_PAGE, max),
      );
    },
  );
}

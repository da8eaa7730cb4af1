import type { Readable } from "node:stream";
import { z } from "zod";
import type { GzipMode } from "../../replay/input.js";
import { parsePidMap, replayIntoInstance } from "../../replay/service.js";
import type { RouteContext, ZodApp } from "../context.js";
import { instanceParams } from "../paths.js";

/** Media types the replay route takes, all streamed (never buffered): the trace as text or gzip. */
export const REPLAY_MEDIA_TYPES = [
  "text/plain",
  "application/gzip",
  "application/x-gzip",
  "application/octet-stream",
];

const replayQuery = z.object({ pidCgroup: z.union([z.string(), z.array(z.string())]).optional() }).strict();

/**
 * `POST /v1/instances/{name}/replay` (issue #15): the body is a kernel trace (ftrace text or perf
 * script, `text/plain`, or gzip as `application/gzip` or with `content-encoding: gzip`), streamed
 * line by line into the instance; the pid → cgroup map comes as `?pidCgroup=PID=/path,...` or the
 * header `memcg-sim-pid-cgroup`. The answer is the summary of `memcg-sim replay --json` for the
 * instance's model, `real` null. The route has its own body parsers (a pass-through stream), so a
 * 1 GB upload is read as it arrives.
 */
export async function replayRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  await app.register(async (plain) => {
    const sub = plain as unknown as ZodApp;
    sub.removeContentTypeParser(["text/plain"]);
    sub.addContentTypeParser(REPLAY_MEDIA_TYPES, (_req, payload, done) => done(null, payload));
    sub.post(
      "/v1/instances/:name/replay",
      { schema: { params: instanceParams, querystring: replayQuery }, config: { streamBody: true } },
      async (req) => {
        const header = req.headers["memcg-sim-pid-cgroup"];
        const q = req.query.pidCgroup;
        const items = [
          ...(q === undefined ? [] : Array.isArray(q) ? q : [q]),
          ...(header === undefined ? [] : Array.isArray(header) ? header : [header]),
        ];
        const pids = parsePidMap(items);
        const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
        const gz: GzipMode =
          req.headers["content-encoding"] === "gzip" ||
          type === "application/gzip" ||
          type === "application/x-gzip"
            ? "yes"
            : type === "text/plain"
              ? "no"
              : "auto";
        const body = req.body as Readable | undefined;
        const source: AsyncIterable<Buffer> = body ?? (async function* () {})();
        const out = await replayIntoInstance(ctx.registry, req.params.name, source, pids, gz);
        await ctx.durable();
        return out;
      },
    );
  });
}

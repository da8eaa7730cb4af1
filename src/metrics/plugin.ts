import type { FastifyInstance } from "fastify";
import { type Metrics, PROMETHEUS_CONTENT_TYPE } from "./index.js";

export interface MetricsPluginOptions {
  metrics: Metrics;
}

/**
 * GET /metrics and GET /metrics/cadvisor (Prometheus text 0.0.4), and an onResponse hook that
 * times every request into `memcg_sim_rest_request_duration_seconds` by route pattern (requests
 * that matched no route are labelled `route="unmatched"`, so clients cannot grow the label set).
 *
 * The plugin does not encapsulate (it carries fastify's `skip-override` mark, as fastify-plugin
 * would set), so the hook sees every route of the app, whether it is `app.register(metricsPlugin,
 * {metrics})`-ed or called directly as `await metricsPlugin(app, {metrics})`.
 */
export async function metricsPlugin(app: FastifyInstance, opts: MetricsPluginOptions): Promise<void> {
  const { metrics } = opts;
  app.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.observeRest(route, req.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.get("/metrics", async (_req, reply) => {
    const text = await metrics.scrape();
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(text);
  });
  app.get("/metrics/cadvisor", async (_req, reply) => {
    const text = await metrics.cadvisorText();
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(text);
  });
}

(metricsPlugin as unknown as Record<symbol, unknown>)[Symbol.for("skip-override")] = true;
(metricsPlugin as unknown as Record<symbol, unknown>)[Symbol.for("fastify.display-name")] =
  "memcg-sim-metrics";

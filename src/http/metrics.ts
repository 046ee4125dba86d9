/**
 * `/metrics`: the broker's metrics in the Prometheus text format 0.0.4, or in OpenMetrics 1.0 when
 * the `Accept` header asks for `application/openmetrics-text` (as Prometheus does). Every family
 * is listed in docs/metrics.md.
 *
 * @module
 */

import { Hono } from "hono";
import {
  formatOpenMetrics,
  formatPrometheus,
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "../broker/metrics/exposition.ts";
import type { MetricsRegistry } from "../broker/metrics/registry.ts";
import type { Logger } from "../ports.ts";
import type { HttpEnv } from "./auth.ts";

/** The metrics route. */
export function metricsRoutes(registry: MetricsRegistry, logger: Logger): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get("/metrics", async (c) => {
    const families = await registry.collect((err) =>
      logger.warn("A metrics collector failed; its families are left out of this scrape", {
        error: err instanceof Error ? err.message : String(err),
      })
    );
    const open = negotiateFormat(c.req.header("accept")) === "openmetrics";
    return c.body(open ? formatOpenMetrics(families) : formatPrometheus(families), 200, {
      "content-type": open ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
    });
  });
  return app;
}

/**
 * `/healthz` and `/readyz`. Health means the process serves HTTP: it is answered 200 from the
 * first moment (storage may still be recovering). Readiness means the broker can take clients:
 * storage open, Kafka listeners bound, the cluster joined and the groups of the coordinator
 * shards it leads loaded, and it still holds its place in the cluster; otherwise 503 with the
 * phase and the reason as JSON. Shutdown makes it unready before anything stops.
 *
 * @module
 */

import { Hono } from "hono";
import type { Readiness } from "../broker/readiness.ts";
import type { HttpEnv } from "./auth.ts";

/** The health routes. */
export function healthRoutes(readiness: Readiness): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const r = readiness.report();
    if (r.ready) return c.json({ status: "ready", phase: r.phase });
    return c.json({ status: "not ready", phase: r.phase, reason: r.reason }, 503);
  });
  return app;
}

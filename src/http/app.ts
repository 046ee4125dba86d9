/**
 * The HTTP plane: one Hono app behind one listener, served by the runtime's own server (Bun.serve,
 * Deno.serve; see `src/runtime/{bun,deno}/http.ts`). This module is a fetch handler and nothing
 * more: it binds no socket. It composes routers:
 *
 * - `/healthz`, `/readyz` (health.ts) and `/metrics` (metrics.ts), always;
 * - the Schema Registry, mounted at `/` when given: its paths (`/subjects`, `/schemas`, `/config`,
 *   `/mode`, `/compatibility`, `/contexts`) are reserved, and answer 404 with a JSON error until
 *   one is mounted;
 * - the REST proxy (rest_proxy/), mounted at `/`: `/v3`, `/topics`, `/brokers`, `/consumers`. It is
 *   built here when the broker's in-process Kafka connections are given (`kafka`) and
 *   `kbin.rest.enable` is on; otherwise its paths answer 404 with a JSON error like the registry's.
 *
 * Every request passes the metrics middleware (`kbin_http_requests_total`, by service, route and
 * status class) and the authentication middleware (auth.ts), which puts the principal on the
 * context. Errors are JSON in Confluent's shape, `{"error_code": 404, "message": "…"}`.
 *
 * @module
 */

import { Hono } from "hono";
import { routePath } from "hono/route";
import type { Broker } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import type { BrokerMetrics } from "../broker/metrics/broker_metrics.ts";
import type { Readiness } from "../broker/readiness.ts";
import type { Clock, HttpHandler, LocalKafka, Logger } from "../ports.ts";
import { authMiddleware, HttpAuthenticator, httpAuthSettings, type HttpEnv } from "./auth.ts";
import { healthRoutes } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import { brokerHttpUrl } from "./peers.ts";
import { schemaRegistryOf, schemaRegistryRoutes } from "./schema_registry/routes.ts";
import { restSchemaSerde } from "./schema_registry/rest_serde.ts";
import { createRestProxy, type SchemaSerde } from "./rest_proxy/rest_proxy.ts";

export type { HttpEnv } from "./auth.ts";

/** First path segments the Schema Registry owns (Confluent's API at the root). */
export const SCHEMA_REGISTRY_PATHS: readonly string[] = [
  "/subjects",
  "/schemas",
  "/config",
  "/mode",
  "/compatibility",
  "/contexts",
];
/** First path segments the REST proxy owns (v3 admin and produce, v2 topics and consumers). */
export const REST_PROXY_PATHS: readonly string[] = ["/v3", "/topics", "/brokers", "/consumers"];

/** What {@link createHttpApp} is built from. */
export interface HttpAppOptions {
  /** The broker once it exists (null while storage opens: what needs it answers 503). */
  broker: () => Broker | null;
  readiness: Readiness;
  metrics: BrokerMetrics;
  config: BrokerConfig;
  logger: Logger;
  clock: Clock;
  /** The Schema Registry's routes, mounted at `/`. */
  schemaRegistry?: Hono<HttpEnv>;
  /** The REST proxy's routes, mounted at `/` (instead of the one built from `kafka`). */
  restProxy?: Hono<HttpEnv>;
  /** In-process Kafka connections as a principal: the REST proxy is built on them (null until ready). */
  kafka?: () => LocalKafka | null;
  /** Registers work for shutdown (the REST proxy's consumers leave their groups). */
  onShutdown?: (hook: () => Promise<void>) => void;
  /** The Schema Registry's encoder, for the REST proxy's AVRO, JSONSCHEMA and PROTOBUF data. */
  schemaSerde?: SchemaSerde;
}

function serviceOf(path: string): string {
  if (path === "/healthz" || path === "/readyz") return "health";
  if (path === "/metrics") return "metrics";
  const first = `/${path.split("/")[1] ?? ""}`;
  if (SCHEMA_REGISTRY_PATHS.includes(first)) return "schema_registry";
  if (REST_PROXY_PATHS.includes(first)) return "rest_proxy";
  return "other";
}

function notServed(what: string): (c: { json: (body: unknown, status: 404) => Response }) => Response {
  return (c) => c.json({ error_code: 404, message: `HTTP 404 Not Found: this kbin does not serve the ${what}` }, 404);
}

/**
 * Builds the HTTP plane's app.
 * @param options the broker (lazily), readiness, metrics, configuration and optional routers
 * @returns the Hono app; its `fetch` is the handler adapters serve (see {@link httpHandler})
 * @throws ConfigError for unusable `kbin.http.authentication*` settings
 * @example
 * const app = createHttpApp({ broker: () => broker, readiness, metrics, config, logger, clock });
 * const response = await app.request("/healthz");
 */
export function createHttpApp(options: HttpAppOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const authenticator = new HttpAuthenticator(httpAuthSettings(options.config));
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    let route = routePath(c, -1);
    if (route === "*" || route === "/*") route = "unmatched";
    options.metrics.http(serviceOf(c.req.path), route, c.res.status, (performance.now() - started) / 1000);
  });
  app.use("*", authMiddleware(authenticator, { broker: options.broker, logger: options.logger }));
  app.route("/", healthRoutes(options.readiness));
  app.route("/", metricsRoutes(options.metrics.registry, options.logger));
  const registryOf = options.config.bool("kbin.schema.registry.enable")
    ? schemaRegistryOf({
      broker: options.broker,
      defaultLevel: options.config.get("schema.compatibility.level") ?? "BACKWARD",
      topic: options.config.get("kbin.schema.registry.topic") ?? "_schemas",
    })
    : null;
  const schemaRegistry = options.schemaRegistry ??
    (registryOf
      ? schemaRegistryRoutes({ broker: options.broker, logger: options.logger, registry: registryOf })
      : undefined);
  const schemaSerde = options.schemaSerde ?? (registryOf ? restSchemaSerde(registryOf) : undefined);
  if (schemaRegistry) app.route("/", schemaRegistry);
  else {
    for (const p of SCHEMA_REGISTRY_PATHS) {
      app.all(p, notServed("Schema Registry")).all(`${p}/*`, notServed("Schema Registry"));
    }
  }
  let restProxy = options.restProxy;
  if (restProxy === undefined && options.kafka !== undefined && options.config.bool("kbin.rest.enable")) {
    const proxy = createRestProxy({
      kafka: options.kafka,
      broker: options.broker,
      config: options.config,
      logger: options.logger,
      clock: options.clock,
      ...(schemaSerde ? { serde: schemaSerde } : {}),
      peers: {
        httpUrlOf: (nodeId) => {
          const broker = options.broker();
          return broker === null ? null : brokerHttpUrl(broker, nodeId);
        },
        fetch: (input, init) => fetch(input, init),
      },
    });
    options.onShutdown?.(() => proxy.close());
    restProxy = proxy.routes;
  }
  if (restProxy) app.route("/", restProxy);
  else for (const p of REST_PROXY_PATHS) app.all(p, notServed("REST proxy")).all(`${p}/*`, notServed("REST proxy"));
  app.notFound((c) => c.json({ error_code: 404, message: "HTTP 404 Not Found" }, 404));
  app.onError((err, c) => {
    options.logger.error("HTTP request failed", {
      method: c.req.method,
      path: c.req.path,
      error: err instanceof Error ? err.message : String(err),
    });
    return c.json({ error_code: 500, message: "Internal server error" }, 500);
  });
  return app;
}

/**
 * The app as the runtimes' servers call it (the client's address becomes `c.env.remote`).
 * @param app the HTTP plane's app
 * @returns the handler for `Runtime.serveHttp`
 */
export function httpHandler(app: Hono<HttpEnv>): HttpHandler {
  return (request, info) => app.fetch(request, { remote: info.remote });
}

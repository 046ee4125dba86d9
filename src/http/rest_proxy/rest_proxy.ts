/**
 * The REST proxy: Confluent REST Proxy v3 (administration and produce under `/v3`) and the v2 API
 * (`/topics`, `/brokers` and consumer instances under `/consumers`), as one Hono router the HTTP
 * plane mounts at `/` (docs/rest-proxy.md).
 *
 * The proxy is a Kafka client of its own broker: each HTTP request's principal (from the HTTP
 * plane's authentication) gets kbin's Kafka client over in-process connections acting as that
 * principal (`LocalKafka`), so the broker decides with its ACLs, quotas of work and error codes
 * exactly as for a Kafka client of the same user. Nothing here reads storage directly.
 *
 * Schema-based formats (AVRO, JSONSCHEMA, PROTOBUF) go through a {@link SchemaSerde} when one is
 * given (the Schema Registry's); without one they are refused with a 400 that says so.
 *
 * @module
 */

import { Hono } from "hono";
import type { BrokerConfig } from "../../broker/config.ts";
import { KafkaClientError } from "../../client/errors.ts";
import type { Codecs } from "../../protocol/compression/mod.ts";
import type { Clock, LocalKafka, Logger } from "../../ports.ts";
import type { HttpEnv } from "../auth.ts";
import { mountV3 } from "./admin.ts";
import { ClientPool } from "./clients.ts";
import { ConsumerManager } from "./consumers.ts";
import { type ProxyContext, restProxySettings, V2_JSON } from "./context.ts";
import { kafkaError, RestCode, RestError } from "./errors.ts";
import type { SchemaSerde } from "./records.ts";
import type { Peers } from "./forward.ts";
import { mountV2 } from "./v2.ts";

export type { SchemaSerde } from "./records.ts";
export type { Peers } from "./forward.ts";

/** What {@link createRestProxy} is built from. */
export interface RestProxyOptions {
  /** In-process Kafka connections as a principal (null while the broker starts). */
  kafka: () => LocalKafka | null;
  /** The cluster id, this node's id and the codecs (null while the broker starts). */
  broker: () => { clusterId: string; nodeId: number; codecs: Codecs } | null;
  config: BrokerConfig;
  logger: Logger;
  clock: Clock;
  /** The Schema Registry's encoder for AVRO, JSONSCHEMA and PROTOBUF data. */
  serde?: SchemaSerde;
  /** The cluster's other brokers' HTTP listeners (produce forwards records they lead there). */
  peers?: Peers;
}

/** A running REST proxy. */
export interface RestProxy {
  /** The routes, to mount at `/`. */
  readonly routes: Hono<HttpEnv>;
  /** Closes consumer instances (they leave their groups) and every caller's client. */
  close(): Promise<void>;
  /** Consumer instances now. */
  readonly consumerInstances: number;
}

/** Callers' clients idle this long are closed. */
const CLIENT_IDLE_MS = 5 * 60 * 1000;

/**
 * Builds the REST proxy.
 * @param options the broker's in-process connections, configuration and the optional serde
 * @returns the routes and their shutdown
 * @example
 * const proxy = createRestProxy({ kafka: () => local, broker: () => broker, config, logger, clock });
 * app.route("/", proxy.routes);
 */
export function createRestProxy(options: RestProxyOptions): RestProxy {
  const settings = restProxySettings(options.config);
  const now = () => options.clock.now();
  const pool = new ClientPool({
    kafka: options.kafka,
    idleMs: CLIENT_IDLE_MS,
    now,
    logger: options.logger,
    producer: {
      localNode: () => options.broker()?.nodeId ?? -1,
      lingerMs: 0,
      deliveryTimeoutMs: 30_000,
      logger: options.logger,
    },
  });
  const decompress = (codec: number, data: Uint8Array) => {
    const b = options.broker();
    if (b === null) throw new RestError(503, "The broker is starting");
    return b.codecs.decompress(codec, data);
  };
  const consumers = new ConsumerManager({
    kafka: options.kafka,
    decompress,
    logger: options.logger,
    now,
    instanceTimeoutMs: settings.consumerInstanceTimeoutMs,
    maxInstances: settings.maxConsumerInstances,
    serde: options.serde,
  });
  const ctx: ProxyContext = {
    settings,
    pool,
    identity: () => {
      const b = options.broker();
      return b === null ? null : { clusterId: b.clusterId, nodeId: b.nodeId };
    },
    decompress,
    serde: options.serde,
    peers: options.peers,
    logger: options.logger,
    now,
  };
  const routes = new Hono<HttpEnv>();
  mountV3(routes, ctx);
  mountV2(routes, { ...ctx, consumers });
  routes.onError((err, c) => {
    const contentType = c.req.path.startsWith("/v3") ? "application/json" : V2_JSON;
    let answer: RestError;
    if (err instanceof RestError) answer = err;
    else if (err instanceof KafkaClientError) answer = kafkaError(err.code, err.message);
    else {
      options.logger.error("REST proxy request failed", {
        method: c.req.method,
        path: c.req.path,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      answer = new RestError(RestCode.INTERNAL, "Internal Server Error");
    }
    return new Response(JSON.stringify(answer.body()), {
      status: answer.status,
      headers: { "content-type": contentType },
    });
  });
  return {
    routes,
    get consumerInstances() {
      return consumers.size;
    },
    async close() {
      await consumers.close();
      await pool.close();
    },
  };
}

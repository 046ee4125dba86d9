/**
 * What the REST proxy's routes share: its settings, the callers' Kafka clients, the v2 consumer
 * instances, the cluster's identity, and small helpers for Confluent's media types, JSON bodies
 * and errors.
 *
 * @module
 */

import type { Context } from "hono";
import type { BrokerConfig } from "../../broker/config.ts";
import type { DecompressFn } from "../../protocol/records/mod.ts";
import type { Logger } from "../../ports.ts";
import type { HttpEnv } from "../auth.ts";
import type { ClientPool } from "./clients.ts";
import type { Peers } from "./forward.ts";
import { RestCode, RestError } from "./errors.ts";
import type { SchemaSerde } from "./records.ts";

/** The REST proxy's settings (docs/rest-proxy.md). */
export interface RestProxySettings {
  /** `consumer.instance.timeout.ms`: a v2 consumer idle this long is closed and leaves its group. */
  consumerInstanceTimeoutMs: number;
  /** `consumer.request.timeout.ms`: the longest a v2 `GET …/records` waits for records. */
  consumerRequestTimeoutMs: number;
  /** `consumer.request.max.bytes`: the most record bytes one v2 `GET …/records` answers. */
  consumerRequestMaxBytes: number;
  /** `kbin.rest.max.consumer.instances`: v2 consumer instances beyond this are refused (429). */
  maxConsumerInstances: number;
  /** `api.v3.produce.batch.maximum.entries`: entries of one `records:batch` request. */
  produceBatchMaxEntries: number;
}

/**
 * Reads the REST proxy's settings.
 * @param config the broker configuration
 */
export function restProxySettings(config: BrokerConfig): RestProxySettings {
  return {
    consumerInstanceTimeoutMs: Math.max(1, config.number("consumer.instance.timeout.ms")),
    consumerRequestTimeoutMs: Math.max(0, config.number("consumer.request.timeout.ms")),
    consumerRequestMaxBytes: Math.max(1, config.number("consumer.request.max.bytes")),
    maxConsumerInstances: Math.max(0, config.number("kbin.rest.max.consumer.instances")),
    produceBatchMaxEntries: Math.max(1, config.number("api.v3.produce.batch.maximum.entries")),
  };
}

/** The cluster as the proxy reports it. */
export interface ClusterIdentity {
  clusterId: string;
  nodeId: number;
}

/** What every route of the proxy can use. */
export interface ProxyContext {
  settings: RestProxySettings;
  pool: ClientPool;
  /** The cluster's id and this broker's node id; null while the broker starts. */
  identity(): ClusterIdentity | null;
  decompress: DecompressFn;
  serde: SchemaSerde | undefined;
  /** The cluster's other brokers, to forward records to their leaders (several brokers). */
  peers?: Peers | undefined;
  logger: Logger;
  now(): number;
}

/** The Hono context of a proxy route. */
export type Ctx = Context<HttpEnv>;

/** `application/vnd.kafka.v2+json`: v2 control calls and answers. */
export const V2_JSON = "application/vnd.kafka.v2+json";
/** v2 records with base64 keys and values. */
export const V2_BINARY = "application/vnd.kafka.binary.v2+json";
/** v2 records with embedded JSON keys and values. */
export const V2_JSON_JSON = "application/vnd.kafka.json.v2+json";

/** The cluster identity, or a 503 while the broker starts. */
export function identity(ctx: ProxyContext): ClusterIdentity {
  const id = ctx.identity();
  if (id === null) throw new RestError(503, "The broker is starting");
  return id;
}

/**
 * Checks a `{cluster_id}` path segment against this cluster.
 * @throws RestError 404 as Confluent answers an unknown cluster
 */
export function checkCluster(ctx: ProxyContext, clusterId: string): ClusterIdentity {
  const id = identity(ctx);
  if (clusterId !== id.clusterId) throw new RestError(RestCode.NOT_FOUND, `Cluster ${clusterId} cannot be found.`);
  return id;
}

/** The caller: the authenticated principal and the client's address. */
export function callerOf(c: Ctx): { principal: string; remote: string } {
  return { principal: c.get("principal"), remote: c.env?.remote ?? "" };
}

/** The base URL of this request's server (for `metadata.self` and `base_uri`). */
export function baseUrl(c: Ctx): string {
  return new URL(c.req.url).origin;
}

/** A JSON answer with a content type of the caller's choosing (Hono's `c.json` says application/json). */
export function jsonResponse(body: unknown, status: number, options: { contentType?: string } = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": options.contentType ?? "application/json" },
  });
}

/** A `RestError` as a response. */
export function errorResponse(err: RestError, contentType = "application/json"): Response {
  return jsonResponse(err.body(), err.status, { contentType });
}

/** The largest JSON body read whole (streaming produce bodies are read object by object instead). */
export const MAX_JSON_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Reads a JSON request body.
 * @param options.optional an empty body gives `undefined` instead of a 422
 * @throws RestError 400 for a body that is not JSON, 422 for an empty one, 413 beyond 64 MiB
 */
export async function readJson(c: Ctx, options: { optional?: boolean } = {}): Promise<unknown> {
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_JSON_BODY_BYTES) {
    throw new RestError(
      413,
      "The request included a message larger than the maximum message size the server can accept.",
    );
  }
  const text = await c.req.text();
  if (text.trim() === "") {
    if (options.optional) return undefined;
    throw new RestError(RestCode.UNPROCESSABLE, "Payload error. Request body is empty. Data is required.");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RestError(RestCode.BAD_REQUEST, `Cannot parse the request body as JSON: ${(err as Error).message}`);
  }
}

/** `value` as an object, or a 422 naming what was expected. */
export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RestError(RestCode.UNPROCESSABLE, `Cannot read ${what}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** A path segment as a non-negative int32, or a 404 as Confluent answers a bad id. */
export function intParam(text: string, what: string, options: { errorCode?: number } = {}): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0x7fffffff) {
    throw new RestError(options.errorCode ?? RestCode.NOT_FOUND, `${what} ${JSON.stringify(text)} is not a valid id`);
  }
  return Number(text);
}

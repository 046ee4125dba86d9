/**
 * The REST Proxy v2 API: topics (`GET /topics`, `/topics/{t}`, partitions and their offsets),
 * brokers (`GET /brokers`), produce (`POST /topics/{t}[/partitions/{p}]`) and consumer instances
 * (`/consumers/{group}` and `/consumers/{group}/instances/{instance}/…`). Answers are
 * `application/vnd.kafka.v2+json`; records are `application/vnd.kafka.binary.v2+json` (base64
 * keys and values) or `application/vnd.kafka.json.v2+json` (embedded JSON), as the consumer's
 * format says.
 *
 * @module
 */

import type { Hono } from "hono";
import { stringifyJsonValue } from "../schema_registry/serde/json_value.ts";
import { listOffsets, OffsetSpec } from "../../client/groups.ts";
import { DESCRIBE_CONFIGS_API } from "../../protocol/generated/32_describe_configs.ts";
import { ConfigResourceType } from "../../protocol/generated/configs.ts";
import { ErrorCode } from "../../protocol/generated/errors.ts";
import type { MetadataResponseTopic } from "../../protocol/generated/03_metadata.ts";
import type { HttpEnv } from "../auth.ts";
import type { CallerClient } from "./clients.ts";
import type { ConsumerInstance, ConsumerInstanceConfig, ConsumerManager } from "./consumers.ts";
import {
  asObject,
  baseUrl,
  callerOf,
  type Ctx,
  intParam,
  jsonResponse,
  type ProxyContext,
  readJson,
  V2_JSON,
} from "./context.ts";
import { kafkaError, Messages, RestCode, RestError } from "./errors.ts";
import { produceV2 } from "./produce.ts";

function v2(body: unknown, status = 200): Response {
  return jsonResponse(body, status, { contentType: V2_JSON });
}

async function topicOrNotFound(caller: CallerClient, topic: string): Promise<MetadataResponseTopic> {
  const md = await caller.client.metadata([topic]);
  const t = md.topics.find((x) => x.name === topic);
  const code = t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.INVALID_TOPIC_EXCEPTION) {
    throw new RestError(RestCode.TOPIC_NOT_FOUND, Messages.TOPIC_NOT_FOUND);
  }
  if (code !== ErrorCode.NONE && code !== ErrorCode.LEADER_NOT_AVAILABLE) {
    throw kafkaError(code, code === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? topic : null);
  }
  return t!;
}

function partitionV2(p: MetadataResponseTopic["partitions"][number]) {
  return {
    partition: p.partitionIndex,
    leader: p.leaderId,
    replicas: [...p.replicaNodes].sort((a, b) => a - b).map((b) => ({
      broker: b,
      leader: b === p.leaderId,
      in_sync: p.isrNodes.includes(b),
    })),
  };
}

function partitionOf(t: MetadataResponseTopic, text: string) {
  const id = intParam(text, "Partition", { errorCode: RestCode.PARTITION_NOT_FOUND });
  const p = t.partitions.find((x) => x.partitionIndex === id);
  if (p === undefined) throw new RestError(RestCode.PARTITION_NOT_FOUND, Messages.PARTITION_NOT_FOUND);
  return p;
}

/** Reads `[{topic, partition}]` from a field of a request body. */
function topicPartitions(body: Record<string, unknown>, field: string): { topic: string; partition: number }[] {
  const list = body[field];
  if (!Array.isArray(list)) throw new RestError(RestCode.UNPROCESSABLE, `"${field}" must be an array`);
  return list.map((e) => {
    const o = asObject(e, `an entry of "${field}"`);
    if (typeof o["topic"] !== "string" || typeof o["partition"] !== "number" || !Number.isInteger(o["partition"])) {
      throw new RestError(
        RestCode.UNPROCESSABLE,
        `Each entry of "${field}" needs a "topic" and an integer "partition"`,
      );
    }
    return { topic: o["topic"], partition: o["partition"] };
  });
}

function offsetOf(o: Record<string, unknown>, field: string): bigint {
  const v = o[field];
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^\d{1,19}$/.test(v)) return BigInt(v);
  throw new RestError(RestCode.UNPROCESSABLE, `"${field}" must be a non-negative integer`);
}

function bool(v: unknown, what: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  throw new RestError(
    RestCode.INVALID_CONSUMER_CONFIG,
    `Invalid consumer configuration: ${what} must be true or false`,
  );
}

function int(v: unknown, what: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new RestError(RestCode.INVALID_CONSUMER_CONFIG, `Invalid consumer configuration: ${what} must be an integer`);
  }
  return n;
}

/** Reads `POST /consumers/{group}`'s body (Confluent's `CreateConsumerInstanceRequest`). */
export function consumerConfig(
  body: unknown,
  options: { defaultTimeoutMs: number; random: () => string; schemaRegistry?: boolean },
): ConsumerInstanceConfig {
  const o = body === undefined || body === null ? {} : asObject(body, "the consumer configuration");
  const named = o["id"] ?? o["name"];
  if (named !== undefined && named !== null && (typeof named !== "string" || named === "" || /[/\s]/.test(named))) {
    throw new RestError(
      RestCode.INVALID_CONSUMER_CONFIG,
      "Invalid consumer configuration: name must be a non-empty string without / or spaces",
    );
  }
  const format = typeof o["format"] === "string" ? o["format"].toLowerCase() : "binary";
  if ((format === "avro" || format === "jsonschema" || format === "protobuf") && !options.schemaRegistry) {
    throw new RestError(
      RestCode.INVALID_CONSUMER_CONFIG,
      `Invalid consumer configuration: the ${format} format needs the Schema Registry to decode records, and this kbin ` +
        `serves none; use "binary" or "json"`,
    );
  }
  if (!["binary", "json", "avro", "jsonschema", "protobuf"].includes(format)) {
    throw new RestError(
      RestCode.INVALID_CONSUMER_CONFIG,
      `Invalid consumer configuration: unknown format "${o["format"]}"`,
    );
  }
  const reset = typeof o["auto.offset.reset"] === "string" ? o["auto.offset.reset"].toLowerCase() : "latest";
  if (reset !== "earliest" && reset !== "latest" && reset !== "none") {
    throw new RestError(
      RestCode.INVALID_CONSUMER_CONFIG,
      `Invalid consumer configuration: auto.offset.reset must be earliest, latest or none, got "${
        o["auto.offset.reset"]
      }"`,
    );
  }
  const timeout = int(
    o["consumer.request.timeout.ms"] ?? o["requestWaitMs"],
    "consumer.request.timeout.ms",
    options.defaultTimeoutMs,
  );
  return {
    name: typeof named === "string" ? named : `rest-consumer-${options.random()}`,
    format: format as ConsumerInstanceConfig["format"],
    autoOffsetReset: reset,
    autoCommit: bool(o["auto.commit.enable"], "auto.commit.enable", true),
    fetchMinBytes: int(o["fetch.min.bytes"] ?? o["responseMinBytes"], "fetch.min.bytes", -1),
    requestTimeoutMs: Math.max(0, timeout),
  };
}

/** The record format a `GET …/records` asks for by its Accept header (binary unless JSON is named). */
function acceptedFormat(accept: string | undefined): string {
  const a = (accept ?? "").toLowerCase();
  if (a.includes("vnd.kafka.json.v2+json")) return "json";
  if (a.includes("vnd.kafka.avro.v2+json")) return "avro";
  if (a.includes("vnd.kafka.jsonschema.v2+json")) return "jsonschema";
  if (a.includes("vnd.kafka.protobuf.v2+json")) return "protobuf";
  return "binary";
}

/**
 * Mounts the v2 routes on `app`.
 * @param app the proxy's router
 * @param ctx what the routes share, the consumer instances among them
 */
export function mountV2(app: Hono<HttpEnv>, ctx: ProxyContext & { consumers: ConsumerManager }): void {
  const consumers = ctx.consumers;
  const withCaller = <T>(c: Ctx, fn: (caller: CallerClient) => Promise<T>) => {
    const { principal, remote } = callerOf(c);
    return ctx.pool.with({ principal, remote }, fn);
  };

  app.get("/brokers", (c) =>
    withCaller(c, async (caller) => {
      const md = await caller.client.metadata([]);
      return v2({ brokers: md.brokers.map((b) => b.nodeId).sort((a, b) => a - b) });
    }));
  app.get("/topics", (c) =>
    withCaller(c, async (caller) => {
      const md = await caller.client.metadata(null);
      const names = md.topics.filter((t) => t.errorCode === ErrorCode.NONE && t.name !== null && !t.isInternal)
        .map((t) => t.name!).sort();
      return v2(names);
    }));
  app.get("/topics/:topic", (c) =>
    withCaller(c, async (caller) => {
      const name = c.req.param("topic");
      const t = await topicOrNotFound(caller, name);
      const { response } = await caller.client.send(DESCRIBE_CONFIGS_API, () => ({
        resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: name, configurationKeys: null }],
        includeSynonyms: false,
        includeDocumentation: false,
      }), { minVersion: 1 });
      const configs: Record<string, string | null> = {};
      const r = response.results[0];
      if (r !== undefined && r.errorCode === ErrorCode.NONE) {
        for (const x of [...r.configs].sort((a, b) => (a.name < b.name ? -1 : 1))) configs[x.name] = x.value;
      }
      const partitions = [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map(partitionV2);
      return v2({ name, configs, partitions });
    }));
  app.get("/topics/:topic/partitions", (c) =>
    withCaller(c, async (caller) => {
      const t = await topicOrNotFound(caller, c.req.param("topic"));
      return v2([...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map(partitionV2));
    }));
  app.get("/topics/:topic/partitions/:partition", (c) =>
    withCaller(c, async (caller) => {
      const t = await topicOrNotFound(caller, c.req.param("topic"));
      return v2(partitionV2(partitionOf(t, c.req.param("partition"))));
    }));
  app.get("/topics/:topic/partitions/:partition/offsets", (c) =>
    withCaller(c, async (caller) => {
      const topic = c.req.param("topic");
      const p = partitionOf(await topicOrNotFound(caller, topic), c.req.param("partition"));
      // Two requests: one ListOffsets names a partition once.
      const [lo] = await listOffsets(caller.client, [{
        topic,
        partition: p.partitionIndex,
        timestamp: OffsetSpec.EARLIEST,
      }]);
      const [hi] = await listOffsets(caller.client, [{
        topic,
        partition: p.partitionIndex,
        timestamp: OffsetSpec.LATEST,
      }]);
      for (const o of [lo!, hi!]) if (o.errorCode !== ErrorCode.NONE) throw kafkaError(o.errorCode, topic);
      return v2({ beginning_offset: Number(lo!.offset), end_offset: Number(hi!.offset) });
    }));
  app.post("/topics/:topic", (c) => produceV2(c, ctx));
  app.post(
    "/topics/:topic/partitions/:partition",
    (c) =>
      produceV2(c, ctx, {
        partition: intParam(c.req.param("partition"), "Partition", { errorCode: RestCode.PARTITION_NOT_FOUND }),
      }),
  );

  // Consumer instances
  app.post("/consumers/:group", async (c) => {
    const config = consumerConfig(await readJson(c, { optional: true }), {
      schemaRegistry: ctx.serde !== undefined,
      defaultTimeoutMs: ctx.settings.consumerRequestTimeoutMs,
      random: () => crypto.randomUUID(),
    });
    const group = c.req.param("group");
    consumers.create(group, { config, ...callerOf(c) });
    return v2({
      instance_id: config.name,
      base_uri: `${baseUrl(c)}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(config.name)}`,
    });
  });
  const instanceOf = (c: Ctx): ConsumerInstance =>
    consumers.get({ group: c.req.param("group")!, name: c.req.param("instance")! }, callerOf(c).principal);
  const noContent = () => new Response(null, { status: 204 });
  const prefix = "/consumers/:group/instances/:instance";

  app.delete(prefix, async (c) => {
    await consumers.delete({ group: c.req.param("group"), name: c.req.param("instance") }, callerOf(c).principal);
    return noContent();
  });
  app.post(`${prefix}/subscription`, async (c) => {
    const instance = instanceOf(c);
    const body = asObject(await readJson(c), "the subscription");
    const topics = body["topics"];
    const pattern = body["topic_pattern"];
    if (Array.isArray(topics) === (typeof pattern === "string")) {
      throw new RestError(RestCode.UNPROCESSABLE, `Give either "topics" (an array) or "topic_pattern" (a string)`);
    }
    if (Array.isArray(topics) && !topics.every((t) => typeof t === "string" && t !== "")) {
      throw new RestError(RestCode.UNPROCESSABLE, `"topics" must be an array of topic names`);
    }
    let regex: RegExp | null = null;
    if (typeof pattern === "string") {
      try {
        regex = new RegExp(`^(?:${pattern})$`);
      } catch (err) {
        throw new RestError(RestCode.BAD_REQUEST, `Cannot read topic_pattern: ${(err as Error).message}`);
      }
    }
    await instance.run(() => instance.subscribe(Array.isArray(topics) ? (topics as string[]) : null, regex));
    return noContent();
  });
  app.get(`${prefix}/subscription`, (c) => {
    const instance = instanceOf(c);
    return instance.run(() => Promise.resolve(v2({ topics: instance.subscription() })));
  });
  app.delete(`${prefix}/subscription`, async (c) => {
    const instance = instanceOf(c);
    await instance.run(() => instance.unsubscribe());
    return noContent();
  });
  app.post(`${prefix}/assignments`, async (c) => {
    const instance = instanceOf(c);
    const partitions = topicPartitions(asObject(await readJson(c), "the assignment"), "partitions");
    await instance.run(() => Promise.resolve(instance.assign(partitions)));
    return noContent();
  });
  app.get(`${prefix}/assignments`, (c) => {
    const instance = instanceOf(c);
    return instance.run(() => Promise.resolve(v2({ partitions: instance.assignment() })));
  });
  app.post(`${prefix}/positions`, async (c) => {
    const instance = instanceOf(c);
    const body = asObject(await readJson(c), "the seek");
    const offsets = body["offsets"] === undefined ? [] : topicPartitions(body, "offsets").map((tp, i) => ({
      ...tp,
      offset: offsetOf(asObject((body["offsets"] as unknown[])[i], "an offset"), "offset"),
    }));
    const times = body["timestamps"] === undefined ? [] : topicPartitions(body, "timestamps").map((tp, i) => {
      const ts = asObject((body["timestamps"] as unknown[])[i], "a timestamp")["timestamp"];
      const ms = typeof ts === "string" ? Date.parse(ts) : typeof ts === "number" ? ts : NaN;
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RestError(RestCode.UNPROCESSABLE, `Cannot read timestamp ${JSON.stringify(ts)}`);
      }
      return { ...tp, timestampMs: BigInt(Math.trunc(ms)) };
    });
    await instance.run(async () => {
      instance.seek(offsets);
      if (times.length > 0) await instance.seekToTime(times);
    });
    return noContent();
  });
  for (const where of ["beginning", "end"] as const) {
    app.post(`${prefix}/positions/${where}`, async (c) => {
      const instance = instanceOf(c);
      const partitions = topicPartitions(asObject(await readJson(c), "the seek"), "partitions");
      await instance.run(() => instance.seekTo(partitions, where));
      return noContent();
    });
  }
  app.get(`${prefix}/records`, async (c) => {
    const instance = instanceOf(c);
    const wanted = acceptedFormat(c.req.header("accept"));
    if (wanted !== instance.config.format) {
      return jsonResponse(
        { error_code: RestCode.CONSUMER_FORMAT_MISMATCH, message: Messages.CONSUMER_FORMAT_MISMATCH },
        406,
        { contentType: V2_JSON },
      );
    }
    const q = (name: string) => {
      const v = c.req.query(name);
      return v === undefined || !/^-?\d+$/.test(v) ? -1 : Number(v);
    };
    const timeout = q("timeout");
    const maxBytes = q("max_bytes");
    const limit = instance.config.requestTimeoutMs;
    const records = await instance.run(() =>
      instance.poll({
        timeoutMs: timeout > 0 ? Math.min(timeout, limit) : limit,
        maxBytes: maxBytes > 0
          ? Math.min(maxBytes, ctx.settings.consumerRequestMaxBytes)
          : ctx.settings.consumerRequestMaxBytes,
      })
    );
    // Decoded schema data may hold 64-bit integers beyond 2^53 (bigint): printed losslessly.
    return new Response(stringifyJsonValue(records), {
      status: 200,
      headers: { "content-type": `application/vnd.kafka.${instance.config.format}.v2+json` },
    });
  });
  app.post(`${prefix}/offsets`, async (c) => {
    const instance = instanceOf(c);
    const body = await readJson(c, { optional: true });
    let offsets: { topic: string; partition: number; offset: bigint; metadata?: string }[] | null = null;
    if (body !== undefined && body !== null) {
      const o = asObject(body, "the commit");
      if (o["offsets"] !== undefined && o["offsets"] !== null) {
        offsets = topicPartitions(o, "offsets").map((tp, i) => {
          const e = asObject((o["offsets"] as unknown[])[i], "an offset");
          return {
            ...tp,
            offset: offsetOf(e, "offset"),
            ...(typeof e["metadata"] === "string" ? { metadata: e["metadata"] } : {}),
          };
        });
      }
    }
    await instance.run(() => instance.commit(offsets));
    return v2([]);
  });
  app.get(`${prefix}/offsets`, async (c) => {
    const instance = instanceOf(c);
    // Confluent takes the partitions in a GET body, which Bun's and Deno's servers drop (a GET has
    // no body under the Fetch standard): kbin also reads `?partitions=topic:0,topic:1`, and without
    // either answers for the instance's assignment.
    const body = await readJson(c, { optional: true });
    const query = c.req.query("partitions");
    let partitions: { topic: string; partition: number }[] | null = null;
    if (body !== undefined) partitions = topicPartitions(asObject(body, "the request"), "partitions");
    else if (query !== undefined && query !== "") {
      partitions = query.split(",").map((tp) => {
        const m = /^(.+):(\d+)$/.exec(tp.trim());
        if (m === null) {
          throw new RestError(RestCode.UNPROCESSABLE, `Cannot read partition "${tp}": expected topic:partition`);
        }
        return { topic: m[1]!, partition: Number(m[2]) };
      });
    }
    const committed = await instance.run(() => instance.committed(partitions ?? instance.assignment()));
    return v2({
      offsets: committed.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: Number(o.offset),
        metadata: o.metadata ?? "",
      })),
    });
  });
}

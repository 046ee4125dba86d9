/**
 * Producing through the REST proxy: v3 `POST /v3/clusters/{c}/topics/{t}/records` (one JSON
 * object per record, concatenated, answered with one JSON object per record in order, while the
 * body still streams in), v3 `records:batch`, and v2 `POST /topics/{t}[/partitions/{p}]`.
 *
 * Records go through kbin's own {@link Producer} (acks=all, idempotent when the caller may,
 * batches per partition, up to five requests in flight, retries) over the caller's in-process
 * connection, so each record costs its JSON conversion and its place in a batch, nothing more.
 * Records that arrive together (one request body, or one chunk of a stream) are sent in one go
 * and share batches; answers come from the batch's base offset.
 *
 * On a cluster of several brokers (PostgreSQL) the proxy's connections reach only this broker: a
 * keyless record without a partition goes to a partition this broker leads, and a record whose
 * partition (given, or from its key as Kafka's default partitioner picks it) another broker leads
 * is forwarded to that broker's HTTP listener with its partition set ({@link Forwarder}). A
 * request that was itself forwarded is not forwarded again: such records are answered
 * NOT_LEADER_OR_FOLLOWER (50003) at once, naming the leader.
 *
 * @module
 */

import type { KafkaClient } from "../../client/client.ts";
import { KafkaClientError } from "../../client/errors.ts";
import { partitionForKey } from "../../client/partitioner.ts";
import { Producer } from "../../client/producer.ts";
import { ErrorCode, errorName } from "../../protocol/generated/errors.ts";
import type { Logger } from "../../ports.ts";
import {
  asObject,
  callerOf,
  checkCluster,
  type Ctx,
  errorResponse,
  identity,
  jsonResponse,
  type ProxyContext,
  readJson,
  V2_BINARY,
  V2_JSON,
  V2_JSON_JSON,
} from "./context.ts";
import { kafkaError, Messages, RestCode, RestError } from "./errors.ts";
import { FORWARDED_HEADER, Forwarder } from "./forward.ts";
import { JsonObjectSplitter, type SplitEvent } from "./json_stream.ts";
import {
  type ConvertedRecord,
  convertV2Record,
  convertV3Record,
  noRegistryError,
  type SchemaFormat,
} from "./records.ts";

/** Options of {@link TopicProducer}. */
export interface TopicProducerOptions {
  /** This broker's node id (partitions another broker leads are refused). */
  localNode: () => number;
  /** How long a batch waits for more records (0: sent once the records at hand are added). */
  lingerMs: number;
  /** A record not written within this long fails. */
  deliveryTimeoutMs: number;
  logger: Logger;
}

/** A record's outcome. */
export type Delivery =
  | { ok: true; partition: number; offset: bigint; timestampMs: bigint }
  | { ok: false; error: RestError };

interface Pending {
  resolve(d: Delivery): void;
  timestampMs: bigint;
}

/** A REST error for a client failure (a Kafka code, or a connection or timeout failure). */
function failureOf(err: unknown, topic: string): RestError {
  if (err instanceof RestError) return err;
  if (err instanceof KafkaClientError) {
    if (err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
      return new RestError(RestCode.TOPIC_NOT_FOUND, Messages.TOPIC_NOT_FOUND);
    }
    return kafkaError(err.code, err.code === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? topic : err.message);
  }
  return new RestError(RestCode.KAFKA_RETRIABLE_ERROR, `Kafka request failed: ${(err as Error).message}`);
}

/** The detail of a producer failure message ("NAME: detail" or "NAME"), without the name. */
function detailOf(code: number, message: string): string | null {
  const name = errorName(code);
  if (!message.startsWith(name)) return message;
  const rest = message.slice(name.length).replace(/^:\s*/, "");
  return rest === "" ? null : rest;
}

/** A caller's producer for one topic. */
export class TopicProducer {
  readonly topic: string;
  readonly #producer: Producer;
  readonly #o: TopicProducerOptions;
  readonly #pending = new Map<number, Pending>();
  #nextTag = 0;
  #partitionCount = 0;
  #leaders: number[] = [];
  /** Partitions this broker leads, when it does not lead them all (several brokers). */
  #local: number[] | null = null;
  #nextLocal = 0;

  private constructor(client: KafkaClient, topic: string, options: TopicProducerOptions) {
    this.topic = topic;
    this.#o = options;
    this.#producer = new Producer(client, topic, {
      acks: -1,
      idempotence: "auto",
      lingerMs: options.lingerMs,
      deliveryTimeoutMs: options.deliveryTimeoutMs,
      onDelivered: (r) => {
        const tags = r.tags;
        for (let i = 0; i < tags.length; i++) {
          const p = this.#pending.get(tags[i]!);
          if (p === undefined) continue;
          this.#pending.delete(tags[i]!);
          p.resolve({
            ok: true,
            partition: r.partition,
            offset: r.baseOffset < 0n ? -1n : r.baseOffset + BigInt(i),
            timestampMs: r.logAppendTimeMs >= 0n ? r.logAppendTimeMs : p.timestampMs,
          });
        }
      },
      onFailed: (f) => {
        const error = f.code === null
          ? new RestError(RestCode.KAFKA_RETRIABLE_ERROR, `Kafka request failed: ${f.message}`)
          : kafkaError(f.code, f.code === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? topic : detailOf(f.code, f.message));
        for (const tag of f.tags) {
          const p = this.#pending.get(tag);
          if (p === undefined) continue;
          this.#pending.delete(tag);
          p.resolve({ ok: false, error });
        }
      },
      onNotice: (message, level) => {
        if (level === "warning") options.logger.warn("REST proxy producer", { topic, message });
      },
    });
  }

  /**
   * Opens a producer for a topic the caller may see.
   * @returns the producer, or the REST error that answers (40401 unknown topic, 40301 not authorized)
   */
  static async open(
    client: KafkaClient,
    topic: string,
    options: TopicProducerOptions,
  ): Promise<TopicProducer | RestError> {
    try {
      const md = await client.metadata([topic]);
      const t = md.topics.find((x) => x.name === topic);
      const code = t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.INVALID_TOPIC_EXCEPTION) {
        return new RestError(RestCode.TOPIC_NOT_FOUND, Messages.TOPIC_NOT_FOUND);
      }
      if (code !== ErrorCode.NONE && code !== ErrorCode.LEADER_NOT_AVAILABLE) {
        return kafkaError(code, code === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? topic : null);
      }
      const tp = new TopicProducer(client, topic, options);
      await tp.#producer.connect();
      tp.#applyLeaders(t!.partitions);
      return tp;
    } catch (err) {
      return failureOf(err, topic);
    }
  }

  #applyLeaders(partitions: readonly { partitionIndex: number; leaderId: number }[]): void {
    const leaders: number[] = [];
    for (const p of partitions) leaders[p.partitionIndex] = p.leaderId;
    this.#leaders = leaders;
    this.#partitionCount = Math.max(leaders.length, this.#producer.partitionCount);
    const local = this.#o.localNode();
    const mine: number[] = [];
    for (let i = 0; i < this.#partitionCount; i++) if (leaders[i] === local) mine.push(i);
    this.#local = mine.length === this.#partitionCount ? null : mine;
  }

  /**
   * Whether metadata still matches what this producer was opened with (partition count and, with
   * several brokers, leaders); a caller reopens the producer when it does not.
   */
  matches(partitions: readonly { partitionIndex: number; leaderId: number }[]): boolean {
    if (partitions.length !== this.#partitionCount) return false;
    if (this.#local === null) return partitions.every((p) => p.leaderId === this.#o.localNode());
    return partitions.every((p) => this.#leaders[p.partitionIndex] === p.leaderId);
  }

  /** The topic's partition count when the producer opened (it is reopened when it grows). */
  get partitionCount(): number {
    return this.#partitionCount;
  }

  /** Records sent and not yet answered. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Adds a record to its partition's batch, or to the forwarder's batch for its partition's leader
   * when another broker leads it.
   * @param options.forward the request's forwarder (absent: records for other leaders are refused)
   * @returns its outcome (never rejects), and a promise to wait for before sending more when the
   *   producer's buffer is full
   */
  send(
    record: ConvertedRecord,
    options: { forward?: Forwarder | undefined } = {},
  ): { delivery: Promise<Delivery>; wait: Promise<void> | undefined } {
    const forward = options.forward;
    let partition = record.partition;
    if (partition !== undefined && partition >= this.#partitionCount) {
      return {
        delivery: Promise.resolve(this.#refused(RestCode.PARTITION_NOT_FOUND, Messages.PARTITION_NOT_FOUND)),
        wait: undefined,
      };
    }
    if (this.#local !== null) {
      if (partition === undefined) {
        if (record.key !== null) partition = partitionForKey(record.key, this.#partitionCount);
        else if (this.#local.length > 0) partition = this.#local[this.#nextLocal++ % this.#local.length]!;
        else if (forward !== undefined && this.#partitionCount > 0) {
          partition = this.#nextLocal++ % this.#partitionCount;
        }
      }
      const leader = partition === undefined ? -1 : this.#leaders[partition] ?? -1;
      if (forward !== undefined && partition !== undefined && leader >= 0 && leader !== this.#o.localNode()) {
        return { delivery: forward.add(leader, partition, record), wait: undefined };
      }
      if (partition === undefined || leader !== this.#o.localNode()) {
        const where = partition === undefined
          ? `no partition of "${this.topic}" is led by broker ${this.#o.localNode()}`
          : `partition ${partition} of "${this.topic}" is led by broker ${leader}, not this one`;
        return {
          delivery: Promise.resolve(
            this.#refused(
              RestCode.KAFKA_RETRIABLE_ERROR,
              `This server is not the leader for that topic-partition (NOT_LEADER_OR_FOLLOWER): ${where}; ` +
                "the REST proxy of a broker writes only to the partitions that broker leads",
            ),
          ),
          wait: undefined,
        };
      }
    }
    const tag = this.#nextTag++;
    const timestampMs = record.timestamp ?? 0n;
    let resolve!: (d: Delivery) => void;
    const delivery = new Promise<Delivery>((r) => (resolve = r));
    this.#pending.set(tag, { resolve, timestampMs });
    let wait: Promise<void> | undefined;
    try {
      wait = this.#producer.send({
        key: record.key,
        value: record.value,
        headers: record.headers,
        timestamp: timestampMs,
        ...(partition === undefined ? {} : { partition }),
      }, tag);
    } catch (err) {
      this.#pending.delete(tag);
      resolve(this.#refused(RestCode.INTERNAL, `Cannot produce: ${(err as Error).message}`));
    }
    return { delivery, wait };
  }

  #refused(errorCode: number, message: string): Delivery {
    return { ok: false, error: new RestError(errorCode, message) };
  }

  /** Sends what is buffered, waits for every answer, then stops. */
  async close(): Promise<void> {
    await this.#producer.flush();
    this.#producer.close();
  }
}

/** Answers kept in request order; each run of ready answers leaves as one chunk. */
export class OrderedOutput {
  readonly #slots: (string | null)[] = [];
  #base = 0;
  #unsettled = 0;
  #ended = false;
  #wake: (() => void) | null = null;
  #drained: (() => void) | null = null;

  /** Reserves the next answer's place; the returned function fills it (once). */
  reserve(): (text: string) => void {
    const index = this.#base + this.#slots.length;
    this.#slots.push(null);
    this.#unsettled++;
    return (text) => {
      this.#slots[index - this.#base] = text;
      this.#unsettled--;
      this.#signal();
    };
  }

  /** No more answers will be reserved. */
  end(): void {
    this.#ended = true;
    this.#signal();
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
    if (this.#unsettled === 0 && this.#drained !== null) {
      const d = this.#drained;
      this.#drained = null;
      d();
    }
  }

  /** Resolves once every reserved answer is filled. */
  settled(): Promise<void> {
    if (this.#unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }

  /** The next run of consecutive answers, joined; null once ended and all were taken. */
  async next(): Promise<string | null> {
    for (;;) {
      let n = 0;
      while (n < this.#slots.length && this.#slots[n] !== null) n++;
      if (n > 0) {
        const out = this.#slots.splice(0, n).join("");
        this.#base += n;
        return out;
      }
      if (this.#ended && this.#slots.length === 0) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

const encoder = new TextEncoder();

function isoTime(ms: bigint): string | null {
  const n = Number(ms);
  return n >= 0 && n <= 8.64e15 ? new Date(n).toISOString() : null;
}

function errorLine(err: RestError): string {
  return JSON.stringify(err.body()) + "\r\n";
}

/** One record's v3 answer. */
function v3Result(clusterId: string, topic: string, record: ConvertedRecord, d: Delivery): Record<string, unknown> {
  if (!d.ok) return d.error.body();
  const out: Record<string, unknown> = {
    error_code: 200,
    cluster_id: clusterId,
    topic_name: topic,
    partition_id: d.partition,
    offset: Number(d.offset),
    timestamp: isoTime(d.timestampMs),
  };
  if (record.keyInfo !== undefined) out["key"] = record.keyInfo;
  if (record.valueInfo !== undefined) out["value"] = record.valueInfo;
  return out;
}

/** The caller's producer for the route's topic, with the caller held until `release`. */
async function producerFor(c: Ctx, ctx: ProxyContext, topic: string) {
  const { principal, remote } = callerOf(c);
  const caller = ctx.pool.acquire({ principal, remote });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    ctx.pool.release(caller);
  };
  try {
    const producer = await caller.producer(topic);
    if (producer instanceof RestError) throw producer;
    return { producer, principal, release };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * The request's forwarder of records to other leaders; none for a request that was itself
 * forwarded (it is not forwarded again) or when the proxy cannot reach other brokers.
 */
function forwarderOf(c: Ctx, ctx: ProxyContext, topic: string): Forwarder | undefined {
  if (ctx.peers === undefined || c.req.header(FORWARDED_HEADER) !== undefined) return undefined;
  const { clusterId, nodeId } = identity(ctx);
  return new Forwarder(ctx.peers, { clusterId, topic, authorization: c.req.header("authorization"), nodeId });
}

/**
 * `POST /v3/clusters/{cluster_id}/topics/{topic_name}/records`: the body is one or more JSON
 * objects, possibly streamed; the answer is one JSON object per record, in order, each followed
 * by CRLF, sent as soon as it is known (HTTP 200 once the first record is read; per-record errors
 * carry their own `error_code`). An empty body is 422.
 */
export async function produceRecordsV3(c: Ctx, ctx: ProxyContext): Promise<Response> {
  const { clusterId } = checkCluster(ctx, c.req.param("cluster_id")!);
  const topic = c.req.param("topic_name")!;
  const { producer, principal, release } = await producerFor(c, ctx, topic);
  const forward = forwarderOf(c, ctx, topic);
  const body = c.req.raw.body;
  const splitter = new JsonObjectSplitter();
  const decoder = new TextDecoder();
  const reader = body?.getReader() ?? null;
  let first: SplitEvent[] = [];
  let ended = reader === null;
  try {
    // Read up to the first record, so an empty body can still be answered 422.
    while (!ended && first.length === 0) {
      const { value, done } = await reader!.read();
      if (done) {
        ended = true;
        first = splitter.push(decoder.decode());
        const end = splitter.end();
        if (end !== null) first.push(end);
      } else first = splitter.push(decoder.decode(value, { stream: true }));
    }
  } catch (err) {
    release();
    throw new RestError(RestCode.BAD_REQUEST, `Cannot read the request body: ${(err as Error).message}`);
  }
  if (first.length === 0) {
    release();
    throw new RestError(RestCode.UNPROCESSABLE, Messages.EMPTY_BODY);
  }
  const out = new OrderedOutput();
  let abandoned = false;
  const pump = async () => {
    let events = first;
    let stop = false;
    try {
      for (;;) {
        const nowMs = BigInt(ctx.now());
        for (const ev of events) {
          if ("error" in ev) {
            out.reserve()(errorLine(new RestError(RestCode.BAD_REQUEST, `Error processing JSON: ${ev.error}`)));
            stop = true;
            break;
          }
          let value: unknown;
          try {
            value = JSON.parse(ev.text);
          } catch (err) {
            out.reserve()(
              errorLine(new RestError(RestCode.BAD_REQUEST, `Error processing JSON: ${(err as Error).message}`)),
            );
            stop = true;
            break;
          }
          const settle = out.reserve();
          let converted = convertV3Record(value, { topic, principal, serde: ctx.serde, nowMs });
          // A schema lookup waits here, so records keep their order.
          if (converted instanceof Promise) converted = await converted;
          if (!converted.ok) {
            settle(errorLine(converted.error));
            continue;
          }
          const record = converted.record;
          const { delivery, wait } = producer.send(record, { forward });
          void delivery.then((d) => settle(JSON.stringify(v3Result(clusterId, topic, record, d)) + "\r\n"));
          if (wait !== undefined) await wait;
        }
        forward?.flush();
        if (stop || ended || abandoned) break;
        const { value, done } = await reader!.read();
        if (done) {
          ended = true;
          events = splitter.push(decoder.decode());
          const end = splitter.end();
          if (end !== null) events.push(end);
        } else events = splitter.push(decoder.decode(value, { stream: true }));
      }
    } catch (err) {
      // The client went away mid-body: what was read is still produced and answered.
      ctx.logger.debug("REST produce stream ended early", { topic, error: String(err) });
    } finally {
      if (!ended) reader?.cancel().catch(() => {});
      forward?.flush();
      out.end();
      await out.settled();
      release();
    }
  };
  void pump();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const text = await out.next();
      if (text === null) controller.close();
      else controller.enqueue(encoder.encode(text));
    },
    cancel() {
      abandoned = true;
    },
  });
  return new Response(stream, { status: 200, headers: { "content-type": "application/json" } });
}

/**
 * `POST /v3/clusters/{cluster_id}/topics/{topic_name}/records:batch`: `{"entries": [{"id", …record}]}`
 * answered 207 with `{"successes": [...], "failures": [...]}` (each with its entry's `id`).
 */
export async function produceBatchV3(c: Ctx, ctx: ProxyContext): Promise<Response> {
  const { clusterId } = checkCluster(ctx, c.req.param("cluster_id")!);
  const topic = c.req.param("topic_name")!;
  const body = asObject(await readJson(c), "the batch");
  const entries = body["entries"];
  const batchError = (message: string) => new RestError(RestCode.PRODUCE_BATCH, message);
  if (!Array.isArray(entries) || entries.length === 0) throw batchError("Empty batch.");
  if (entries.length > ctx.settings.produceBatchMaxEntries) throw batchError("Too many entries in batch.");
  const ids = new Set<string>();
  for (const e of entries) {
    const id = typeof e === "object" && e !== null ? (e as Record<string, unknown>)["id"] : undefined;
    if (typeof id !== "string" || id.length === 0 || id.length > 80) {
      throw batchError("Batch entry identifier is not a valid string.");
    }
    if (ids.has(id)) throw batchError("Batch entry IDs are not distinct.");
    ids.add(id);
  }
  const { producer, principal, release } = await producerFor(c, ctx, topic);
  const forward = forwarderOf(c, ctx, topic);
  try {
    const nowMs = BigInt(ctx.now());
    const results: Promise<{ id: string; result: Record<string, unknown>; ok: boolean }>[] = [];
    for (const e of entries as Record<string, unknown>[]) {
      const id = e["id"] as string;
      let converted = convertV3Record(e, { topic, principal, serde: ctx.serde, nowMs });
      if (converted instanceof Promise) converted = await converted;
      if (!converted.ok) {
        results.push(Promise.resolve({ id, result: converted.error.body(), ok: false }));
        continue;
      }
      const record = converted.record;
      const { delivery, wait } = producer.send(record, { forward });
      results.push(delivery.then((d) => ({ id, result: v3Result(clusterId, topic, record, d), ok: d.ok })));
      if (wait !== undefined) await wait;
    }
    forward?.flush();
    const successes: Record<string, unknown>[] = [];
    const failures: Record<string, unknown>[] = [];
    for (const { id, result, ok } of await Promise.all(results)) {
      if (ok) {
        const { error_code: _code, ...rest } = result;
        successes.push({ id, ...rest });
      } else failures.push({ id, ...result });
    }
    return jsonResponse({ successes, failures }, 207);
  } finally {
    release();
  }
}

/** The v2 embedded format a produce request's Content-Type names. */
function v2FormatOf(contentType: string | undefined): "binary" | "json" | SchemaFormat | null {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === V2_BINARY) return "binary";
  if (type === V2_JSON_JSON) return "json";
  if (type === "application/vnd.kafka.avro.v2+json") return "AVRO";
  if (type === "application/vnd.kafka.jsonschema.v2+json") return "JSONSCHEMA";
  if (type === "application/vnd.kafka.protobuf.v2+json") return "PROTOBUF";
  return null;
}

/**
 * `POST /topics/{topic}` and `POST /topics/{topic}/partitions/{partition}` (v2): `{"records":
 * [{key, value, partition}]}` in the binary or JSON format of the Content-Type; answered `{"offsets":
 * [{partition, offset, error_code, error}], "key_schema_id": null, "value_schema_id": null}`,
 * 401/403 when a record failed authentication/authorization (as Confluent), else 200.
 */
export async function produceV2(c: Ctx, ctx: ProxyContext, options: { partition?: number } = {}): Promise<Response> {
  const topic = c.req.param("topic")!;
  const format = v2FormatOf(c.req.header("content-type"));
  if (format === null) {
    return errorResponse(new RestError(RestCode.UNSUPPORTED_MEDIA_TYPE, "HTTP 415 Unsupported Media Type"), V2_JSON);
  }
  const body = asObject(await readJson(c), "the produce request");
  const records = body["records"];
  if (!Array.isArray(records) || records.length === 0) {
    throw new RestError(RestCode.UNPROCESSABLE, "records may not be empty");
  }
  if (format !== "binary" && format !== "json") {
    if (ctx.serde === undefined) throw noRegistryError(format, "record");
    throw new RestError(
      RestCode.UNSUPPORTED_MEDIA_TYPE,
      `Producing ${format} records is served by the v3 API (POST /v3/clusters/{cluster_id}/topics/{topic}/records)`,
    );
  }
  const { producer, release } = await producerFor(c, ctx, topic);
  const forward = forwarderOf(c, ctx, topic);
  try {
    const deliveries: Promise<Record<string, unknown>>[] = [];
    for (const r of records) {
      const converted = convertV2Record(r, { format, partition: options.partition });
      if (!converted.ok) {
        const e = converted.error;
        deliveries.push(Promise.resolve({ partition: null, offset: null, error_code: e.errorCode, error: e.message }));
        continue;
      }
      const { delivery, wait } = producer.send({ ...converted.record, timestamp: BigInt(ctx.now()) }, { forward });
      deliveries.push(
        delivery.then((d) =>
          d.ok
            ? { partition: d.partition, offset: Number(d.offset), error_code: null, error: null }
            : { partition: null, offset: null, error_code: d.error.errorCode, error: d.error.message }
        ),
      );
      if (wait !== undefined) await wait;
    }
    forward?.flush();
    const offsets = await Promise.all(deliveries);
    let status = 200;
    for (const o of offsets) {
      if (o["error_code"] === RestCode.KAFKA_AUTHENTICATION) status = 401;
      else if (o["error_code"] === RestCode.KAFKA_AUTHORIZATION && status === 200) status = 403;
    }
    return jsonResponse({ offsets, key_schema_id: null, value_schema_id: null }, status, { contentType: V2_JSON });
  } finally {
    release();
  }
}

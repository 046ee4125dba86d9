/**
 * Records as the REST proxy reads and writes them: v3 produce requests (`{partition_id, headers,
 * key: {type, data}, value: {type, data}, timestamp}`), v2 produce requests (`{records: [{key,
 * value, partition}]}` in the binary or JSON embedded format) and v2 consumer records.
 *
 * Embedded formats: BINARY (base64 `data`), JSON (any JSON value, stored as its UTF-8 text) and
 * STRING (UTF-8). The schema-based formats AVRO, JSONSCHEMA and PROTOBUF, and a key or value
 * without a `type` (Confluent reads that as "the subject's latest schema"), go through a
 * {@link SchemaSerde} when the HTTP plane has one (the Schema Registry's); without one they are
 * refused with a 400 saying so.
 *
 * Conversion is synchronous for the embedded formats (the produce hot path) and returns a promise
 * only when a schema must be resolved.
 *
 * @module
 */

import { fromBase64, toBase64 } from "../../protocol/sasl/crypto.ts";
import type { AbsoluteRecord, RecordHeader } from "../../protocol/records/mod.ts";
import { RestCode, RestError } from "./errors.ts";

/** Data formats of produce requests and consumers. */
export type EmbeddedFormat = "BINARY" | "JSON" | "STRING" | "AVRO" | "JSONSCHEMA" | "PROTOBUF";

/** The formats whose bytes carry a schema id (Confluent's wire format: magic 0, int32 id, payload). */
export type SchemaFormat = "AVRO" | "JSONSCHEMA" | "PROTOBUF";

const SCHEMA_FORMATS: ReadonlySet<string> = new Set(["AVRO", "JSONSCHEMA", "PROTOBUF"]);

/** How Confluent derives a subject from a topic (and the record's schema name). */
export type SubjectNameStrategy = "TOPIC_NAME" | "RECORD_NAME" | "TOPIC_RECORD_NAME";

/** What a produce request asks of the Schema Registry for one side of a record. */
export interface SerializeRequest {
  topic: string;
  /** The record's key (true) or value (false). */
  isKey: boolean;
  /** The HTTP request's principal (the registry may check its ACLs). */
  principal: string;
  /** The format named, or null when the request named none (then the subject's schema decides). */
  format: SchemaFormat | null;
  subject: string | null;
  /** Defaults to TOPIC_NAME (`<topic>-key` / `<topic>-value`) when no subject is given. */
  subjectNameStrategy: SubjectNameStrategy | null;
  schemaId: number | null;
  schemaVersion: number | null;
  /** A schema given inline (registered under the subject, as Confluent does). */
  rawSchema: string | null;
  /** The datum as JSON (Avro's JSON encoding, a JSON document, Protobuf's JSON mapping). */
  data: unknown;
}

/** A schema-encoded key or value, or why not (a Confluent REST error code and message). */
export type SerializeResult =
  | {
    ok: true;
    /** Confluent's wire format: magic byte 0, schema id (int32 big-endian), payload; null for a null datum the schema allows. */
    bytes: Uint8Array | null;
    format: SchemaFormat;
    subject: string;
    schemaId: number;
    schemaVersion: number | null;
  }
  | { ok: false; errorCode: number; message: string };

/** A schema-encoded record side decoded back to JSON, or why not. */
export type DeserializeResult =
  | { ok: true; data: unknown; schemaId: number }
  | { ok: false; errorCode: number; message: string };

/**
 * The Schema Registry's part in the REST proxy: resolve a schema (by id, subject and version,
 * the subject's latest, or register an inline one) and encode JSON data with it; decode bytes in
 * Confluent's wire format for consumers. The registry supplies it when both are served.
 */
export interface SchemaSerde {
  serialize(request: SerializeRequest): Promise<SerializeResult>;
  deserialize(request: {
    topic: string;
    isKey: boolean;
    principal: string;
    format: SchemaFormat;
    bytes: Uint8Array;
  }): Promise<DeserializeResult>;
}

/** What the response tells about a key or value: `{type, size}` (plus the schema for schema formats). */
export interface DataInfo {
  type: EmbeddedFormat | null;
  size: number;
  subject?: string;
  schema_id?: number;
  schema_version?: number | null;
}

/** A produce request's record, converted to bytes. */
export interface ConvertedRecord {
  partition: number | undefined;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  /** CreateTime in ms, when the request gave one. */
  timestamp: bigint | undefined;
  keyInfo: DataInfo | undefined;
  valueInfo: DataInfo | undefined;
}

/** A conversion's outcome: the record, or the REST error that answers for it. */
export type Converted = { ok: true; record: ConvertedRecord } | { ok: false; error: RestError };

const encoder = new TextEncoder();
const EMPTY_HEADERS: RecordHeader[] = [];

function bad(message: string): { ok: false; error: RestError } {
  return { ok: false, error: new RestError(RestCode.BAD_REQUEST, message) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** The bytes of base64 text, or null when it is not base64. */
export function decodeBase64(text: string): Uint8Array | null {
  // atob ignores ASCII whitespace; Jackson's MIME variant does too.
  return fromBase64(text);
}

/** Base64 of bytes, or null. */
export function encodeBase64(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : toBase64(bytes);
}

/** Parses an optional non-negative int32 field; undefined when absent or null. */
function optionalPartition(v: unknown): number | undefined | RestError {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v > 0x7fffffff) {
    return new RestError(RestCode.BAD_REQUEST, `Cannot read partition_id: expected an integer, got ${describe(v)}`);
  }
  if (v < 0) return new RestError(RestCode.PARTITION_NOT_FOUND, "Partition not found.");
  return v;
}

/** Milliseconds of an ISO-8601 instant or an integer count of milliseconds. */
export function parseTimestamp(v: unknown): bigint | undefined | RestError {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string") {
    const ms = Date.parse(v);
    if (Number.isFinite(ms) && ms >= 0) return BigInt(ms);
  }
  return new RestError(
    RestCode.BAD_REQUEST,
    `Cannot read timestamp: expected an ISO-8601 instant such as "2024-01-01T00:00:00Z", got ${describe(v)}`,
  );
}

function parseHeaders(v: unknown): RecordHeader[] | RestError {
  if (v === undefined || v === null) return EMPTY_HEADERS;
  if (!Array.isArray(v)) return new RestError(RestCode.BAD_REQUEST, "Cannot read headers: expected an array");
  const out: RecordHeader[] = [];
  for (const h of v) {
    if (!isObject(h) || typeof h["name"] !== "string") {
      return new RestError(
        RestCode.BAD_REQUEST,
        `Cannot read a header: expected {"name": …, "value": …}, got ${describe(h)}`,
      );
    }
    const value = h["value"];
    if (value === undefined || value === null) {
      out.push({ key: h["name"], value: null });
      continue;
    }
    const bytes = typeof value === "string" ? decodeBase64(value) : null;
    if (bytes === null) {
      return new RestError(RestCode.BAD_REQUEST, `Cannot read header "${h["name"]}": its value is not base64`);
    }
    out.push({ key: h["name"], value: bytes });
  }
  return out;
}

/** One side of a record in a v3 request, as given. */
interface SideSpec {
  type: string | null;
  data: unknown;
  subject: string | null;
  subjectNameStrategy: string | null;
  schemaId: number | null;
  schemaVersion: number | null;
  schema: string | null;
}

function sideSpec(v: Record<string, unknown>): SideSpec {
  const str = (x: unknown) => (typeof x === "string" ? x : null);
  const int = (x: unknown) => (typeof x === "number" && Number.isInteger(x) ? x : null);
  return {
    type: typeof v["type"] === "string" ? (v["type"] as string).toUpperCase() : null,
    data: v["data"],
    subject: str(v["subject"]),
    subjectNameStrategy: str(v["subject_name_strategy"]),
    schemaId: int(v["schema_id"]),
    schemaVersion: int(v["schema_version"]),
    schema: str(v["schema"]),
  };
}

type Side = { bytes: Uint8Array | null; info: DataInfo };

/** An embedded-format side; null when it needs a schema. */
function embeddedSide(spec: SideSpec, what: string): Side | RestError | null {
  const { type, data } = spec;
  if (type === "BINARY") {
    if (data === undefined || data === null) return { bytes: null, info: { type, size: 0 } };
    const bytes = typeof data === "string" ? decodeBase64(data) : null;
    if (bytes === null) return new RestError(RestCode.BAD_REQUEST, `data=${describe(data)} is not a base64 string.`);
    return { bytes, info: { type, size: bytes.length } };
  }
  if (type === "JSON") {
    if (data === undefined || data === null) return { bytes: null, info: { type, size: 0 } };
    const bytes = encoder.encode(JSON.stringify(data));
    return { bytes, info: { type, size: bytes.length } };
  }
  if (type === "STRING") {
    if (data === undefined || data === null) return { bytes: null, info: { type, size: 0 } };
    if (typeof data !== "string") {
      return new RestError(RestCode.BAD_REQUEST, `Cannot read the ${what}: STRING data must be a string`);
    }
    const bytes = encoder.encode(data);
    return { bytes, info: { type, size: bytes.length } };
  }
  if (type !== null && !SCHEMA_FORMATS.has(type)) {
    return new RestError(
      RestCode.BAD_REQUEST,
      `Cannot read the ${what}: unknown type "${type}" (BINARY, JSON, STRING, AVRO, JSONSCHEMA or PROTOBUF)`,
    );
  }
  return null;
}

/** Why a schema-based side cannot be produced without a Schema Registry. */
export function noRegistryError(format: string | null, what: string): RestError {
  const named = format === null ? `The ${what} names no "type", which means a schema-based format` : `${format} data`;
  return new RestError(
    RestCode.BAD_REQUEST,
    `${named} needs the Schema Registry to resolve its schema, and this kbin serves none; ` +
      `send the ${what} as "type": "BINARY", "JSON" or "STRING"`,
  );
}

async function schemaSide(
  spec: SideSpec,
  options: { topic: string; isKey: boolean; principal: string; serde: SchemaSerde },
): Promise<Side | RestError> {
  const strategy = spec.subjectNameStrategy?.toUpperCase() ?? null;
  if (
    strategy !== null && strategy !== "TOPIC_NAME" && strategy !== "RECORD_NAME" && strategy !== "TOPIC_RECORD_NAME"
  ) {
    return new RestError(RestCode.BAD_REQUEST, `Unknown subject_name_strategy "${spec.subjectNameStrategy}"`);
  }
  const r = await options.serde.serialize({
    topic: options.topic,
    isKey: options.isKey,
    principal: options.principal,
    format: spec.type === null ? null : (spec.type as SchemaFormat),
    subject: spec.subject,
    subjectNameStrategy: strategy as SubjectNameStrategy | null,
    schemaId: spec.schemaId,
    schemaVersion: spec.schemaVersion,
    rawSchema: spec.schema,
    data: spec.data,
  });
  if (!r.ok) return new RestError(r.errorCode, r.message);
  return {
    bytes: r.bytes,
    info: {
      type: r.format,
      size: r.bytes?.length ?? 0,
      subject: r.subject,
      schema_id: r.schemaId,
      schema_version: r.schemaVersion,
    },
  };
}

/** Options of {@link convertV3Record}. */
export interface ConvertOptions {
  topic: string;
  principal: string;
  /** Encodes schema-based formats; absent when no Schema Registry is served. */
  serde?: SchemaSerde | undefined;
  /** The timestamp of records that give none (ms). */
  nowMs: bigint;
}

/**
 * Converts one v3 produce request object to a record.
 * @param body the parsed JSON object
 * @param options the topic, the caller and the serde for schema formats
 * @returns the record or the error that answers for it; a promise only when a schema is involved
 */
export function convertV3Record(body: unknown, options: ConvertOptions): Converted | Promise<Converted> {
  if (!isObject(body)) return bad(`Cannot read a record: expected a JSON object, got ${describe(body)}`);
  const partition = optionalPartition(body["partition_id"]);
  if (partition instanceof RestError) return { ok: false, error: partition };
  const headers = parseHeaders(body["headers"]);
  if (headers instanceof RestError) return { ok: false, error: headers };
  const timestamp = parseTimestamp(body["timestamp"]);
  if (timestamp instanceof RestError) return { ok: false, error: timestamp };
  const keyRaw = body["key"];
  const valueRaw = body["value"];
  if (keyRaw !== undefined && keyRaw !== null && !isObject(keyRaw)) {
    return bad(`Cannot read the key: expected {"type": …, "data": …}, got ${describe(keyRaw)}`);
  }
  if (valueRaw !== undefined && valueRaw !== null && !isObject(valueRaw)) {
    return bad(`Cannot read the value: expected {"type": …, "data": …}, got ${describe(valueRaw)}`);
  }
  const keySpec = isObject(keyRaw) ? sideSpec(keyRaw) : null;
  const valueSpec = isObject(valueRaw) ? sideSpec(valueRaw) : null;
  const key = keySpec === null ? null : embeddedSide(keySpec, "key");
  const value = valueSpec === null ? null : embeddedSide(valueSpec, "value");
  if (key instanceof RestError) return { ok: false, error: key };
  if (value instanceof RestError) return { ok: false, error: value };
  const finish = (k: Side | null, v: Side | null): Converted => ({
    ok: true,
    record: {
      partition,
      key: k?.bytes ?? null,
      value: v?.bytes ?? null,
      headers,
      timestamp: timestamp ?? options.nowMs,
      keyInfo: k?.info,
      valueInfo: v?.info,
    },
  });
  const keyNeedsSchema = keySpec !== null && key === null;
  const valueNeedsSchema = valueSpec !== null && value === null;
  if (!keyNeedsSchema && !valueNeedsSchema) return finish(key, value);
  const serde = options.serde;
  if (serde === undefined) {
    const side = keyNeedsSchema ? keySpec! : valueSpec!;
    return { ok: false, error: noRegistryError(side.type, keyNeedsSchema ? "key" : "value") };
  }
  const base = { topic: options.topic, principal: options.principal, serde };
  return (async (): Promise<Converted> => {
    const k = keyNeedsSchema ? await schemaSide(keySpec!, { ...base, isKey: true }) : key;
    if (k instanceof RestError) return { ok: false, error: k };
    const v = valueNeedsSchema ? await schemaSide(valueSpec!, { ...base, isKey: false }) : value;
    if (v instanceof RestError) return { ok: false, error: v };
    return finish(k, v);
  })();
}

/** The v2 embedded formats of produce requests and consumers. */
export type V2Format = "binary" | "json" | "avro" | "jsonschema" | "protobuf";

/**
 * Converts one v2 produce record (`{key, value, partition}`) in the binary or JSON format.
 * @param body the record object
 * @param options.format the request's embedded format
 * @param options.partition the partition of a `/topics/{t}/partitions/{p}` request (overrides the record's)
 */
export function convertV2Record(
  body: unknown,
  options: { format: "binary" | "json"; partition?: number | undefined },
): Converted {
  const { format, partition } = options;
  if (!isObject(body)) return bad(`Cannot read a record: expected a JSON object, got ${describe(body)}`);
  let p: number | undefined | RestError = partition;
  if (p === undefined) p = optionalPartition(body["partition"]);
  if (p instanceof RestError) return { ok: false, error: p };
  const side = (v: unknown, what: string): Uint8Array | null | RestError => {
    if (v === undefined || v === null) return null;
    if (format === "json") return encoder.encode(JSON.stringify(v));
    const bytes = typeof v === "string" ? decodeBase64(v) : null;
    if (bytes === null) return new RestError(RestCode.BAD_REQUEST, `Cannot read the ${what}: it is not base64`);
    return bytes;
  };
  const key = side(body["key"], "key");
  if (key instanceof RestError) return { ok: false, error: key };
  const value = side(body["value"], "value");
  if (value instanceof RestError) return { ok: false, error: value };
  return {
    ok: true,
    record: {
      partition: p,
      key,
      value,
      headers: EMPTY_HEADERS,
      timestamp: undefined,
      keyInfo: undefined,
      valueInfo: undefined,
    },
  };
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A consumed record in the v2 shape: `{topic, key, value, partition, offset}` with key and value
 * base64 (binary) or embedded JSON (json).
 * @param r the record
 * @param options its topic and partition, and the consumer's format
 * @returns the object, or a 42203 error for JSON-format bytes that are not JSON
 */
export function v2ConsumerRecord(
  r: AbsoluteRecord,
  options: { topic: string; partition: number; format: "binary" | "json" },
): Record<string, unknown> | RestError {
  const { topic, partition, format } = options;
  const side = (bytes: Uint8Array | null, what: string): unknown => {
    if (bytes === null) return null;
    if (format === "binary") return toBase64(bytes);
    try {
      return JSON.parse(decoder.decode(bytes));
    } catch (err) {
      return new RestError(
        RestCode.JSON_CONVERSION,
        `Conversion of JSON to Object failed: the ${what} of ${topic}-${partition} at offset ${r.offset} is not JSON ` +
          `(${(err as Error).message})`,
      );
    }
  };
  const key = side(r.key, "key");
  if (key instanceof RestError) return key;
  const value = side(r.value, "value");
  if (value instanceof RestError) return value;
  return { topic, key, value, partition, offset: Number(r.offset) };
}

/** The size a consumed record counts for against `max_bytes` (key and value bytes, as Confluent's). */
export function recordSizeBytes(r: AbsoluteRecord): number {
  return (r.key?.length ?? 0) + (r.value?.length ?? 0);
}

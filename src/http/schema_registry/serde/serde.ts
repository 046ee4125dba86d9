/**
 * What the REST proxy calls to produce and consume records whose keys and values are AVRO,
 * JSONSCHEMA or PROTOBUF data given as JSON, as Confluent's REST Proxy does (`SchemaManagerImpl`,
 * `SchemaRecordSerializerImpl`, and the v2 consumer's converters):
 *
 * 1. {@link SchemaSerde.resolve} finds the schema of a produce request: by id; by subject and
 *    version (or the latest); or from a raw schema text, registered under the subject unless it is
 *    there already. Without a subject, the subject comes from the topic by the subject name strategy
 *    (TopicNameStrategy: `<topic>-key` / `<topic>-value`). With an id and a subject (given or
 *    derived), the id must be a version of that subject, as Confluent requires.
 * 2. {@link SchemaSerde.serialize} turns the JSON data into Confluent's wire format: magic byte 0,
 *    the big-endian schema id, for Protobuf the message-index path, then the payload.
 * 3. {@link SchemaSerde.deserialize} reads wire-format bytes back to JSON, looking the id up (parsed
 *    schemas are cached by id, as Confluent's client caches them).
 *
 * Outcomes are data: `{ ok: false, code, message }` with the REST Proxy's codes (the HTTP status is
 * the code's first three digits, or the code itself below 1000), see {@link SerdeErrorCode}.
 *
 * @module
 */

import { decodeMessageIndexes, messageIndexesOf, messageNameAt } from "../message_indexes.ts";
import { RegistryError, type SchemaRegistry } from "../registry.ts";
import { parseSchema } from "../schemas.ts";
import { type ParsedSchema, SchemaType } from "../types.ts";
import { decodeWireFormat, encodeWireFormat, WIRE_HEADER_BYTES } from "../wire_format.ts";
import { avroAcceptsNull, decodeAvro, encodeAvro } from "./avro.ts";
import { decodeJsonSchema, encodeJsonSchema, validateJsonSchema } from "./json_schema.ts";
import { decodeProtobuf, encodeProtobuf } from "./protobuf.ts";

/** The REST Proxy's embedded formats that carry a schema. */
export type SerdeFormat = "AVRO" | "JSONSCHEMA" | "PROTOBUF";

/**
 * Error codes, from Confluent REST Proxy's `Errors.java` and exception mappers:
 * - `BAD_REQUEST` (400): the data does not match the schema (v3 and v2 produce answer 400 with the
 *   converter's message), arguments that do not go together, or a subject version that does not exist;
 * - `KEY_SCHEMA_MISSING`, `VALUE_SCHEMA_MISSING` (42201, 42202): for the proxy, when a schema format
 *   comes without any schema;
 * - `INVALID_SCHEMA` (42205): a raw schema that does not parse;
 * - `SERIALIZATION` (42207): the registry cannot give the schema (unknown id, subject without
 *   versions, the id not under the subject) or refuses to register it (incompatible, read-only);
 * - `DESERIALIZATION` (40801, HTTP 408): consumed bytes that do not decode (Kafka's
 *   `SerializationException`, which the proxy maps to 40801).
 */
export const SerdeErrorCode = {
  BAD_REQUEST: 400,
  KEY_SCHEMA_MISSING: 42201,
  VALUE_SCHEMA_MISSING: 42202,
  INVALID_SCHEMA: 42205,
  SERIALIZATION: 42207,
  DESERIALIZATION: 40801,
} as const;
export type SerdeErrorCode = (typeof SerdeErrorCode)[keyof typeof SerdeErrorCode];

/** A failed resolve, serialize or deserialize. */
export interface SerdeFailure {
  ok: false;
  code: SerdeErrorCode;
  message: string;
}

/** Confluent's subject name strategies (`schema_subject_strategy` of a v3 produce). */
export type SubjectNameStrategy = "TOPIC_NAME" | "RECORD_NAME" | "TOPIC_RECORD_NAME";

/** What a produce request says about the schema of its key or value. */
export interface ResolveRequest {
  /** Required with `rawSchema`; otherwise it comes from the schema found, and must match if given. */
  format?: SerdeFormat;
  subject?: string;
  /** With `isKey`, derives the subject when none is given. */
  topic?: string;
  isKey?: boolean;
  /** How the subject is derived (TOPIC_NAME by default). */
  subjectNameStrategy?: SubjectNameStrategy;
  schemaId?: number;
  /** A version of the subject; `latest` or -1 (or nothing at all) takes its latest version. */
  schemaVersion?: number | "latest";
  /** A schema text to use, registered under the subject (Confluent: looked up, else registered). */
  rawSchema?: string;
  /** PROTOBUF: the message type, fully qualified or relative to the package (default: the first message). */
  messageName?: string;
}

/** The schema a key or value is serialized with. */
export interface ResolvedSchema {
  id: number;
  format: SerdeFormat;
  schema: ParsedSchema;
  /** The subject and version, when a subject was given or derived. */
  subject?: string;
  version?: number;
  /** PROTOBUF: the message type's full name and its message-index path. */
  messageName?: string;
  messageIndexes?: number[];
}

/** The schema-based serializers of the REST proxy. */
export interface SchemaSerde {
  /**
   * Finds (or registers) the schema of a produce request's key or value.
   * @param req the schema arguments of the request
   * @returns the schema id, format and parsed schema (plus subject, version, message), or a failure
   */
  resolve(req: ResolveRequest): Promise<({ ok: true } & ResolvedSchema) | SerdeFailure>;
  /**
   * Serializes JSON data into Confluent's wire format. A JSON `null` with an AVRO schema that
   * accepts null, or a JSONSCHEMA schema that validates it, gives `bytes: null` (a null record,
   * as Confluent's serializers return for a null object).
   * @param resolved what {@link resolve} gave
   * @param data the key or value as JSON
   * @returns the bytes (or null), or why the data does not match (400)
   */
  serialize(resolved: ResolvedSchema, data: unknown): { ok: true; bytes: Uint8Array | null } | SerdeFailure;
  /**
   * Decodes Confluent wire-format bytes to JSON, looking the schema id up. The value may hold
   * bigints (Avro longs and JSON integers beyond 2^53): print it with `stringifyJsonValue`.
   * @param bytes a record key or value
   * @returns the schema id, format, JSON value (and PROTOBUF message name), or a failure (40801)
   */
  deserialize(
    bytes: Uint8Array,
  ): Promise<{ ok: true; schemaId: number; format: SerdeFormat; value: unknown; messageName?: string } | SerdeFailure>;
}

/** What the serde needs of the registry (`SchemaRegistry` has it; a forwarding client may too). */
export type SerdeRegistry = Pick<SchemaRegistry, "parsedSchema" | "version" | "register" | "versionsOfId">;

const FORMAT_OF: Record<SchemaType, SerdeFormat> = { AVRO: "AVRO", JSON: "JSONSCHEMA", PROTOBUF: "PROTOBUF" };
const TYPE_OF: Record<SerdeFormat, SchemaType> = {
  AVRO: SchemaType.AVRO,
  JSONSCHEMA: SchemaType.JSON,
  PROTOBUF: SchemaType.PROTOBUF,
};

function failure(code: SerdeErrorCode, message: string): SerdeFailure {
  return { ok: false, code, message };
}

/** Confluent's `RestClientException` text: `<message>; error code: <code>`. */
function registryText(e: RegistryError): string {
  return `${e.message}; error code: ${e.code}`;
}

function serializationFailure(what: string, e: RegistryError): SerdeFailure {
  return failure(SerdeErrorCode.SERIALIZATION, `Error serializing message. ${what}\n${registryText(e)}`);
}

/** The subject a strategy gives, or a failure when it cannot give one. */
function subjectOf(
  req: ResolveRequest,
  schema: ParsedSchema | undefined,
): { ok: true; subject: string | undefined } | SerdeFailure {
  if (req.subject !== undefined) return { ok: true, subject: req.subject };
  const strategy = req.subjectNameStrategy ?? "TOPIC_NAME";
  if (req.topic === undefined) {
    if (req.subjectNameStrategy === undefined && schema !== undefined) return { ok: true, subject: undefined };
    return failure(SerdeErrorCode.BAD_REQUEST, "A subject or a topic is needed to find the schema");
  }
  if (strategy === "TOPIC_NAME") return { ok: true, subject: `${req.topic}-${req.isKey ? "key" : "value"}` };
  if (schema === undefined) {
    return failure(
      SerdeErrorCode.BAD_REQUEST,
      `Cannot use${req.subjectNameStrategy ? "" : " default"} schema_subject_strategy${
        req.subjectNameStrategy ? `=${strategy}` : ""
      } without schema_id or schema.`,
    );
  }
  if (schema.name === undefined) {
    return failure(
      SerdeErrorCode.BAD_REQUEST,
      `Cannot use schema_subject_strategy=${strategy}: the schema has no record name`,
    );
  }
  return { ok: true, subject: strategy === "RECORD_NAME" ? schema.name : `${req.topic}-${schema.name}` };
}

/**
 * The serde over a registry.
 * @param registry the registry (or anything with its `parsedSchema`, `version`, `register` and `versionsOfId`)
 * @param options `cacheSize`: parsed schemas kept by id for {@link SchemaSerde.deserialize} (1000)
 * @returns the serde
 * @example
 * const serde = registrySerde(registry);
 * const r = await serde.resolve({ topic: "orders", schemaId: 3 });
 * if (!r.ok) return reply(r.code, r.message);
 * const s = serde.serialize(r, { id: 1, note: { string: "rush" } });
 */
export function registrySerde(registry: SerdeRegistry, options: { cacheSize?: number } = {}): SchemaSerde {
  const cacheSize = options.cacheSize ?? 1000;
  const cache = new Map<number, ParsedSchema>();

  const parsedById = async (id: number): Promise<ParsedSchema> => {
    const hit = cache.get(id);
    if (hit !== undefined) {
      cache.delete(id);
      cache.set(id, hit);
      return hit;
    }
    const parsed = await registry.parsedSchema(id);
    cache.set(id, parsed);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return parsed;
  };

  /** The version of an id under a subject, as Confluent's `getVersion(subject, schema)` finds it. */
  const versionOf = async (subject: string, id: number, schema: ParsedSchema): Promise<number | SerdeFailure> => {
    const found = (await registry.versionsOfId(id)).find((v) => v.subject === subject);
    if (found !== undefined) return found.version;
    return failure(
      SerdeErrorCode.SERIALIZATION,
      `Error serializing message. Error when fetching schema version. subject = ${subject}, schema = ${schema.canonical}\nSchema not found; error code: 40403`,
    );
  };

  const finish = (
    req: ResolveRequest,
    id: number,
    schema: ParsedSchema,
    subject: string | undefined,
    version: number | undefined,
  ): ({ ok: true } & ResolvedSchema) | SerdeFailure => {
    const format = FORMAT_OF[schema.schemaType];
    if (req.format !== undefined && req.format !== format) {
      return failure(SerdeErrorCode.BAD_REQUEST, `Schema ${id} is a ${format} schema, not ${req.format}`);
    }
    const out: { ok: true } & ResolvedSchema = { ok: true, id, format, schema };
    if (subject !== undefined) out.subject = subject;
    if (version !== undefined) out.version = version;
    if (schema.schemaType === "PROTOBUF") {
      const indexes = req.messageName === undefined ? [0] : messageIndexesOf(schema, req.messageName);
      const name = indexes === undefined ? undefined : messageNameAt(schema, indexes);
      if (indexes === undefined || name === undefined) {
        return failure(
          SerdeErrorCode.BAD_REQUEST,
          req.messageName === undefined
            ? `Schema ${id} defines no message`
            : `Message ${req.messageName} is not defined in schema ${id}`,
        );
      }
      out.messageName = name;
      out.messageIndexes = indexes;
    }
    return out;
  };

  const byId = async (req: ResolveRequest, id: number) => {
    if (req.schemaVersion !== undefined || req.rawSchema !== undefined) {
      return failure(
        SerdeErrorCode.BAD_REQUEST,
        "Unsupported argument: a schema id cannot come with a schema version or a raw schema",
      );
    }
    let schema: ParsedSchema;
    try {
      schema = await parsedById(id);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      return serializationFailure(`Error when fetching schema by id. schemaId = ${id}`, e);
    }
    const subject = subjectOf(req, schema);
    if (!subject.ok) return subject;
    if (subject.subject === undefined) return finish(req, id, schema, undefined, undefined);
    const version = await versionOf(subject.subject, id, schema);
    if (typeof version !== "number") return version;
    return finish(req, id, schema, subject.subject, version);
  };

  const byVersion = async (req: ResolveRequest) => {
    const subject = subjectOf(req, undefined);
    if (!subject.ok) return subject;
    const name = subject.subject!;
    const version = req.schemaVersion === undefined || req.schemaVersion === -1 ? "latest" : req.schemaVersion;
    let id: number;
    let number: number;
    try {
      const found = await registry.version(name, version);
      id = found.id;
      number = found.version;
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      if (version === "latest") {
        return serializationFailure(`Error when fetching latest schema version. subject = ${name}`, e);
      }
      return failure(
        SerdeErrorCode.BAD_REQUEST,
        `Schema does not exist for subject: ${name}, version: ${version}`,
      );
    }
    try {
      return finish(req, id, await parsedById(id), name, number);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      return serializationFailure(`Error when fetching schema by id. schemaId = ${id}`, e);
    }
  };

  const byRawSchema = async (req: ResolveRequest, raw: string) => {
    if (req.format === undefined) {
      return failure(SerdeErrorCode.BAD_REQUEST, "Unsupported argument: a raw schema needs its format");
    }
    const type = TYPE_OF[req.format];
    const parsed = parseSchema(type, raw);
    if (!parsed.ok) {
      return failure(
        SerdeErrorCode.INVALID_SCHEMA,
        `Invalid schema: Error when parsing raw schema. format = ${req.format}, schema = ${raw}: ${parsed.message}`,
      );
    }
    const subject = subjectOf(req, parsed.value);
    if (!subject.ok) return subject;
    if (subject.subject === undefined) {
      return failure(SerdeErrorCode.BAD_REQUEST, "A subject or a topic is needed to register a raw schema");
    }
    const name = subject.subject;
    let id: number;
    try {
      id = (await registry.register(name, { schema: raw, schemaType: type })).id;
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      return serializationFailure(
        `Error when registering schema. format = ${req.format}, subject = ${name}, schema = ${parsed.value.canonical}`,
        e,
      );
    }
    let schema: ParsedSchema;
    try {
      schema = await parsedById(id);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      return serializationFailure(`Error when fetching schema by id. schemaId = ${id}`, e);
    }
    const version = await versionOf(name, id, schema);
    if (typeof version !== "number") return version;
    return finish(req, id, schema, name, version);
  };

  return {
    resolve(req) {
      if (req.schemaId !== undefined) {
        if (!Number.isInteger(req.schemaId)) {
          return Promise.resolve(failure(SerdeErrorCode.BAD_REQUEST, `Invalid schema id ${String(req.schemaId)}`));
        }
        return byId(req, req.schemaId);
      }
      if (req.rawSchema !== undefined) return byRawSchema(req, req.rawSchema);
      return byVersion(req);
    },

    serialize(resolved, data) {
      const s = resolved.schema;
      let payload;
      switch (s.schemaType) {
        case "AVRO":
          if (data === null && avroAcceptsNull(s.root)) return { ok: true, bytes: null };
          payload = encodeAvro(s.root, data);
          break;
        case "JSON":
          if (data === null) {
            const valid = validateJsonSchema(s.root, null);
            if (valid.ok) return { ok: true, bytes: null };
            return failure(SerdeErrorCode.BAD_REQUEST, valid.message);
          }
          payload = encodeJsonSchema(s.root, data);
          break;
        case "PROTOBUF":
          payload = encodeProtobuf(
            s,
            data,
            resolved.messageName === undefined ? {} : { messageName: resolved.messageName },
          );
          if (payload.ok) {
            const bytes = encodeWireFormat(resolved.id, payload.value, {
              messageIndexes: resolved.messageIndexes ?? [0],
            });
            return { ok: true, bytes };
          }
          break;
      }
      if (!payload.ok) return failure(SerdeErrorCode.BAD_REQUEST, payload.message);
      return { ok: true, bytes: encodeWireFormat(resolved.id, payload.value) };
    },

    async deserialize(bytes) {
      const frame = decodeWireFormat(bytes);
      if (!frame.ok) {
        const message = bytes.length >= WIRE_HEADER_BYTES ? "Unknown magic byte!" : frame.message;
        return failure(SerdeErrorCode.DESERIALIZATION, `Error deserializing message: ${message}`);
      }
      const id = frame.value.schemaId;
      let schema: ParsedSchema;
      try {
        schema = await parsedById(id);
      } catch (e) {
        if (!(e instanceof RegistryError)) throw e;
        return failure(SerdeErrorCode.DESERIALIZATION, `Error retrieving schema for id ${id}\n${registryText(e)}`);
      }
      const format = FORMAT_OF[schema.schemaType];
      const failed = (message: string) =>
        failure(SerdeErrorCode.DESERIALIZATION, `Error deserializing ${format} message for id ${id}: ${message}`);
      switch (schema.schemaType) {
        case "AVRO": {
          const r = decodeAvro(schema.root, frame.value.payload, { unwrapRootUnion: true });
          return r.ok ? { ok: true, schemaId: id, format, value: r.value } : failed(r.message);
        }
        case "JSON": {
          const r = decodeJsonSchema(frame.value.payload);
          return r.ok ? { ok: true, schemaId: id, format, value: r.value } : failed(r.message);
        }
        case "PROTOBUF": {
          // Java writes zig-zag indexes; confluent-kafka-python 1.7 wrote paths other than [0] unsigned.
          for (const signed of [true, false]) {
            const indexes = decodeMessageIndexes(bytes, { offset: WIRE_HEADER_BYTES, signed });
            if (!indexes.ok) continue;
            const messageName = messageNameAt(schema, indexes.value.indexes);
            if (messageName === undefined) continue;
            const payload = bytes.subarray(WIRE_HEADER_BYTES + indexes.value.bytesRead);
            const r = decodeProtobuf(schema, payload, { messageName });
            return r.ok ? { ok: true, schemaId: id, format, value: r.value, messageName } : failed(r.message);
          }
          return failed("the message indexes name no message of the schema");
        }
      }
    },
  };
}

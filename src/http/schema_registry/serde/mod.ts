/**
 * Schema-based serialization for the REST proxy: JSON data to Confluent's wire format and back for
 * AVRO (Avro's JSON encoding), JSONSCHEMA (validated JSON) and PROTOBUF (protobuf's JSON mapping),
 * over the registry's parsed schemas. No dependency: the codecs are kbin's own.
 *
 * @example
 * import { registrySerde } from "./mod.ts";
 * const serde = registrySerde(registry);
 * const schema = await serde.resolve({ topic: "orders", format: "AVRO", rawSchema: '"string"' });
 * if (schema.ok) {
 *   const s = serde.serialize(schema, "hello"); // { ok: true, bytes: 00 00 00 00 01 0a 68 65 6c 6c 6f }
 *   if (s.ok && s.bytes) await serde.deserialize(s.bytes); // { ok: true, schemaId: 1, format: "AVRO", value: "hello" }
 * }
 *
 * @module
 */

export {
  registrySerde,
  type ResolvedSchema,
  type ResolveRequest,
  type SchemaSerde,
  SerdeErrorCode,
  type SerdeFailure,
  type SerdeFormat,
  type SerdeRegistry,
  type SubjectNameStrategy,
} from "./serde.ts";
export { avroAcceptsNull, avroBranchName, decodeAvro, encodeAvro, type SerdeResult } from "./avro.ts";
export { decodeJsonSchema, encodeJsonSchema, validateJsonSchema } from "./json_schema.ts";
export { decodeProtobuf, encodeProtobuf, protoJsonName } from "./protobuf.ts";
export { parseJsonValue, stringifyJsonValue } from "./json_value.ts";

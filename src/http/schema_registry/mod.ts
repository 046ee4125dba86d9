/**
 * The pure core of kbin's Confluent-compatible Schema Registry: no HTTP, no storage. It parses the
 * three schema types Confluent accepts (AVRO, JSON, PROTOBUF) into the canonical text the registry
 * stores and the `normalize=true` text, checks compatibility at every level with Confluent's
 * messages, and handles the record framing (magic byte, schema id, Protobuf message indexes).
 *
 * @example
 * import { checkCompatibility, parseSchema } from "./mod.ts";
 * const v1 = parseSchema("AVRO", '{"type":"record","name":"U","fields":[{"name":"a","type":"int"}]}');
 * const v2 = parseSchema("AVRO", '{"type":"record","name":"U","fields":[{"name":"a","type":"long"}]}');
 * if (v1.ok && v2.ok) checkCompatibility(v2.value, [v1.value], { level: "BACKWARD" }); // compatible
 *
 * @module
 */

export { checkCompatibility, parseSchema } from "./schemas.ts";
export {
  CompatibilityLevel,
  compatibilityLevelOf,
  type CompatibilityResult,
  type ParsedSchema,
  type ParseOptions,
  type ParseResult,
  RegistryErrorCode,
  SchemaType,
  schemaTypeOf,
  type VersionedSchema,
} from "./types.ts";
export type { AvroParsed } from "./avro.ts";
export type { JsonSchemaParsed } from "./json_schema.ts";
export type { ProtobufParsed } from "./protobuf.ts";
export {
  decodeMessageIndexes,
  DEFAULT_MESSAGE_INDEXES,
  encodeMessageIndexes,
  messageIndexesOf,
  type MessageIndexesResult,
  messageNameAt,
} from "./message_indexes.ts";
export {
  decodeWireFormat,
  encodeWireFormat,
  MAGIC_BYTE,
  WIRE_HEADER_BYTES,
  type WireFrame,
  type WireFrameResult,
} from "./wire_format.ts";

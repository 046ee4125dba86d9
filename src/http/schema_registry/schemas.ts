/**
 * The two calls the registry's HTTP layer makes: parse a submitted schema (42201 on failure) and
 * check a candidate against a subject's history at a compatibility level, with Confluent's
 * `verbose=true` messages.
 *
 * @module
 */

import { parseAvro } from "./avro.ts";
import { avroBackwardMessages } from "./avro_compat.ts";
import { parseJsonSchema } from "./json_schema.ts";
import { JSON_COMPATIBLE_LENIENT, JSON_COMPATIBLE_STRICT, jsonSchemaBackwardMessages } from "./json_schema_compat.ts";
import { parseProtobuf } from "./protobuf.ts";
import { protobufBackwardMessages } from "./protobuf_compat.ts";
import {
  CompatibilityLevel,
  type CompatibilityResult,
  type ParsedSchema,
  type ParseOptions,
  type ParseResult,
  RegistryErrorCode,
  SchemaType,
  type VersionedSchema,
} from "./types.ts";

/**
 * Parses and validates a schema of the given type, resolving its references through
 * `options.lookup`. The value carries the canonical text (what the registry stores and serves) and
 * the `normalize=true` text; a bad schema gives 42201 with the reason. Never throws for a bad schema.
 *
 * @param type `AVRO`, `JSON` or `PROTOBUF` (see `schemaTypeOf` for the request's `schemaType`)
 * @param text the `schema` field of the request
 * @param options declared reference names (in resolution order) and the lookup of their texts
 * @returns `{ ok: true, value }` with the parsed schema, or `{ ok: false, code: 42201, message }`
 * @example
 * const r = parseSchema("AVRO", '{"type":"record","name":"U","fields":[{"name":"id","type":"long"}]}');
 * if (r.ok) store(r.value.canonical); else reply(422, { error_code: r.code, message: r.message });
 */
export function parseSchema(type: SchemaType, text: string, options: ParseOptions = {}): ParseResult {
  const opts = {
    ...(options.references !== undefined ? { references: options.references } : {}),
    ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
  };
  const r = type === SchemaType.AVRO
    ? parseAvro(text, opts)
    : type === SchemaType.JSON
    ? parseJsonSchema(text, opts)
    : parseProtobuf(text, opts);
  if (r.ok) return r;
  return { ok: false, code: RegistryErrorCode.INVALID_SCHEMA, message: r.message };
}

const DIFFERENT_SCHEMA_TYPE = "Incompatible because of different schema type";
/** Confluent truncates the old schema it quotes in messages beyond this many characters. */
const MAX_SCHEMA_SIZE_FOR_LOGGING = 10 * 1024;

/** Confluent `ParsedSchema.isBackwardCompatible`: can `reader` read what `writer` wrote? */
function backwardMessages(
  reader: ParsedSchema,
  writer: ParsedSchema,
  roles: [string, string],
  lenient: boolean,
): string[] {
  if (reader.schemaType !== writer.schemaType) return [DIFFERENT_SCHEMA_TYPE];
  switch (reader.schemaType) {
    case "AVRO":
      return avroBackwardMessages(reader.root, (writer as typeof reader).root, { roles });
    case "JSON":
      return jsonSchemaBackwardMessages(reader.root, (writer as typeof reader).root, {
        roles,
        compatible: lenient ? JSON_COMPATIBLE_LENIENT : JSON_COMPATIBLE_STRICT,
      });
    case "PROTOBUF":
      return protobufBackwardMessages(reader, writer as typeof reader, { roles });
  }
}

/** Confluent `SchemaValidatorBuilder.formatErrorMessages`: quotes the old schema after the reasons. */
function withOldSchema(messages: string[], old: ParsedSchema, version: number | undefined): string[] {
  if (messages.length === 0) return messages;
  const out = [...messages];
  if (version !== undefined) out.push(`{oldSchemaVersion: ${version}}`);
  const text = old.canonical;
  out.push(
    text.length <= MAX_SCHEMA_SIZE_FOR_LOGGING
      ? `{oldSchema: '${text}'}`
      : `{oldSchema: <truncated> '${text.slice(0, MAX_SCHEMA_SIZE_FOR_LOGGING)}...'}`,
  );
  return out;
}

function checkOne(
  candidate: ParsedSchema,
  old: ParsedSchema,
  version: number | undefined,
  level: CompatibilityLevel,
  lenient: boolean,
): string[] {
  if (candidate.schemaType !== old.schemaType) return [DIFFERENT_SCHEMA_TYPE];
  switch (level) {
    case "BACKWARD":
    case "BACKWARD_TRANSITIVE":
      return withOldSchema(backwardMessages(candidate, old, ["new", "old"], lenient), old, version);
    case "FORWARD":
    case "FORWARD_TRANSITIVE":
      return withOldSchema(backwardMessages(old, candidate, ["old", "new"], lenient), old, version);
    default:
      return [
        ...backwardMessages(old, candidate, ["old", "new"], lenient),
        ...withOldSchema(backwardMessages(candidate, old, ["new", "old"], lenient), old, version),
      ];
  }
}

/**
 * Checks a candidate against a subject's live versions, oldest first. Non-transitive levels look at
 * the latest version only; transitive ones at every version, newest first, stopping at the first
 * that fails. BACKWARD: the candidate reads the old data; FORWARD: the old schema reads the
 * candidate's data; FULL: both. NONE accepts anything, even another schema type.
 *
 * The messages are Confluent's, in its order: the reasons, `{oldSchemaVersion: N}` (when the
 * version is given), `{oldSchema: '…'}`, and last `{validateFields: 'false', compatibility: 'LEVEL'}`.
 * `policy: "LENIENT"` is Confluent's `compatibilityPolicy` for JSON Schema (open content models).
 *
 * @param candidate the schema being registered or tested
 * @param existing the subject's live versions, oldest first (with their version numbers if known)
 * @param options the subject's effective level and, for JSON Schema, the compatibility policy
 * @returns the verdict and, when incompatible, Confluent's `verbose=true` messages
 * @example
 * const r = checkCompatibility(candidate, [v1, { schema: v2, version: 2 }], { level: "BACKWARD" });
 * // { is_compatible: r.compatible, messages: r.messages }
 */
export function checkCompatibility(
  candidate: ParsedSchema,
  existing: readonly (ParsedSchema | VersionedSchema)[],
  options: { level: CompatibilityLevel; policy?: "STRICT" | "LENIENT" },
): CompatibilityResult {
  const { level } = options;
  if (level === CompatibilityLevel.NONE || existing.length === 0) return { compatible: true, messages: [] };
  const lenient = options.policy === "LENIENT";
  const history = existing.map((e) => ("version" in e && "schema" in e ? e : { schema: e, version: undefined }));
  const newestFirst = history.reverse();
  const transitive = level.endsWith("_TRANSITIVE");
  let messages: string[] = [];
  for (const old of transitive ? newestFirst : newestFirst.slice(0, 1)) {
    messages = checkOne(candidate, old.schema, old.version, level, lenient);
    if (messages.length > 0) break;
  }
  if (messages.length === 0) return { compatible: true, messages };
  messages.push(`{validateFields: 'false', compatibility: '${level}'}`);
  return { compatible: false, messages };
}

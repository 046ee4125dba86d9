/**
 * Shared vocabulary of the schema registry core: schema types, compatibility levels, results.
 *
 * @module
 */

import type { AvroParsed } from "./avro.ts";
import type { JsonSchemaParsed } from "./json_schema.ts";
import type { ProtobufParsed } from "./protobuf.ts";

/** The `schemaType` values Confluent accepts (a missing `schemaType` means AVRO). */
export const SchemaType = { AVRO: "AVRO", JSON: "JSON", PROTOBUF: "PROTOBUF" } as const;
export type SchemaType = (typeof SchemaType)[keyof typeof SchemaType];

/** Compatibility levels (Confluent `CompatibilityLevel`). */
export const CompatibilityLevel = {
  NONE: "NONE",
  BACKWARD: "BACKWARD",
  BACKWARD_TRANSITIVE: "BACKWARD_TRANSITIVE",
  FORWARD: "FORWARD",
  FORWARD_TRANSITIVE: "FORWARD_TRANSITIVE",
  FULL: "FULL",
  FULL_TRANSITIVE: "FULL_TRANSITIVE",
} as const;
export type CompatibilityLevel = (typeof CompatibilityLevel)[keyof typeof CompatibilityLevel];

/** Confluent error codes the core reports (the HTTP status is the first three digits). */
export const RegistryErrorCode = {
  INVALID_SCHEMA: 42201,
} as const;

/** A schema that parsed: its canonical and normalized texts and the model the checkers walk. */
export type ParsedSchema = AvroParsed | JsonSchemaParsed | ProtobufParsed;

/** A stored version, for compatibility messages (`{oldSchemaVersion: N}`). */
export interface VersionedSchema {
  readonly schema: ParsedSchema;
  readonly version: number;
}

/** Outcome of a parse: the schema, or Confluent's 42201 with the reason. */
export type ParseResult =
  | { ok: true; value: ParsedSchema }
  | { ok: false; code: typeof RegistryErrorCode.INVALID_SCHEMA; message: string };

/** Outcome of a compatibility check: what `verbose=true` answers as `is_compatible` and `messages`. */
export interface CompatibilityResult {
  compatible: boolean;
  messages: string[];
}

/**
 * How a schema's references are found. `references` are the declared reference names in the
 * order Confluent resolves them (dependencies first; for Avro they are parsed before the schema);
 * `lookup` turns a name (an Avro full name, a JSON Schema `$ref` URL, a Protobuf import path) into
 * the referenced schema's text. Names met while parsing that are not declared are looked up too.
 */
export interface ParseOptions {
  references?: readonly string[];
  lookup?: (name: string) => string | undefined;
}

/** Parses a `schemaType` request value: absent means AVRO; unknown gives undefined. */
export function schemaTypeOf(text: string | undefined | null): SchemaType | undefined {
  if (text === undefined || text === null || text === "") return SchemaType.AVRO;
  const upper = text.toUpperCase();
  return upper in SchemaType ? (upper as SchemaType) : undefined;
}

/** Parses a compatibility level case-insensitively, as Confluent does; unknown gives undefined. */
export function compatibilityLevelOf(text: string): CompatibilityLevel | undefined {
  const upper = text.toUpperCase();
  return upper in CompatibilityLevel ? (upper as CompatibilityLevel) : undefined;
}
